"""The report a run leaves behind: Prefect artifacts, the CSV file, the log line.

Each test runs the flow in-process against a loopback receiver and reads the
artifacts back through the Prefect client, as the UI would.
"""

from __future__ import annotations

import csv
import json
import logging
import re
from pathlib import Path
from typing import Any

import pytest
from prefect.client.orchestration import get_client
from prefect.client.schemas.filters import ArtifactFilter, ArtifactFilterFlowRunId

from flows.artifacts import REPORT_DIR_ENV
from tests.conftest import CASES, run_campaign
from tests.receiver import Receiver, Reply

FULL_ADDRESS = re.compile(r"[a-z0-9.]+@example\.(?:com|org)", re.IGNORECASE)


@pytest.fixture
def report_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    folder = tmp_path / "reports"
    monkeypatch.setenv(REPORT_DIR_ENV, str(folder))
    return folder


def _artifacts(state: Any) -> dict[str, Any]:
    """The run's artifacts by key."""
    flow_run_id = state.state_details.flow_run_id
    with get_client(sync_client=True) as client:
        found = client.read_artifacts(
            artifact_filter=ArtifactFilter(
                flow_run_id=ArtifactFilterFlowRunId(any_=[flow_run_id])
            )
        )
    return {artifact.key: artifact for artifact in found}


def _csv_rows(path: Path) -> list[dict[str, str]]:
    with path.open(encoding="utf-8-sig", newline="") as handle:
        return list(csv.DictReader(handle))


def _leads_file(tmp_path: Path, text: str) -> str:
    path = tmp_path / "Spring Leads.csv"
    path.write_text(text, encoding="utf-8")
    return str(path)


def test_known_campaign_leaves_a_table_a_summary_and_finished_progress(
    receiver: Receiver, report_dir: Path
) -> None:
    state = run_campaign(
        campaign_name="Q3 España",
        leads_csv_url=str(CASES / "03-messy-leads.csv"),
        suppression_csv_url=str(CASES / "03-suppression.csv"),
        email_webhook_url=receiver.url(),
    )

    assert state.is_completed(), state.message
    artifacts = _artifacts(state)
    assert set(artifacts) == {
        "outreach-q3-espana-steps",
        "outreach-q3-espana-summary",
        "outreach-q3-espana-progress",
    }

    table = json.loads(artifacts["outreach-q3-espana-steps"].data)
    assert [
        (row["row"], row["email"], row["step"], row["outcome"], row["reason"])
        for row in table
    ] == [
        (1, "a***@example.com", "email_1", "sent", ""),
        (2, "a***@example.com", "", "dropped", "duplicate email"),
        (3, "b***@example.com", "", "dropped", "suppressed"),
        (4, "s***", "", "dropped", "no @ in email"),
        (5, "c***@example.com", "", "dropped", "invalid email"),
    ]
    assert table[0]["company"] == "Acme"
    assert table[0]["status"] == 200 and table[0]["attempts"] == 1
    assert list(table[0]) == [
        "row",
        "email",
        "company",
        "step",
        "outcome",
        "reason",
        "status",
        "run_at",
        "attempts",
    ]
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ", table[0]["run_at"])

    summary = artifacts["outreach-q3-espana-summary"]
    assert summary.type == "markdown"
    assert summary.data.startswith("# Campaign report: q3-espana\n")
    assert "| email_1 |" in summary.data and "| 1 | 0 | 0 | 0 |" in summary.data
    for reason in ("duplicate email", "suppressed", "no @ in email", "invalid email"):
        assert f"| {reason} | 1 |" in summary.data
    assert "| dry run | no |" in summary.data
    assert "| suppression list | yes |" in summary.data

    progress = artifacts["outreach-q3-espana-progress"]
    assert progress.type == "progress"
    assert progress.data == 100.0
    assert progress.description == (
        "1 of 1 lead(s) done: 1 sent, 0 simulated, 0 skipped, 0 failed"
    )


def test_failed_steps_show_their_status_and_the_key_comes_from_the_file_name(
    receiver: Receiver, report_dir: Path
) -> None:
    receiver.respond("/hook", lambda request: Reply(410))

    state = run_campaign(
        leads_csv_url=str(CASES / "06-three-leads.csv"),
        email_webhook_url=receiver.url(),
    )

    assert state.is_failed()
    artifacts = _artifacts(state)
    table = json.loads(artifacts["outreach-06-three-leads-steps"].data)
    assert [(row["outcome"], row["status"]) for row in table] == [("failed", 410)] * 3
    assert {row["reason"] for row in table} == {"hook gone (410)"}
    summary = artifacts["outreach-06-three-leads-summary"].data
    assert "## Steps failed" in summary
    assert "| hook gone (410) | 3 |" in summary


def test_csv_report_is_named_in_the_last_log_line_and_matches_the_table(
    receiver: Receiver,
    report_dir: Path,
    tmp_path: Path,
    caplog: pytest.LogCaptureFixture,
) -> None:
    leads = _leads_file(
        tmp_path,
        "email,first_name,company\nana@example.com,Ana,Acme\nbo@example.com,,Beta\n",
    )
    caplog.set_level(logging.INFO)

    state = run_campaign(leads_csv_url=leads, email_webhook_url=receiver.url())

    assert state.is_completed(), state.message
    flow_lines = [
        r.getMessage() for r in caplog.records if r.name == "prefect.flow_runs"
    ]
    ours = [line for line in flow_lines if not line.startswith("Finished in state")]
    assert ours[-1].startswith("report: ")
    path = Path(ours[-1].removeprefix("report: "))
    assert path.parent == report_dir.resolve()
    assert re.fullmatch(r"spring-leads-\d{8}T\d{6}Z-[a-z0-9-]+\.csv", path.name)

    rows = _csv_rows(path)
    assert [(r["row"], r["email"], r["outcome"], r["reason"]) for r in rows] == [
        ("1", "a***@example.com", "sent", ""),
        ("2", "b***@example.com", "skipped", "missing first_name"),
    ]
    table = json.loads(_artifacts(state)["outreach-spring-leads-steps"].data)
    assert [str(row["row"]) for row in table] == [r["row"] for r in rows]


def test_dry_run_report_is_the_plan_with_every_message(
    report_dir: Path, tmp_path: Path
) -> None:
    leads = _leads_file(
        tmp_path,
        "email,first_name,company,linkedin_url\n"
        "ana@example.com,Ana,Acme,https://www.linkedin.com/in/ana-example\n"
        "bo@example.org,Bo,Beta,\n",
    )

    state = run_campaign(
        leads_csv_url=leads,
        campaign_name="spring",
        dry_run=True,
        enable_linkedin=True,
        enable_followup=True,
        email_body_template="Hola {{first_name}},\n\nsegunda línea",
        email2_subject_template="Re: {{company}}",
        email2_body_template="\n¿Lo viste, {{first_name}}?\nfin",
    )

    assert state.is_completed(), state.message
    artifacts = _artifacts(state)
    table = json.loads(artifacts["outreach-spring-steps"].data)
    assert [(r["row"], r["step"], r["outcome"], r["message"]) for r in table] == [
        (1, "email_1", "simulated", "Ana, idea para Acme | Hola Ana,"),
        (1, "linkedin", "simulated", ""),
        (1, "email_2", "simulated", "Re: Acme | ¿Lo viste, Ana?"),
        (2, "email_1", "simulated", "Bo, idea para Beta | Hola Bo,"),
        (2, "linkedin", "skipped", ""),
        (2, "email_2", "simulated", "Re: Beta | ¿Lo viste, Bo?"),
    ]
    assert list(table[0]) == [
        "row",
        "email",
        "company",
        "step",
        "outcome",
        "message",
        "reason",
        "run_at",
    ]
    summary = artifacts["outreach-spring-summary"].data
    assert summary.startswith("# Campaign plan (dry run): spring\n")
    assert "`outreach-spring-steps`" in summary
    assert "| dry run | yes |" in summary
    csv_path = next(report_dir.glob("spring-*.csv"))
    assert [r["message"] for r in _csv_rows(csv_path)] == [r["message"] for r in table]


def test_no_full_address_or_webhook_url_reaches_any_artifact_or_the_csv(
    receiver: Receiver, report_dir: Path, tmp_path: Path
) -> None:
    leads = _leads_file(
        tmp_path,
        "email,first_name,company\n"
        "ana@example.com,Ana,Acme\n"
        "bo@example.org,Bo,bo@example.org\n"
        "not-an-address,Cy,Gamma\n",
    )
    hook = receiver.url("/hook-s3cret")
    runs = [
        run_campaign(
            leads_csv_url=leads,
            email_webhook_url=hook,
            engagement_check_url=receiver.url("/engagement-s3cret"),
            enable_followup=True,
            email_subject_template="{{first_name}} <{{email}}>",
            email_body_template="Para {{email}}",
            email2_subject_template="Re: {{email}}",
            email2_body_template="{{email}}",
            dry_run=dry_run,
        )
        for dry_run in (True, False)
    ]

    assert all(state.is_completed() for state in runs), [s.message for s in runs]
    assert len(receiver.to("/hook-s3cret")) == 4
    produced = [path.read_text("utf-8-sig") for path in report_dir.glob("*.csv")]
    for state in runs:
        for artifact in _artifacts(state).values():
            produced.append(json.dumps(artifact.data, ensure_ascii=False))
            produced.append(artifact.description or "")
    assert len(produced) == 2 + 2 * 3 * 2
    text = "\n".join(produced)
    assert "a***@example.com" in text and "b***@example.org" in text
    assert FULL_ADDRESS.findall(text) == []
    assert "s3cret" not in text and "127.0.0.1" not in text and "://" not in text


def test_unwritable_report_folder_is_a_warning_and_the_run_still_completes(
    receiver: Receiver,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    blocked = tmp_path / "a-file"
    blocked.write_text("not a folder")
    monkeypatch.setenv(REPORT_DIR_ENV, str(blocked))
    caplog.set_level(logging.INFO)

    state = run_campaign(
        leads_csv_url=str(CASES / "05-one-lead.csv"), email_webhook_url=receiver.url()
    )

    assert state.is_completed(), state.message
    messages = [r.getMessage() for r in caplog.records]
    assert any(
        m.startswith("could not write the CSV report") and REPORT_DIR_ENV in m
        for m in messages
    )
    assert "report: no CSV file (see the warning above)" in messages
    assert "outreach-05-one-lead-steps" in _artifacts(state)


def test_run_with_every_row_dropped_still_reports_why(
    receiver: Receiver, report_dir: Path, tmp_path: Path
) -> None:
    leads = _leads_file(
        tmp_path, "email,first_name,company\nsin-arroba,Ana,Acme\nbo@,Bo,Beta\n"
    )

    state = run_campaign(leads_csv_url=leads, email_webhook_url=receiver.url())

    assert state.is_completed(), state.message
    assert receiver.requests == []
    artifacts = _artifacts(state)
    table = json.loads(artifacts["outreach-spring-leads-steps"].data)
    assert [(r["row"], r["outcome"], r["reason"]) for r in table] == [
        (1, "dropped", "no @ in email"),
        (2, "dropped", "invalid email"),
    ]
    assert artifacts["outreach-spring-leads-progress"].data == 100.0
    assert "0 lead(s) worked, 2 row(s) dropped" in (
        artifacts["outreach-spring-leads-summary"].data
    )
