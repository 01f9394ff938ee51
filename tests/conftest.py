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
