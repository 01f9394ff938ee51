"""The sent ledger on disk: states, torn records, pruning, and dry runs."""

from __future__ import annotations

import os
import time
from pathlib import Path

from flows.campaign import BEGIN, FAILED, SENT
from flows.sent_ledger import KEEP_DAYS, FileLedger, ledger_dir
from tests.conftest import CASES, run_campaign
from tests.receiver import Receiver

KEY = "0123456789abcdef0123456789abcdef"


def test_states_survive_a_new_ledger_on_the_same_folder(tmp_path: Path) -> None:
    FileLedger(tmp_path).begin(KEY)
    assert FileLedger(tmp_path).state(KEY) == BEGIN

    FileLedger(tmp_path).record_sent(KEY)
    reopened = FileLedger(tmp_path)

    assert reopened.state(KEY) == SENT


def test_failed_step_is_neither_sent_nor_in_doubt(tmp_path: Path) -> None:
    ledger = FileLedger(tmp_path)
    ledger.begin(KEY)
    ledger.record_failed(KEY)

    assert ledger.state(KEY) == FAILED


def test_torn_record_counts_as_in_doubt(tmp_path: Path) -> None:
    (tmp_path / KEY).write_bytes(b'{"metadata": {"seriali')

    ledger = FileLedger(tmp_path)

    assert ledger.state(KEY) == BEGIN


def test_record_holds_no_address(tmp_path: Path) -> None:
    FileLedger(tmp_path).record_sent(KEY)

    text = (tmp_path / KEY).read_text()

    assert '\\"state\\": \\"sent\\"' in text
    assert "@" not in text


def test_old_records_are_pruned_and_other_files_kept(tmp_path: Path) -> None:
    FileLedger(tmp_path).record_sent(KEY)
    other = tmp_path / "notes.txt"
    other.write_text("mine")
    old = time.time() - (KEEP_DAYS + 1) * 86400
    for path in (tmp_path / KEY, other):
        os.utime(path, (old, old))

    FileLedger(tmp_path)

    assert not (tmp_path / KEY).exists()
    assert other.read_text() == "mine"


def test_folder_comes_from_the_environment(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setenv("OUTREACH_LEDGER_DIR", str(tmp_path / "here"))

    assert ledger_dir() == tmp_path / "here"


def test_folder_defaults_under_prefect_home(monkeypatch) -> None:
    monkeypatch.delenv("OUTREACH_LEDGER_DIR")

    assert ledger_dir().name == "outreach-ledger"


def test_dry_run_leaves_the_ledger_alone(receiver: Receiver, ledger_dir: Path) -> None:
    state = run_campaign(
        leads_csv_url=str(CASES / "05-one-lead.csv"),
        email_webhook_url=receiver.url(),
        dry_run=True,
    )

    assert state.is_completed(), state.message
    assert receiver.requests == []
    assert not ledger_dir.exists()
