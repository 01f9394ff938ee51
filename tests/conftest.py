from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest
from prefect.testing.utilities import prefect_test_harness

from tests.receiver import Receiver

# Servers the tests start, in this process or as subprocesses, stay offline.
os.environ["PREFECT_SERVER_ANALYTICS_ENABLED"] = "false"

ROOT = Path(__file__).resolve().parent.parent
CASES = ROOT / "tests" / "cases"
DATA = ROOT / "data"


@pytest.fixture(scope="session", autouse=True)
def prefect_harness() -> Iterator[None]:
    """One temporary Prefect server and database for the whole test session."""
    with prefect_test_harness(server_startup_timeout=120):
        yield


@pytest.fixture(scope="session", autouse=True)
def report_folder(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """Campaign reports that runs write go to a temporary folder, not ./reports."""
    folder = tmp_path_factory.mktemp("reports")
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("OUTREACH_REPORT_DIR", str(folder))
        yield folder


@pytest.fixture(autouse=True)
def ledger_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A sent ledger of each test's own, so no test sees another's sent steps."""
    directory = tmp_path / "ledger"
    monkeypatch.setenv("OUTREACH_LEDGER_DIR", str(directory))
    return directory


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    server = Receiver()
    yield server
    server.close()


# What every case runs with unless it says otherwise (tests/cases/README.md).
CASE_DEFAULTS = {
    "email_from": "growth@example.com",
    "email_subject_template": "{{first_name}}, idea para {{company}}",
    "email_body_template": "Hola {{first_name}}",
    "enable_linkedin": False,
    "enable_followup": False,
    "dry_run": False,
    "email_webhook_block": "",
    "linkedin_webhook_block": "",
}


def run_campaign(**parameters):
    """Run the flow in-process and return its final state."""
    from flows.outreach_multichannel import outreach_multichannel

    return outreach_multichannel(**{**CASE_DEFAULTS, **parameters}, return_state=True)


def run_logs(state) -> list[str]:
    """Every log message the Prefect API stored for the flow run of a final state."""
    from prefect.client.orchestration import get_client
    from prefect.client.schemas.filters import LogFilter, LogFilterFlowRunId
    from prefect.logging.handlers import APILogWorker

    APILogWorker.drain_all(timeout=10)
    log_filter = LogFilter(
        flow_run_id=LogFilterFlowRunId(any_=[state.state_details.flow_run_id])
    )
    messages: list[str] = []
    with get_client(sync_client=True) as client:
        while True:
            page = client.read_logs(
                log_filter=log_filter, limit=200, offset=len(messages)
            )
            messages += [log.message for log in page]
            if len(page) < 200:
                return messages


def campaign_settings(**overrides):
    """CampaignSettings for rule tests: one email step, dry, unless overridden."""
    from flows.campaign import CampaignSettings

    base = {
        "leads_csv_url": "leads.csv",
        "email_from": "growth@example.com",
        "email_subject_template": "{{first_name}}",
        "email_body_template": "Hola {{first_name}}",
        "enable_linkedin": False,
        "enable_followup": False,
        "dry_run": True,
    }
    return CampaignSettings(**{**base, **overrides})
