"""The outreach_multichannel flow: a multichannel sales-outreach campaign.

Read the leads, clean and dedupe them, drop suppressed addresses, check every
template, then post each lead's first email, LinkedIn action and follow-up to
their webhooks, branching on engagement. Run it on the bundled sample, dry:

    python flows/outreach_multichannel.py
"""

from __future__ import annotations

import dataclasses
import json
import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated, Any

import httpx
from prefect import flow, get_run_logger, task
from prefect.cache_policies import NO_CACHE
from prefect.futures import wait
from prefect.states import Completed, Failed, State
from prefect.task_runners import ThreadPoolTaskRunner
from pydantic import Field

from blocks.outreach_webhook import OutreachWebhook
from flows import campaign as rules
from flows.artifacts import CampaignProgress, publish_report
from flows.errors import OutreachError, ParameterError
from flows.leads import LeadList, load_leads, load_suppression, suppress
from flows.report import campaign_key, summary_table
from flows.sent_ledger import FileLedger
from flows.webhooks import Hook, header_problem, is_http_url

CONCURRENCY_TAG = "outreach_pool"
MAX_LANES = 128
ROOT = Path(__file__).resolve().parent.parent

Days = Annotated[int, Field(ge=0, le=365)]
Hour = Annotated[int, Field(ge=0, le=23)]
Seconds = Annotated[float, Field(gt=0, le=120)]


def titled(title: str) -> Any:
    """The title the Prefect UI's run form shows for a parameter.

    Prefect titles each parameter with its name; a JSON-schema extra is applied
    last, so this title wins. The description still comes from the docstring.
    """
    return Field(json_schema_extra={"title": title})


@task(name="load_leads", persist_result=False, cache_policy=NO_CACHE)
def load_campaign_leads(leads_csv_url: str, suppression_csv_url: str) -> LeadList:
    """Read, clean and dedupe the leads, then leave out the suppressed ones."""
    logger = get_run_logger()
    leads = load_leads(leads_csv_url)
    if suppression_csv_url:
        leads = suppress(leads, load_suppression(suppression_csv_url))
    dropped = leads.dropped_by_reason()
    logger.info(
        "%d lead(s) ready, %d row(s) dropped%s",
        len(leads.leads),
        len(leads.dropped),
        "".join(f"; {reason}: {n}" for reason, n in sorted(dropped.items())),
    )
    return leads


@task(name="load_webhooks", persist_result=False, cache_policy=NO_CACHE)
def load_webhooks(
    settings: rules.CampaignSettings, email_block: str, linkedin_block: str
) -> dict[str, Hook | None]:
    """The webhook per channel: the URL parameter if given, else the named Block."""
    hooks: dict[str, Hook | None] = {}
    wanted = {"email": True, "linkedin": settings.enable_linkedin}
    given = {
        "email": settings.email_webhook_url,
        "linkedin": settings.linkedin_webhook_url,
    }
    blocks = {"email": email_block, "linkedin": linkedin_block}
    for channel, needed in wanted.items():
        if given[channel]:
            hooks[channel] = Hook(
                channel, given[channel], {}, settings.webhook_timeout_seconds
            )
        elif needed and blocks[channel]:
            hooks[channel] = _hook_from_block(
                channel, blocks[channel], settings.dry_run
            )
        else:
            hooks[channel] = None
        if needed and hooks[channel] is None and not settings.dry_run:
            raise ParameterError(
                f"{channel}_webhook_url",
                f"is empty and no {channel}_webhook_block is named; give one of them",
            )
    return hooks


def _hook_from_block(channel: str, name: str, dry_run: bool) -> Hook | None:
    try:
        block = OutreachWebhook.load(name)
    except ValueError:
        if dry_run:
            get_run_logger().warning(
                "no Outreach Webhook block named %r; fine for a dry run", name
            )
            return None
        raise ParameterError(
            f"{channel}_webhook_block",
            f"no Outreach Webhook block named {name!r}; save it with "
            f"'python -m blocks.outreach_webhook {name} URL' or give "
            f"{channel}_webhook_url",
        ) from None
    hook = block.hook(channel)
    if not is_http_url(hook.url):
        raise ParameterError(
            f"{channel}_webhook_block",
            f"block {name!r}: its url is not an http(s) URL with a host; fix the block",
        )
    for header, value in hook.headers.items():
        problem = header_problem(header, value)
        if problem:
            raise ParameterError(
                f"{channel}_webhook_block",
                f"block {name!r}: {problem}; fix it in the block",
            )
    return hook


@task(
    name="send_lane",
    task_run_name="send_lane-{lane}",
    tags=[CONCURRENCY_TAG],
    persist_result=False,
    cache_policy=NO_CACHE,
)
def send_lane(
    lane: int, campaign: rules.Campaign, work: Any
) -> list[rules.StepOutcome]:
    """Work through leads from the shared queue, one request at a time.

    Each lane holds one `outreach_pool` slot for as long as it runs, so the tag
    limit caps the requests in flight across every run and worker.
    """
    lane_campaign = dataclasses.replace(campaign, log=get_run_logger())
    return rules.work_lane(lane_campaign, work)


@flow(
    name="outreach-multichannel",
    task_runner=ThreadPoolTaskRunner(max_workers=MAX_LANES + 2),
    persist_result=False,
    log_prints=True,
)
def outreach_multichannel(
    leads_csv_url: Annotated[str, titled("Leads CSV")],
    email_from: Annotated[str, titled("Sender address")],
    campaign_name: Annotated[str, titled("Campaign name")] = "",
    suppression_csv_url: Annotated[str, titled("Suppression CSV")] = "",
    email_webhook_url: Annotated[str, titled("Email webhook URL")] = "",
    email_webhook_block: Annotated[
        str, titled("Email webhook block")
    ] = "outreach-email",
    linkedin_webhook_url: Annotated[str, titled("LinkedIn webhook URL")] = "",
    linkedin_webhook_block: Annotated[
        str, titled("LinkedIn webhook block")
    ] = "outreach-linkedin",
    email_subject_template: Annotated[
        str, titled("First email subject")
    ] = "{{first_name}}, idea para {{company}}",
    email_body_template: Annotated[
        str, titled("First email body")
    ] = "Hola {{first_name}}",
    email2_subject_template: Annotated[
        str, titled("Follow-up subject")
    ] = "Re: {{first_name}}, idea para {{company}}",
    email2_body_template: Annotated[
        str, titled("Follow-up body")
    ] = "Hola {{first_name}}, ¿pudiste ver mi correo anterior?",
    business_hours_start_utc: Annotated[Hour, titled("Window opens (UTC hour)")] = 9,
    business_hours_end_utc: Annotated[
        int, Field(ge=0, le=24), titled("Window closes (UTC hour)")
    ] = 17,
    linkedin_delay_days: Annotated[Days, titled("LinkedIn delay (days)")] = 2,
    followup_delay_days: Annotated[Days, titled("Follow-up delay (days)")] = 3,
    max_parallel_leads: Annotated[
        int, Field(ge=1, le=MAX_LANES), titled("Leads in parallel")
    ] = 16,
    engagement_check_url: Annotated[str, titled("Engagement check URL")] = "",
    engagement_timeout_seconds: Annotated[
        Seconds, titled("Engagement timeout (seconds)")
    ] = 5.0,
    webhook_timeout_seconds: Annotated[
        Seconds, titled("Webhook timeout (seconds)")
    ] = 10.0,
    enable_linkedin: Annotated[bool, titled("LinkedIn step")] = True,
    enable_followup: Annotated[bool, titled("Follow-up step")] = True,
    skip_linkedin_if_opened: Annotated[bool, titled("Skip LinkedIn if opened")] = True,
    skip_followup_if_replied: Annotated[
        bool, titled("Skip follow-up if replied")
    ] = True,
    dry_run: Annotated[bool, titled("Dry run")] = False,
) -> State:
    """Run a multichannel outreach campaign: first email, LinkedIn, follow-up.

    Args:
        leads_csv_url: The lead list: a local path, a file:// URL or an http(s) URL
            of a CSV with an email column (first_name, last_name, company and
            linkedin_url are the usual others).
        email_from: The sender address put in every email step.
        campaign_name: Names the campaign's report artifacts and CSV file, so runs
            of one campaign share a history. Empty to use the lead file's name.
        suppression_csv_url: A CSV of addresses never to contact (path or URL).
            Empty for none.
        email_webhook_url: The webhook that sends emails. Empty to use the
            Outreach Webhook block named in email_webhook_block.
        email_webhook_block: The Outreach Webhook block used when
            email_webhook_url is empty.
        linkedin_webhook_url: The webhook that schedules LinkedIn actions. Empty
            to use the block named in linkedin_webhook_block.
        linkedin_webhook_block: The Outreach Webhook block used when
            linkedin_webhook_url is empty.
        email_subject_template: Jinja2 subject of the first email; lead columns
            such as {{first_name}} are filled in.
        email_body_template: Jinja2 body of the first email; may span many lines
            (the form's box grows as you type).
        email2_subject_template: Jinja2 subject of the follow-up email.
        email2_body_template: Jinja2 body of the follow-up email; may span many
            lines.
        business_hours_start_utc: Hour (UTC, 0-23) the sending window opens; the
            first email waits for it.
        business_hours_end_utc: Hour (UTC, 0-24) the window closes; an end before
            the start wraps past midnight, equal to it means always open.
        linkedin_delay_days: Days (0-365) after the run the LinkedIn action is
            scheduled.
        followup_delay_days: Days (0-365) after the run the follow-up email is
            scheduled.
        max_parallel_leads: How many leads (1-128) are worked on at once, each
            lane holding one outreach_pool slot; the server's outreach_pool limit
            caps it across runs.
        engagement_check_url: Endpoint asked GET ?email=... for
            {"opened": bool, "replied": bool}. Empty for no check.
        engagement_timeout_seconds: Seconds (over 0, at most 120) to wait for the
            engagement endpoint; past it the lead counts as not engaged.
        webhook_timeout_seconds: Seconds (over 0, at most 120) to wait for a
            webhook given by URL (a block has its own timeout).
        enable_linkedin: Schedule a LinkedIn action for leads with a linkedin_url.
        enable_followup: Schedule the follow-up email.
        skip_linkedin_if_opened: Skip LinkedIn for a lead that opened the email.
        skip_followup_if_replied: Skip the follow-up for a lead that replied.
        dry_run: Send nothing: every step is recorded as a simulated 200.

    Example:
        ```python
        outreach_multichannel(
            leads_csv_url="data/sample_leads.csv",
            email_from="growth@example.com",
            dry_run=True,
        )
        ```
    """
    logger = get_run_logger()
    now = datetime.now(UTC)
    settings = rules.CampaignSettings(
        leads_csv_url=leads_csv_url,
        email_from=email_from,
        email_subject_template=email_subject_template,
        email_body_template=email_body_template,
        email_webhook_url=email_webhook_url,
        linkedin_webhook_url=linkedin_webhook_url,
        linkedin_delay_days=linkedin_delay_days,
        max_parallel_leads=max_parallel_leads,
        followup_delay_days=followup_delay_days,
        email2_subject_template=email2_subject_template,
        email2_body_template=email2_body_template,
        suppression_csv_url=suppression_csv_url,
        business_hours_start_utc=business_hours_start_utc,
        business_hours_end_utc=business_hours_end_utc,
        enable_linkedin=enable_linkedin,
        enable_followup=enable_followup,
        dry_run=dry_run,
        engagement_check_url=engagement_check_url,
        engagement_timeout_seconds=engagement_timeout_seconds,
        skip_linkedin_if_opened=skip_linkedin_if_opened,
        skip_followup_if_replied=skip_followup_if_replied,
        webhook_timeout_seconds=webhook_timeout_seconds,
    )
    try:
        settings.check()
        hooks = load_webhooks(settings, email_webhook_block, linkedin_webhook_block)
        leads = load_campaign_leads(leads_csv_url, suppression_csv_url)
        templates = rules.compile_templates(settings, leads.columns)
    except OutreachError as exc:
        # Bad input: one line that says what to fix, and nothing was sent.
        logger.error("nothing sent: %s", exc)
        return Failed(message=f"nothing sent: {exc}")

    key = campaign_key(campaign_name, leads_csv_url)
    lanes = min(max_parallel_leads, len(leads.leads))
    # Dry runs send nothing, so they neither read nor write the sent ledger.
    ledger = rules.MemoryLedger() if dry_run else FileLedger()
    with (
        httpx.Client(limits=httpx.Limits(max_connections=2 * lanes + 2)) as client,
        CampaignProgress(key, len(leads.leads)) as progress,
    ):
        campaign = rules.Campaign(
            settings,
            templates,
            hooks,
            now,
            client=client,
            ledger=ledger,
            on_outcomes=progress.add,
        )
        work = rules.fill_queue(leads.rows, leads.leads)
        futures = [send_lane.submit(lane, campaign, work) for lane in range(lanes)]
        wait(futures)
        outcomes = [item for future in futures for item in future.result()]

    outcomes.sort(key=lambda item: (item.row, rules.STEPS.index(item.step)))
    summary = rules.summarize(outcomes, len(leads.leads), leads.dropped_by_reason())
    csv_path = publish_report(key, campaign, summary, outcomes, leads.dropped)
    logger.info("steps per outcome:\n%s", summary_table(summary))
    logger.info("report: %s", csv_path or "no CSV file (see the warning above)")
    message = summary.line()
    if summary.failed:
        return Failed(message=message, data=summary)
    return Completed(message=message, data=summary)


def _main(argv: list[str]) -> int:
    if argv:
        parameters = json.loads(Path(argv[0]).read_text())
    else:
        parameters = {
            "leads_csv_url": str(ROOT / "data" / "sample_leads.csv"),
            "suppression_csv_url": str(ROOT / "data" / "sample_suppression.csv"),
            "email_from": "growth@example.com",
            "dry_run": True,
        }
    state = outreach_multichannel(**parameters, return_state=True)
    print(f"\n{state.name}: {state.message}")
    return 0 if state.is_completed() else 1


if __name__ == "__main__":
    sys.exit(_main(sys.argv[1:]))
