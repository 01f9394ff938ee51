"""The campaign itself: settings, what each lead gets, and working through leads.

Nothing here knows about Prefect. The flow builds a Campaign, hands each lane a
share of the leads through a queue, and reports the StepOutcomes that come back.
"""

from __future__ import annotations

import logging
import queue
import threading
import urllib.parse
from collections import Counter
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Protocol

import httpx
from email_validator import EmailNotValidError, validate_email

from flows import webhooks
from flows.engagement import NOT_ENGAGED, Engagement, check_engagement
from flows.errors import ParameterError
from flows.leads import mask_email
from flows.templates import CompiledTemplate, MissingValue, compile_template
from flows.windows import after_days, first_email_at, iso_z

EMAIL_1 = "email_1"
LINKEDIN = "linkedin"
EMAIL_2 = "email_2"
STEPS = (EMAIL_1, LINKEDIN, EMAIL_2)

SENT = "sent"
SIMULATED = "simulated"
SKIPPED = "skipped"
FAILED = "failed"

ALREADY_SENT = "already sent today"
UNCONFIRMED = "unconfirmed: sent before a crash; check the receiver"

# A step's state in the sent ledger: begun before its request, then sent or failed.
BEGIN = "begin"
# A cell longer than this is no name or company: the lead is skipped, not posted.
MAX_CELL_CHARS = 2_000


@dataclass(frozen=True)
class CampaignSettings:
    """The flow parameters, named as in the Airflow conf."""

    leads_csv_url: str
    email_from: str
    email_subject_template: str
    email_body_template: str
    email_webhook_url: str = field(default="", repr=False)
    linkedin_webhook_url: str = field(default="", repr=False)
    linkedin_delay_days: int = 2
    max_parallel_leads: int = 16
    followup_delay_days: int = 3
    email2_subject_template: str = ""
    email2_body_template: str = ""
    suppression_csv_url: str = ""
    business_hours_start_utc: int = 9
    business_hours_end_utc: int = 17
    enable_linkedin: bool = True
    enable_followup: bool = True
    dry_run: bool = False
    engagement_check_url: str = field(default="", repr=False)
    engagement_timeout_seconds: float = 5.0
    skip_linkedin_if_opened: bool = True
    skip_followup_if_replied: bool = True
    webhook_timeout_seconds: float = 10.0

    def check(self) -> None:
        """Raise ParameterError for values the types and bounds cannot catch."""
        if not self.leads_csv_url.strip():
            raise ParameterError(
                "leads_csv_url", "is empty; give the lead CSV's path or URL"
            )
        try:
            validate_email(self.email_from, check_deliverability=False)
        except EmailNotValidError as exc:
            raise ParameterError(
                "email_from", f"{self.email_from!r} is not an email address ({exc})"
            ) from None
        for name in (
            "email_webhook_url",
            "linkedin_webhook_url",
            "engagement_check_url",
        ):
            _check_http_url(name, getattr(self, name))
        required = ["email_subject_template", "email_body_template"]
        if self.enable_followup:
            required += ["email2_subject_template", "email2_body_template"]
        for name in required:
            if not getattr(self, name).strip():
                raise ParameterError(
                    name, "is empty; write the message or turn its step off"
                )

    def templates(self) -> dict[str, str]:
        """The template parameters this campaign uses, by parameter name."""
        names = ["email_subject_template", "email_body_template"]
        if self.enable_followup:
            names += ["email2_subject_template", "email2_body_template"]
        return {name: getattr(self, name) for name in names}


def _check_http_url(name: str, value: str) -> None:
    if not value:
        return
    if not webhooks.is_http_url(value):
        # The value may be a secret: say what is wrong, never echo it.
        raise ParameterError(name, "is not an http(s) URL with a host")


def compile_templates(
    settings: CampaignSettings, columns: list[str]
) -> dict[str, CompiledTemplate]:
    """Every template the campaign uses, compiled and checked against the columns."""
    return {
        name: compile_template(name, source, columns)
        for name, source in settings.templates().items()
    }


@dataclass(frozen=True)
class StepOutcome:
    """What happened to one step of one lead."""

    row: int
    masked_email: str
    company: str
    step: str
    outcome: str
    reason: str = ""
    status: int | None = None
    run_at: str = ""
    attempts: int = 0
    # Subject and first body line, kept in dry run only so people can check the copy.
    preview: str = ""


class SentLedger(Protocol):
    """Remembers which steps went out, so a re-run posts none of them twice.

    ``begin`` is written before the request and ``record_sent`` or
    ``record_failed`` after it; a step begun but never ended stays ``BEGIN``.
    """

    def state(self, key: str) -> str:
        """``BEGIN``, ``SENT``, ``FAILED``, or empty for a step never tried."""
        ...

    def begin(self, key: str) -> None: ...

    def record_sent(self, key: str) -> None: ...

    def record_failed(self, key: str) -> None: ...


class MemoryLedger:
    """A ledger that lasts as long as the run."""

    def __init__(self) -> None:
        self._state: dict[str, str] = {}
        self._lock = threading.Lock()

    def state(self, key: str) -> str:
        with self._lock:
            return self._state.get(key, "")

    def begin(self, key: str) -> None:
        with self._lock:
            self._state[key] = BEGIN

    def record_sent(self, key: str) -> None:
        with self._lock:
            self._state[key] = SENT

    def record_failed(self, key: str) -> None:
        with self._lock:
            self._state[key] = FAILED


@dataclass
class Campaign:
    """Everything a lane needs to work on leads. Built once per run."""

    settings: CampaignSettings
    templates: Mapping[str, CompiledTemplate]
    hooks: Mapping[str, webhooks.Hook | None]
    now: datetime
    client: httpx.Client | None = None
    ledger: SentLedger = field(default_factory=MemoryLedger)
    log: logging.Logger | logging.LoggerAdapter[Any] = field(
        default_factory=lambda: logging.getLogger("outreach")
    )
    on_outcomes: Callable[[list[StepOutcome]], None] | None = None
    sleep: Callable[[float], None] | None = None
    hook_states: dict[str, webhooks.HookState] = field(default_factory=dict)
    _run_at: dict[str, str] = field(default_factory=dict, init=False, repr=False)

    def __post_init__(self) -> None:
        for channel in self.hooks:
            self.hook_states.setdefault(channel, webhooks.HookState())

    def run_at(self, step: str) -> str:
        # `now` and the settings are fixed for the run, so each step's time is too.
        cached = self._run_at.get(step)
        if cached is not None:
            return cached
        s = self.settings
        first = first_email_at(
            self.now, s.business_hours_start_utc, s.business_hours_end_utc
        )
        if step == EMAIL_1:
            when = first
        else:
            days = s.linkedin_delay_days if step == LINKEDIN else s.followup_delay_days
            # No step may fire before the first email it follows up on.
            when = max(after_days(self.now, days), first)
        self._run_at[step] = iso_z(when)
        return self._run_at[step]


def _render_messages(
    campaign: Campaign, lead: Mapping[str, str]
) -> dict[str, tuple[str, str]]:
    """Subject and body per email step; raises MissingValue for an empty column."""
    t = campaign.templates
    messages = {
        EMAIL_1: (
            _one_line(t["email_subject_template"].render(lead)),
            t["email_body_template"].render(lead),
        )
    }
    if campaign.settings.enable_followup:
        messages[EMAIL_2] = (
            _one_line(t["email2_subject_template"].render(lead)),
            t["email2_body_template"].render(lead),
        )
    return messages


def _one_line(subject: str) -> str:
    # A line break in a subject could add a header at the email provider.
    return " ".join(subject.split())


def linkedin_profile(value: str) -> str:
    """The lead's LinkedIn URL as an https URL, or empty if it is not one."""
    value = value.strip()
    if value.lower().startswith(("linkedin.com/", "www.linkedin.com/")):
        value = "https://" + value
    parts = urllib.parse.urlsplit(value)
    if parts.scheme not in ("http", "https") or "." not in (parts.hostname or ""):
        return ""
    return value


def _planned_steps(settings: CampaignSettings) -> list[str]:
    steps = [EMAIL_1]
    if settings.enable_linkedin:
        steps.append(LINKEDIN)
    if settings.enable_followup:
        steps.append(EMAIL_2)
    return steps


def run_lead(
    campaign: Campaign, row: int, lead: Mapping[str, str]
) -> list[StepOutcome]:
    """Every step of one lead, in order, as the campaign's rules decide."""
    settings = campaign.settings
    masked = mask_email(lead["email"])
    company = lead.get("company", "")

    def outcome(step: str, result: str, reason: str = "", **extra: Any) -> StepOutcome:
        return StepOutcome(
            row,
            masked,
            company,
            step,
            result,
            reason,
            run_at=campaign.run_at(step),
            **extra,
        )

    steps = _planned_steps(settings)
    oversized = sorted(
        name for name, value in lead.items() if len(value) > MAX_CELL_CHARS
    )
    if oversized:
        reason = f"{', '.join(oversized)} longer than {MAX_CELL_CHARS} characters"
        campaign.log.warning("lead %s skipped: %s", masked, reason)
        return [outcome(step, SKIPPED, reason) for step in steps]
    try:
        messages = _render_messages(campaign, lead)
    except MissingValue as missing:
        campaign.log.warning("lead %s skipped: %s", masked, missing)
        return [outcome(step, SKIPPED, str(missing)) for step in steps]

    outcomes = [_send_email(campaign, lead, EMAIL_1, messages[EMAIL_1], outcome)]
    if not _went_out(outcomes[0]):
        reason = f"{EMAIL_1} not sent"
        return outcomes + [outcome(step, SKIPPED, reason) for step in steps[1:]]

    engagement = _engagement(campaign, lead, masked)
    if settings.enable_linkedin:
        if not lead.get("linkedin_url"):
            outcomes.append(outcome(LINKEDIN, SKIPPED, "no linkedin_url"))
        elif not linkedin_profile(lead["linkedin_url"]):
            outcomes.append(outcome(LINKEDIN, SKIPPED, "invalid linkedin_url"))
        elif engagement.opened and settings.skip_linkedin_if_opened:
            outcomes.append(outcome(LINKEDIN, SKIPPED, "opened"))
        else:
            outcomes.append(_send_linkedin(campaign, lead, outcome))
    if settings.enable_followup:
        if engagement.replied and settings.skip_followup_if_replied:
            outcomes.append(outcome(EMAIL_2, SKIPPED, "replied"))
        else:
            outcomes.append(
                _send_email(campaign, lead, EMAIL_2, messages[EMAIL_2], outcome)
            )
    return outcomes


def _went_out(item: StepOutcome) -> bool:
    return item.outcome in (SENT, SIMULATED) or item.reason == ALREADY_SENT


def _engagement(campaign: Campaign, lead: Mapping[str, str], masked: str) -> Engagement:
    settings = campaign.settings
    if not settings.engagement_check_url or settings.dry_run or campaign.client is None:
        return NOT_ENGAGED
    needed = settings.enable_followup or (
        settings.enable_linkedin and bool(lead.get("linkedin_url"))
    )
    if not needed:
        return NOT_ENGAGED
    engagement = check_engagement(
        campaign.client,
        settings.engagement_check_url,
        lead["email"],
        settings.engagement_timeout_seconds,
    )
    if engagement.problem:
        campaign.log.warning(
            "engagement check for %s %s; treating the lead as not engaged",
            masked,
            engagement.problem,
        )
    return engagement


def _send_email(
    campaign: Campaign,
    lead: Mapping[str, str],
    step: str,
    message: tuple[str, str],
    outcome: Callable[..., StepOutcome],
) -> StepOutcome:
    subject, body = message
    payload = {
        "step": step,
        "to": lead["email"],
        "from": campaign.settings.email_from,
        "subject": subject,
        "body": body,
        "run_at": campaign.run_at(step),
        "lead": dict(lead),
    }
    first_line = next((line for line in body.splitlines() if line.strip()), "")
    return _post(
        campaign, "email", step, lead, payload, outcome, f"{subject} | {first_line}"
    )


def _send_linkedin(
    campaign: Campaign, lead: Mapping[str, str], outcome: Callable[..., StepOutcome]
) -> StepOutcome:
    payload = {
        "step": LINKEDIN,
        "linkedin_url": linkedin_profile(lead["linkedin_url"]),
        "run_at": campaign.run_at(LINKEDIN),
        "lead": dict(lead),
    }
    return _post(campaign, "linkedin", LINKEDIN, lead, payload, outcome, "")


def _post(
    campaign: Campaign,
    channel: str,
    step: str,
    lead: Mapping[str, str],
    payload: dict[str, Any],
    outcome: Callable[..., StepOutcome],
    preview: str,
) -> StepOutcome:
    masked = mask_email(lead["email"])
    if campaign.settings.dry_run:
        campaign.log.info("%s for %s simulated (dry run)", step, masked)
        return outcome(step, SIMULATED, "dry run", status=200, preview=preview)

    key = webhooks.idempotency_key(lead["email"], step, campaign.now.date())
    # One read of the ledger per step: on disk it is a file read.
    earlier = campaign.ledger.state(key)
    if earlier == SENT:
        campaign.log.warning(
            "%s for %s already sent today; not sent again", step, masked
        )
        return outcome(step, SKIPPED, ALREADY_SENT)
    if earlier == BEGIN:
        campaign.log.error(
            "%s for %s was in flight when an earlier run stopped; not sent again, "
            "check the receiver",
            step,
            masked,
        )
        return outcome(step, FAILED, UNCONFIRMED)

    hook = campaign.hooks.get(channel)
    if hook is None or campaign.client is None:
        campaign.log.error("%s for %s failed: no %s webhook", step, masked, channel)
        return outcome(step, FAILED, f"no {channel} webhook")

    campaign.ledger.begin(key)
    delivery = webhooks.deliver(
        campaign.client,
        hook,
        campaign.hook_states[channel],
        payload,
        key,
        **({"sleep": campaign.sleep} if campaign.sleep else {}),
    )
    if delivery.outcome == webhooks.SENT:
        campaign.ledger.record_sent(key)
        # DEBUG, not INFO: a line per request shipped to the API slows a big run
        # down (see benchmarks/results.md); the progress line says how far it is.
        campaign.log.debug(
            "%s for %s sent (HTTP %s, %d attempt(s))",
            step,
            masked,
            delivery.status,
            delivery.attempts,
        )
        return outcome(step, SENT, status=delivery.status, attempts=delivery.attempts)
    campaign.ledger.record_failed(key)
    reason = "hook gone (410)" if delivery.outcome == webhooks.GONE else delivery.detail
    campaign.log.error(
        "%s for %s failed: %s after %d attempt(s)",
        step,
        masked,
        reason,
        delivery.attempts,
    )
    return outcome(
        step, FAILED, reason, status=delivery.status, attempts=delivery.attempts
    )


def fill_queue(
    rows: Iterable[int], leads: Iterable[Mapping[str, str]]
) -> queue.SimpleQueue:
    """A queue of (row, lead) pairs that lanes take work from."""
    work: queue.SimpleQueue[tuple[int, Mapping[str, str]]] = queue.SimpleQueue()
    for item in zip(rows, leads, strict=True):
        work.put(item)
    return work


def work_lane(campaign: Campaign, work: queue.SimpleQueue) -> list[StepOutcome]:
    """Take leads from the queue until it is empty; one request at a time."""
    outcomes: list[StepOutcome] = []
    while True:
        try:
            row, lead = work.get_nowait()
        except queue.Empty:
            return outcomes
        try:
            lead_outcomes = run_lead(campaign, row, lead)
        except Exception as exc:  # a bug must cost one lead, not the whole lane
            lead_outcomes = _internal_error(campaign, row, lead, exc)
        outcomes.extend(lead_outcomes)
        if campaign.on_outcomes is not None:
            campaign.on_outcomes(lead_outcomes)


def _internal_error(
    campaign: Campaign, row: int, lead: Mapping[str, str], exc: Exception
) -> list[StepOutcome]:
    # The exception text may quote lead data: log its kind only.
    masked = mask_email(str(lead.get("email", "")))
    reason = f"internal error ({type(exc).__name__})"
    campaign.log.error("lead %s failed: %s", masked, reason)
    # NOTE: a step posted before the error is reported failed too; the ledger
    # still knows it was sent, so a re-run will not post it again.
    return [
        StepOutcome(row, masked, str(lead.get("company", "")), step, FAILED, reason)
        for step in _planned_steps(campaign.settings)
    ]


@dataclass(frozen=True)
class Summary:
    """Counts for the end of a run."""

    by_step: dict[str, Counter[str]]
    skipped_by_reason: Counter[str]
    failed_by_reason: Counter[str]
    leads: int = 0
    dropped_by_reason: dict[str, int] = field(default_factory=dict)

    @property
    def totals(self) -> Counter[str]:
        total: Counter[str] = Counter()
        for counts in self.by_step.values():
            total.update(counts)
        return total

    @property
    def failed(self) -> int:
        return self.totals[FAILED]

    def line(self) -> str:
        t = self.totals
        dropped = sum(self.dropped_by_reason.values())
        parts = [f"{self.leads} lead(s)", f"{dropped} row(s) dropped"]
        parts[-1] += _reasons(Counter(self.dropped_by_reason))
        parts.append(f"{t[SENT]} sent")
        if t[SIMULATED]:
            parts.append(f"{t[SIMULATED]} simulated")
        parts.append(f"{t[SKIPPED]} skipped" + _reasons(self.skipped_by_reason))
        parts.append(f"{t[FAILED]} failed" + _reasons(self.failed_by_reason))
        return ", ".join(parts)


def _reasons(counts: Counter[str]) -> str:
    if not counts:
        return ""
    return (
        " (" + ", ".join(f"{reason}: {n}" for reason, n in sorted(counts.items())) + ")"
    )


def summarize(
    outcomes: Iterable[StepOutcome],
    leads: int = 0,
    dropped_by_reason: Mapping[str, int] | None = None,
) -> Summary:
    by_step: dict[str, Counter[str]] = {}
    skipped: Counter[str] = Counter()
    failed: Counter[str] = Counter()
    for item in outcomes:
        by_step.setdefault(item.step, Counter())[item.outcome] += 1
        if item.outcome == SKIPPED:
            skipped[item.reason] += 1
        elif item.outcome == FAILED:
            failed[item.reason] += 1
    ordered = {step: by_step[step] for step in STEPS if step in by_step}
    return Summary(ordered, skipped, failed, leads, dict(dropped_by_reason or {}))
