"""Nothing a campaign handles in confidence shows up in what its run leaves behind.

The run below uses distinctive addresses, names, LinkedIn profiles, webhook URLs
(one given as a parameter, one from a saved Block, with a secret header) and an
engagement URL, and meets a refused step and a broken engagement answer on the
way. Then every log record, console line, task run, flow run, artifact, result,
state message, report file and ledger file is searched for those values.

The one place a secret may appear is the flow run's own ``parameters``: that is the
user's input exactly as given, stored by Prefect for the run. A webhook URL that
must stay out of the run record belongs in an Outreach Webhook Block.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from pathlib import Path

import pytest
from prefect.client.orchestration import get_client
from prefect.client.schemas.filters import FlowRunFilter, FlowRunFilterId
from prefect.settings import get_current_settings

from blocks.outreach_webhook import OutreachWebhook
from tests.conftest import run_campaign, run_logs
from tests.receiver import Receiver, Recorded, Reply

LEADS = [
    ("quillonia.vandersnatch@leakprobe.example.com", "Quillonia", "Vandersnatch"),
    ("bartholomew.zyzzyva@leakprobe.example.com", "Bartholomew", "Zyzzyva"),
    ("ottoline.quaggaward@leakprobe.example.com", "Ottoline", "Quaggaward"),
]
EMAIL_PATH = "/catch/email-tok-7Hq2Lx9Vw"
LINKEDIN_PATH = "/catch/linkedin-tok-3Rf8Kd1Zp"
ENGAGEMENT_PATH = "/engage-tok-5Mn4Tb6Ys"
HEADER_SECRET = "hdr-secret-9Pq1Wz8Xc"


class _Records(logging.Handler):
    """Keeps every record any logger passes to the root, at the levels in force."""

    def __init__(self) -> None:
        super().__init__(logging.NOTSET)
        self.lines: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.lines.append(record.getMessage())
        if record.exc_info:
            self.lines.append(logging.Formatter().formatException(record.exc_info))


@pytest.fixture
def root_records() -> Iterator[_Records]:
    handler = _Records()
    loggers = [logging.getLogger(), logging.getLogger("prefect")]
    for logger in loggers:
        logger.addHandler(handler)
    yield handler
    for logger in loggers:
        logger.removeHandler(handler)


def _write_leads(path: Path) -> None:
    rows = ["email,first_name,last_name,company,linkedin_url"]
    for email, first, last in LEADS:
        profile = f"https://www.linkedin.com/in/{first.lower()}-{last.lower()}-probe"
        rows.append(f"{email},{first},{last},Acme,{profile}")
    path.write_text("\n".join(rows) + "\n")


def _secrets(receiver: Receiver) -> list[str]:
    values = [HEADER_SECRET]
    for email, first, last in LEADS:
        values += [email, email.split("@")[0], first, last]
        values.append(f"linkedin.com/in/{first.lower()}-{last.lower()}-probe")
    for path in (EMAIL_PATH, LINKEDIN_PATH, ENGAGEMENT_PATH):
        values += [receiver.url(path), path.rsplit("-", 1)[1]]
    return values


def _run_record(state) -> list[tuple[str, str]]:
    """Everything Prefect keeps about the flow run, as (where, text) pairs."""
    flow_run_id = state.state_details.flow_run_id
    found = [(f"log {n}", line) for n, line in enumerate(run_logs(state))]
    with get_client(sync_client=True) as client:
        flow_run = client.read_flow_run(flow_run_id)
        found.append(("flow run", flow_run.model_dump_json(exclude={"parameters"})))
        runs = FlowRunFilter(id=FlowRunFilterId(any_=[flow_run_id]))
        for task_run in client.read_task_runs(flow_run_filter=runs):
            found.append((f"task run {task_run.name}", task_run.model_dump_json()))
        for artifact in client.read_artifacts(flow_run_filter=runs):
            found.append((f"artifact {artifact.key}", artifact.model_dump_json()))
    found.append(("state message", state.message or ""))
    found.append(("result", repr(state.result(raise_on_failure=False))))
    return found


def _files(directory: Path) -> list[tuple[str, str]]:
    if not directory.is_dir():
        return []
    return [
        (f"file {path}", path.read_bytes().decode("utf-8", "replace"))
        for path in directory.rglob("*")
        if path.is_file()
    ]


def test_no_address_name_or_webhook_url_appears_in_anything_the_run_left(
    receiver: Receiver,
    tmp_path: Path,
    ledger_dir: Path,
    root_records: _Records,
    report_folder: Path,
    capfd: pytest.CaptureFixture[str],
) -> None:
    def email_hook(request: Recorded) -> Reply:
        refused = request.json["to"] == LEADS[1][0]
        return (
            Reply(422, body={"error": f"{request.json['to']} refused"})
            if refused
            else Reply()
        )

    receiver.respond(EMAIL_PATH, email_hook)
    receiver.respond(ENGAGEMENT_PATH, lambda request: Reply(200, body="not json"))
    OutreachWebhook(
        url=receiver.url(LINKEDIN_PATH), headers={"X-Api-Key": HEADER_SECRET}
    ).save("leak-probe-linkedin", overwrite=True)
    OutreachWebhook(url=f"ftp://127.0.0.1{LINKEDIN_PATH}").save(
        "leak-probe-broken", overwrite=True
    )
    leads = tmp_path / "leads.csv"
    _write_leads(leads)
    parameters = dict(
        leads_csv_url=str(leads),
        email_webhook_url=receiver.url(EMAIL_PATH),
        engagement_check_url=receiver.url(ENGAGEMENT_PATH),
        enable_linkedin=True,
        enable_followup=True,
        email2_subject_template="Re: {{first_name}} {{last_name}}",
        email2_body_template="Hola {{first_name}}",
    )

    campaign = run_campaign(**parameters, linkedin_webhook_block="leak-probe-linkedin")
    broken = run_campaign(**parameters, linkedin_webhook_block="leak-probe-broken")

    # The runs did what the scan assumes: steps went out, one was refused, the
    # engagement answers were unusable and the broken block stopped the second run.
    assert campaign.is_failed()
    assert "6 sent" in campaign.message and "1 failed (HTTP 422: 1)" in campaign.message
    assert len(receiver.to(LINKEDIN_PATH)) == 2
    assert receiver.to(LINKEDIN_PATH)[0].headers["x-api-key"] == HEADER_SECRET
    assert broken.is_failed() and "leak-probe-broken" in broken.message

    captured = capfd.readouterr()
    places = _run_record(campaign) + _run_record(broken)
    places += [(f"record {n}", line) for n, line in enumerate(root_records.lines)]
    places += [("stdout", captured.out), ("stderr", captured.err)]
    places += _files(ledger_dir)
    places += _files(report_folder)
    places += _files(Path(get_current_settings().results.local_storage_path))
    assert any("q***@leakprobe.example.com" in text for _, text in places)
    assert any("treating the lead as not engaged" in text for _, text in places)
    assert any(where.startswith("artifact") for where, _ in places)
    assert any(where.startswith("task run send_lane") for where, _ in places)
    reports = [text for _, text in _files(report_folder)]
    assert any("q***@leakprobe.example.com" in text for text in reports)

    leaks = [
        (where, value)
        for value in _secrets(receiver)
        for where, text in places
        if value in text
    ]
    assert leaks == []
