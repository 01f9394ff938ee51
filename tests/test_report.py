"""The plain report logic: keys, rows, CSV, markdown and the progress throttle."""

from __future__ import annotations

import csv
import json
import threading
from collections import Counter
from datetime import UTC, datetime
from pathlib import Path

import pytest

from flows import report
from flows.campaign import (
    EMAIL_1,
    EMAIL_2,
    FAILED,
    LINKEDIN,
    SENT,
    SKIPPED,
    Campaign,
    CampaignSettings,
    StepOutcome,
    summarize,
)
from flows.leads import DROP_DUPLICATE, DroppedRow

KEY_CASES = [
    pytest.param("Q3 Spain (ES)", "leads.csv", "q3-spain-es", id="name-wins"),
    pytest.param("", "/data/Leads Q3_2026.csv", "leads-q3-2026", id="file-stem"),
    pytest.param(
        "",
        "https://files.example.com/s/abc/Mailing%20List.csv?token=s3cret",
        "mailing-list",
        id="url-path-only",
    ),
    pytest.param("", r"C:\exports\Clientes España.csv", "clientes-espana", id="win"),
    pytest.param("¡¡!!", "", "campaign", id="nothing-left"),
    pytest.param("x" * 80, "", "x" * report.MAX_KEY_CHARS, id="long"),
]


@pytest.mark.parametrize(("name", "location", "expected"), KEY_CASES)
def test_campaign_key_is_a_valid_artifact_key(
    name: str, location: str, expected: str
) -> None:
    key = report.campaign_key(name, location)

    assert key == expected
    assert report.artifact_key(key, "steps").replace("-", "").isalnum()
    assert "token" not in key and "example" not in key


def test_addresses_in_free_text_are_masked() -> None:
    text = "Hola Ana (ana.ruiz@example.com), escribe a <sales@acme.io>"

    assert report.mask_addresses(text) == (
        "Hola Ana (a***@example.com), escribe a <s***@acme.io>"
    )


def _outcomes() -> list[StepOutcome]:
    return [
        StepOutcome(
            3, "b***@example.com", "Beta", EMAIL_1, SENT, status=200, attempts=1
        ),
        StepOutcome(
            1, "a***@example.com", "Acme", EMAIL_2, FAILED, "HTTP 500", 500, "", 3
        ),
        StepOutcome(
            1, "a***@example.com", "Acme", EMAIL_1, SENT, status=202, attempts=2
        ),
        StepOutcome(
            1, "a***@example.com", "Acme", LINKEDIN, SKIPPED, "no linkedin_url"
        ),
    ]


def test_report_rows_follow_the_lead_file_with_dropped_rows_in_place() -> None:
    rows = report.report_rows(
        _outcomes(), [DroppedRow(2, DROP_DUPLICATE, "a***@example.com")]
    )

    assert [(r["row"], r["step"], r["outcome"]) for r in rows] == [
        (1, EMAIL_1, SENT),
        (1, LINKEDIN, SKIPPED),
        (1, EMAIL_2, FAILED),
        (2, "", report.DROPPED),
        (3, EMAIL_1, SENT),
    ]
    assert rows[2]["reason"] == "HTTP 500" and rows[2]["status"] == 500
    assert rows[3]["reason"] == DROP_DUPLICATE
    assert all(list(row) == list(report.REPORT_COLUMNS) for row in rows)


def test_csv_report_opens_as_a_table_and_defuses_formulas(tmp_path: Path) -> None:
    outcome = StepOutcome(1, "a***@example.com", "=HYPERLINK(1)", EMAIL_1, SENT)
    path = tmp_path / "nested" / "report.csv"

    report.write_csv(path, report.report_rows([outcome]))

    assert path.read_bytes().startswith(b"\xef\xbb\xbf")
    with path.open(encoding="utf-8-sig", newline="") as handle:
        rows = list(csv.DictReader(handle))
    assert rows[0]["company"] == "'=HYPERLINK(1)"
    assert rows[0]["email"] == "a***@example.com"


def test_report_path_names_the_campaign_the_start_and_the_run() -> None:
    started = datetime(2026, 12, 4, 9, 5, 7, tzinfo=UTC)

    path = report.report_path(Path("/r"), "q3-spain", "Bold Bittern", started)

    assert path == Path("/r/q3-spain-20261204T090507Z-bold-bittern.csv")


def test_markdown_report_counts_outcomes_and_shows_settings_without_urls() -> None:
    settings = CampaignSettings(
        leads_csv_url="https://files.example.com/leads.csv?token=s3cret",
        email_from="growth@example.com",
        email_subject_template="Hi",
        email_body_template="Hello",
        email_webhook_url="https://hooks.example.com/secret-hook",
        engagement_check_url="https://engage.example.com/check",
        business_hours_start_utc=8,
        business_hours_end_utc=18,
    )
    campaign = Campaign(settings, {}, {}, datetime(2026, 12, 4, 10, tzinfo=UTC))
    summary = summarize(_outcomes(), 2, {DROP_DUPLICATE: 1})

    text = report.markdown_report("q3", campaign, summary, "/r/q3.csv")

    assert text.startswith("# Campaign report: q3\n")
    assert f"| {EMAIL_1} | 2026-12-04T10:00:00Z | 2 | 0 | 0 | 0 |" in text
    assert "| total |  | 2 | 0 | 1 | 1 |" in text
    assert f"| {DROP_DUPLICATE} | 1 |" in text
    assert "| HTTP 500 | 1 |" in text
    assert "| sending window | 08:00-18:00 UTC |" in text
    assert "| engagement check | on |" in text
    assert "| leads file | leads.csv |" in text
    assert "`/r/q3.csv`" in text
    assert "://" not in text and "s3cret" not in text


class _Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def test_progress_is_due_once_per_interval_and_for_the_last_lead() -> None:
    clock = _Clock()
    counter = report.ProgressCounter(5, interval=1.5, clock=clock)
    lead = [StepOutcome(1, "a***@example.com", "Acme", EMAIL_1, SENT)]

    due = []
    for now in (0.5, 1.0, 1.6, 2.0, 2.1):
        clock.now = now
        due.append(counter.add(lead))

    assert [p.done if p else None for p in due] == [None, None, 3, None, 5]
    assert due[-1].percent == 100.0
    assert (
        due[-1].line()
        == "5 of 5 lead(s) done: 5 sent, 0 simulated, 0 skipped, 0 failed"
    )


def test_progress_from_many_lanes_counts_every_lead_once() -> None:
    clock = _Clock()
    lanes, per_lane = 8, 500
    counter = report.ProgressCounter(lanes * per_lane, interval=1.5, clock=clock)
    lead = [StepOutcome(1, "a***@example.com", "Acme", EMAIL_1, SENT)]
    due: list[report.Progress] = []

    def lane() -> None:
        for _ in range(per_lane):
            progress = counter.add(lead)
            if progress is not None:
                due.append(progress)

    threads = [threading.Thread(target=lane) for _ in range(lanes)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)

    assert [p.done for p in due] == [lanes * per_lane]
    assert Counter(counter.snapshot().counts) == {SENT: lanes * per_lane}


def test_markdown_report_says_when_the_table_leaves_rows_to_the_csv() -> None:
    settings = CampaignSettings("leads.csv", "growth@example.com", "Hi", "Hello")
    campaign = Campaign(settings, {}, {}, datetime(2026, 12, 4, 10, tzinfo=UTC))

    text = report.markdown_report("q3", campaign, summarize([]), "q3.csv", 7)

    assert "leaves out the last 7 rows" in text
    assert "the CSV file has every row" in text


def test_table_rows_stop_before_the_byte_budget() -> None:
    rows = report.report_rows(
        StepOutcome(7, "a***@example.com", "Acme", EMAIL_1, SENT) for _ in range(100)
    )
    columns = ("row", "email", "outcome")
    cut = [{name: row[name] for name in columns} for row in rows]
    one_row = len(json.dumps(cut[0])) + 2

    kept = report.table_rows(rows, columns, budget=10 * one_row + 2)

    assert kept == cut[:10]
    assert report.table_rows(rows[:3], columns) == cut[:3]
