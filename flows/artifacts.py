"""Publishing a campaign's report and progress through Prefect.

The rows, markdown and CSV come from flows/report.py; this module hands them to
Prefect as artifacts, writes the CSV file, and draws a progress bar when the flow
runs from a terminal. A report that cannot be published is logged as a warning
and never changes how the campaign ends: the steps have been sent by then.
"""

from __future__ import annotations

import logging
import os
import sys
import threading
from collections.abc import Iterable
from pathlib import Path
from types import TracebackType
from typing import Any
from uuid import UUID

from prefect import get_run_logger
from prefect.artifacts import (
    create_markdown_artifact,
    create_progress_artifact,
    create_table_artifact,
    update_progress_artifact,
)
from prefect.logging.handlers import PrefectConsoleHandler
from prefect.runtime import deployment, flow_run
from rich.console import Console
from rich.progress import BarColumn, TextColumn
from rich.progress import Progress as Bar

from flows import report
from flows.campaign import Campaign, StepOutcome, Summary
from flows.leads import DroppedRow

REPORT_DIR_ENV = "OUTREACH_REPORT_DIR"
PROGRESS_INTERVAL_SECONDS = 1.5


def report_dir() -> Path:
    """Where CSV reports go: $OUTREACH_REPORT_DIR, else ./reports."""
    return Path(os.environ.get(REPORT_DIR_ENV) or Path.cwd() / "reports").resolve()


class CampaignProgress:
    """The run's progress, fed by every lane: an INFO line, an artifact, a bar.

    Pass ``add`` as the Campaign's ``on_outcomes``. The artifact is updated at most
    once per interval and once at the end, whatever the number of leads; the
    INFO line is logged at the same moments.
    """

    def __init__(
        self, key: str, total: int, interval: float = PROGRESS_INTERVAL_SECONDS
    ) -> None:
        self.counter = report.ProgressCounter(total, interval)
        self._log = get_run_logger()
        self._publish_lock = threading.Lock()
        self._published = -1
        self._artifact_id: UUID | None = None
        self._bar: Bar | None = None
        try:
            self._artifact_id = create_progress_artifact(
                0.0,
                key=report.artifact_key(key, "progress"),
                description=self.counter.snapshot().line(),
            )
        except Exception as exc:  # the API may be down; the campaign still runs
            self._warn("could not create the progress artifact", exc)
        try:
            self._bar = _terminal_bar(total)
        except Exception as exc:  # a bar is a nicety; never stop a campaign for it
            self._warn("could not draw the progress bar", exc)

    def add(self, outcomes: list[StepOutcome]) -> None:
        """Count one finished lead (called from the lanes' threads)."""
        if self._bar is not None:
            self._bar.advance(self._bar.task_ids[0])
        progress = self.counter.add(outcomes)
        if progress is not None:
            # The run's one INFO line about sending; each step logs at DEBUG.
            self._log.info("%s", progress.line())
            self._publish(progress)

    def close(self) -> None:
        """The last update, and the bar taken down."""
        self._publish(self.counter.snapshot())
        if self._bar is not None:
            self._bar.stop()
            self._bar = None

    def __enter__(self) -> CampaignProgress:
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.close()

    def _publish(self, progress: report.Progress) -> None:
        with self._publish_lock:
            # Two lanes can both be due; never let the older count land last.
            if self._artifact_id is None or progress.done <= self._published:
                return
            try:
                update_progress_artifact(
                    self._artifact_id, progress.percent, description=progress.line()
                )
            except Exception as exc:  # the API may be down; the campaign still runs
                self._warn("could not update the progress artifact", exc)
                self._artifact_id = None
                return
            self._published = progress.done

    def _warn(self, what: str, exc: Exception) -> None:
        self._log.warning("%s (%s); going on without it", what, type(exc).__name__)


def _terminal_bar(total: int) -> Bar | None:
    """A progress bar on stderr for a run started from a terminal, else None."""
    if deployment.id or not sys.stderr.isatty():
        return None
    # Share the console Prefect logs to, so log lines print above the bar.
    consoles = [
        handler.console
        for handler in logging.getLogger().handlers
        if isinstance(handler, PrefectConsoleHandler)
    ]
    console = consoles[0] if consoles else Console(stderr=True)
    if not console.is_terminal:
        return None
    # Prefect's console theme does not inherit rich's: name every style used.
    bar = Bar(
        TextColumn("leads"),
        BarColumn(style="bright_black", complete_style="cyan", finished_style="green"),
        TextColumn("{task.completed}/{task.total}"),
        TextColumn("{task.elapsed:.0f} s"),
        console=console,
    )
    bar.add_task("leads", total=total)
    bar.start()
    return bar


def publish_report(
    key: str,
    campaign: Campaign,
    summary: Summary,
    outcomes: Iterable[StepOutcome],
    dropped: Iterable[DroppedRow],
) -> Path | None:
    """The table and markdown artifacts and the CSV file; the CSV's path.

    Returns None if the CSV could not be written (the reason is logged).
    """
    log = get_run_logger()
    rows = report.report_rows(outcomes, dropped)
    path: Path | None = report.report_path(
        report_dir(), key, flow_run.name or "", campaign.now
    )
    try:
        report.write_csv(path, rows)
    except OSError as exc:
        log.warning(
            "could not write the CSV report to %s (%s); set %s to a writable folder",
            path,
            exc.strerror or type(exc).__name__,
            REPORT_DIR_ENV,
        )
        path = None

    plan = campaign.settings.dry_run
    table = report.table_rows(rows, report.PLAN_COLUMNS if plan else report.RUN_COLUMNS)
    left_out = len(rows) - len(table)
    _create(
        log,
        create_table_artifact,
        table=table,
        key=report.artifact_key(key, "steps"),
        description=(
            f"Campaign plan for {key}: every message as it would go out (dry run)"
            if plan
            else f"Every step of every lead in campaign {key}"
        ),
    )
    _create(
        log,
        create_markdown_artifact,
        markdown=report.markdown_report(
            key, campaign, summary, str(path or ""), left_out
        ),
        key=report.artifact_key(key, "summary"),
        description=f"{'Plan' if plan else 'Report'} for campaign {key}",
    )
    return path


def _create(log: Any, create: Any, **arguments: Any) -> None:
    try:
        create(**arguments)
    except Exception as exc:  # the API may be down; the steps are sent already
        log.warning(
            "could not create the artifact %s (%s); the CSV report still has it",
            arguments["key"],
            type(exc).__name__,
        )
