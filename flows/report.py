"""Turning a run's outcomes into tables people can read."""

from __future__ import annotations

from flows.campaign import FAILED, SENT, SIMULATED, SKIPPED, Summary

OUTCOME_COLUMNS = (SENT, SIMULATED, SKIPPED, FAILED)


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
