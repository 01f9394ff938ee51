"""Turning a run's outcomes into tables people can read.

Everything here is plain: the rows of the per-lead report, the markdown summary,
the CSV file, the campaign's key and the throttle for progress updates. The
Prefect layer (flows/artifacts.py) publishes what this module builds. Nothing
built here holds a full address, a webhook URL or a message body beyond the
subject and first line that a dry run shows for checking the copy.
"""

from __future__ import annotations

import csv
import json
import re
import threading
import time
import unicodedata
import urllib.parse
from collections import Counter
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path, PurePosixPath

from flows.campaign import (
    FAILED,
    SENT,
    SIMULATED,
    SKIPPED,
    STEPS,
    Campaign,
    StepOutcome,
    Summary,
)
from flows.leads import DroppedRow, mask_email

OUTCOME_COLUMNS = (SENT, SIMULATED, SKIPPED, FAILED)
DROPPED = "dropped"

# One row per lead-step (and per dropped row), in the CSV and the table artifact.
REPORT_COLUMNS = (
    "row",
    "email",
    "company",
    "step",
    "outcome",
    "reason",
    "status",
    "run_at",
    "attempts",
    "message",
)
# The table artifact shows what matters for the run: the copy in a dry run (a plan),
# the statuses and attempts otherwise. The CSV always has every column.
PLAN_COLUMNS = (
    "row",
    "email",
    "company",
    "step",
    "outcome",
    "message",
    "reason",
    "run_at",
)
RUN_COLUMNS = tuple(name for name in REPORT_COLUMNS if name != "message")

MAX_KEY_CHARS = 48
# The server drops an artifact's event above 1.5 MB by default (with a warning), and
# a table that size is past reading in the UI; the CSV file has every row.
MAX_TABLE_BYTES = 1_000_000
# Anything shaped like an address, so a template that prints one is still masked.
_ADDRESS = re.compile(r"[^\s@<>()\[\]\"',;:|]+@[^\s@<>()\[\]\"',;:|]+")
# A spreadsheet runs a cell starting with one of these as a formula.
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def summary_table(summary: Summary) -> str:
    """A plain-text table of outcomes per step, for a terminal."""
    header = ["step", *OUTCOME_COLUMNS]
    rows = [
        [step, *(str(counts[name]) for name in OUTCOME_COLUMNS)]
        for step, counts in summary.by_step.items()
    ]
    totals = summary.totals
    rows.append(["total", *(str(totals[name]) for name in OUTCOME_COLUMNS)])
    widths = [max(len(row[i]) for row in [header, *rows]) for i in range(len(header))]

    def line(cells: list[str]) -> str:
        return "  ".join(
            cell.ljust(width) for cell, width in zip(cells, widths, strict=True)
        )

    lines = [line(header), line(["-" * width for width in widths])]
    lines += [line(row) for row in rows]
    for title, counts in (
        ("skipped", summary.skipped_by_reason),
        ("failed", summary.failed_by_reason),
    ):
        for reason, count in sorted(counts.items()):
            lines.append(f"{title}: {reason}: {count}")
    return "\n".join(lines)


def slugify(text: str) -> str:
    """Lowercase ASCII, digits and dashes: ``Q3 Leads (ES)`` gives ``q3-leads-es``."""
    ascii_text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()
    return re.sub(r"[^a-z0-9]+", "-", ascii_text.lower()).strip("-")


def campaign_key(campaign_name: str, leads_location: str) -> str:
    """The campaign's artifact key: the name given, else the lead file's name.

    Only the file name of a URL is used, never its host or query string.
    """
    slug = slugify(campaign_name)
    if not slug:
        path = urllib.parse.unquote(urllib.parse.urlsplit(leads_location).path)
        slug = slugify(PurePosixPath(path.replace("\\", "/")).stem)
    return slug[:MAX_KEY_CHARS].strip("-") or "campaign"


def artifact_key(key: str, kind: str) -> str:
    """The key of one of a campaign's artifacts: ``outreach-<campaign>-<kind>``."""
    return f"outreach-{key}-{kind}"


def mask_addresses(text: str) -> str:
    """Every address in a text shown as ``a***@example.com``."""
    return _ADDRESS.sub(lambda match: mask_email(match.group(0)), text)


def report_rows(
    outcomes: Iterable[StepOutcome], dropped: Iterable[DroppedRow] = ()
) -> list[dict[str, str | int]]:
    """One row per lead-step and per dropped row, in lead file order."""
    rows: list[tuple[tuple[int, int], dict[str, str | int]]] = []
    for item in outcomes:
        order = (item.row, STEPS.index(item.step) if item.step in STEPS else 0)
        rows.append(
            (
                order,
                {
                    "row": item.row,
                    "email": mask_addresses(item.masked_email),
                    "company": mask_addresses(item.company),
                    "step": item.step,
                    "outcome": item.outcome,
                    "reason": mask_addresses(item.reason),
                    "status": "" if item.status is None else item.status,
                    "run_at": item.run_at,
                    "attempts": item.attempts,
                    "message": mask_addresses(item.preview),
                },
            )
        )
    for row in dropped:
        rows.append(
            (
                (row.row, -1),
                {
                    **dict.fromkeys(REPORT_COLUMNS, ""),
                    "row": row.row,
                    "email": mask_addresses(row.masked_email),
                    "outcome": DROPPED,
                    "reason": row.reason,
                },
            )
        )
    rows.sort(key=lambda pair: pair[0])
    return [row for _, row in rows]


def table_rows(
    rows: Iterable[Mapping[str, str | int]],
    columns: tuple[str, ...] = RUN_COLUMNS,
    budget: int = MAX_TABLE_BYTES,
) -> list[dict[str, str | int]]:
    """The first rows, cut to the columns, whose JSON fits in the budget."""
    table: list[dict[str, str | int]] = []
    size = 2
    for row in rows:
        cut = {name: row.get(name, "") for name in columns}
        size += len(json.dumps(cut)) + 2
        if size > budget:
            break
        table.append(cut)
    return table


def write_csv(path: Path, rows: Iterable[Mapping[str, str | int]]) -> Path:
    """Write the report rows as UTF-8 CSV with a BOM, so Excel reads accents."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", encoding="utf-8-sig", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=REPORT_COLUMNS)
        writer.writeheader()
        for row in rows:
            writer.writerow({name: _cell(row.get(name, "")) for name in REPORT_COLUMNS})
    return path


def _cell(value: str | int) -> str | int:
    if isinstance(value, str) and value.startswith(_FORMULA_START):
        return "'" + value
    return value


def report_path(directory: Path, key: str, run_name: str, started: datetime) -> Path:
    """``<directory>/<campaign>-<UTC start>-<run name>.csv``."""
    stamp = started.strftime("%Y%m%dT%H%M%SZ")
    name = "-".join(part for part in (key, stamp, slugify(run_name)) if part)
    return directory / f"{name}.csv"


def settings_table(campaign: Campaign) -> list[tuple[str, str]]:
    """The settings that shaped the run, as (setting, value); never a URL."""
    s = campaign.settings
    start, end = s.business_hours_start_utc, s.business_hours_end_utc
    leads_path = urllib.parse.unquote(urllib.parse.urlsplit(s.leads_csv_url).path)
    steps = [("first email", True), ("LinkedIn", s.enable_linkedin)]
    steps.append(("follow-up", s.enable_followup))
    return [
        ("leads file", PurePosixPath(leads_path.replace("\\", "/")).name),
        ("suppression list", "yes" if s.suppression_csv_url else "none"),
        ("dry run", _yes_no(s.dry_run)),
        ("steps", ", ".join(name for name, on in steps if on)),
        ("sending window", f"{start:02d}:00-{end:02d}:00 UTC"),
        ("LinkedIn delay", f"{s.linkedin_delay_days} day(s)"),
        ("follow-up delay", f"{s.followup_delay_days} day(s)"),
        ("engagement check", "on" if s.engagement_check_url else "off"),
        ("skip LinkedIn if opened", _yes_no(s.skip_linkedin_if_opened)),
        ("skip follow-up if replied", _yes_no(s.skip_followup_if_replied)),
        ("parallel leads", str(s.max_parallel_leads)),
        ("webhook timeout", f"{s.webhook_timeout_seconds:g} s"),
    ]


def _yes_no(flag: bool) -> str:
    return "yes" if flag else "no"


def markdown_report(
    key: str,
    campaign: Campaign,
    summary: Summary,
    csv_name: str = "",
    rows_left_out: int = 0,
) -> str:
    """The run at a glance: counts per step and outcome, drops, skips, settings."""
    dry = campaign.settings.dry_run
    title = "Campaign plan (dry run)" if dry else "Campaign report"
    lines = [f"# {title}: {key}", ""]
    lines.append(
        f"{summary.leads} lead(s) worked, "
        f"{sum(summary.dropped_by_reason.values())} row(s) dropped. "
        f"Started {campaign.now.strftime('%Y-%m-%d %H:%M:%S')} UTC."
    )
    if dry:
        lines += [
            "",
            "Nothing was sent. The table artifact "
            f"`{artifact_key(key, 'steps')}` lists every message as it would go out "
            "(subject | first line of the body): check the copy before going live.",
        ]
    lines += ["", "## Steps per outcome", ""]
    header = ["step", "fires at (UTC)", *OUTCOME_COLUMNS]
    body = [
        [step, campaign.run_at(step), *(str(counts[n]) for n in OUTCOME_COLUMNS)]
        for step, counts in summary.by_step.items()
    ]
    totals = summary.totals
    body.append(["total", "", *(str(totals[n]) for n in OUTCOME_COLUMNS)])
    lines += _markdown_table(header, body)

    for title, counts in (
        ("Rows dropped before sending", Counter(summary.dropped_by_reason)),
        ("Steps skipped", summary.skipped_by_reason),
        ("Steps failed", summary.failed_by_reason),
    ):
        if counts:
            lines += ["", f"## {title}", ""]
            rows = [[reason, str(n)] for reason, n in sorted(counts.items())]
            lines += _markdown_table(["reason", "count"], rows)

    lines += ["", "## Settings", ""]
    lines += _markdown_table(["setting", "value"], settings_table(campaign))
    if rows_left_out:
        lines += [
            "",
            f"The table artifact leaves out the last {rows_left_out} rows to stay "
            "under Prefect's event size; the CSV file has every row.",
        ]
    if csv_name:
        lines += ["", f"The same rows as a CSV file: `{csv_name}`."]
    return "\n".join(lines) + "\n"


def _markdown_table(header: list[str], rows: Iterable[Iterable[str]]) -> list[str]:
    def line(cells: Iterable[str]) -> str:
        return "| " + " | ".join(_escape(cell) for cell in cells) + " |"

    return [line(header), line("---" for _ in header), *(line(row) for row in rows)]


def _escape(cell: str) -> str:
    return mask_addresses(cell).replace("|", "\\|").replace("\n", " ")


@dataclass(frozen=True)
class Progress:
    """How far a run is: leads done out of all, and step outcomes so far."""

    done: int
    total: int
    counts: Mapping[str, int]

    @property
    def percent(self) -> float:
        return 100.0 if not self.total else 100.0 * self.done / self.total

    def line(self) -> str:
        counts = ", ".join(
            f"{self.counts.get(name, 0)} {name}" for name in OUTCOME_COLUMNS
        )
        return f"{self.done} of {self.total} lead(s) done: {counts}"


class ProgressCounter:
    """Counts finished leads from every lane; says when an update is due.

    Lanes call ``add`` after each lead. It returns a Progress at most once per
    ``interval`` seconds (and for the last lead), so a long run makes a few
    updates rather than one per lead.
    """

    def __init__(
        self,
        total: int,
        interval: float = 1.5,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.total = total
        self.interval = interval
        self._clock = clock
        self._lock = threading.Lock()
        self._done = 0
        self._counts: Counter[str] = Counter()
        self._last = clock()

    def add(self, outcomes: Iterable[StepOutcome]) -> Progress | None:
        """Count one finished lead; a Progress if an update is due, else None."""
        with self._lock:
            self._done += 1
            self._counts.update(item.outcome for item in outcomes)
            now = self._clock()
            if self._done < self.total and now - self._last < self.interval:
                return None
            self._last = now
            return self._snapshot()

    def snapshot(self) -> Progress:
        """Where the run is now."""
        with self._lock:
            return self._snapshot()

    def _snapshot(self) -> Progress:
        return Progress(self._done, self.total, dict(self._counts))
