"""The sent ledger: which campaign steps went out, kept on disk between runs.

Part of the Prefect layer. Each step is a record in a Prefect ``ResultStore`` on a
``LocalFileSystem``, keyed by the step's idempotency key (a hash of address, step
and UTC day, so the ledger holds no address). The record is written ahead of the
request and again after it:

    begin   written just before the POST
    sent    the hook answered 2xx
    failed  the hook answered otherwise, or could not be reached

A later run skips a step whose record says ``sent``. A step left at ``begin`` was
in flight when its process died: it may have been delivered, so it is reported as
unconfirmed and never posted again. A record that cannot be read is treated the
same way. Dry runs never open the ledger.

The directory is ``$OUTREACH_LEDGER_DIR``, or ``outreach-ledger`` under
``PREFECT_HOME`` (``~/.prefect`` by default). Delete it, or one key's file, to let
steps go out again.
"""

from __future__ import annotations

import os
import re
import threading
import time
from datetime import UTC, datetime
from pathlib import Path

from prefect.filesystems import LocalFileSystem
from prefect.results import ResultStore
from prefect.serializers import JSONSerializer
from prefect.settings import get_current_settings

from flows.campaign import BEGIN, FAILED, SENT

LEDGER_DIR_ENV = "OUTREACH_LEDGER_DIR"
KEEP_DAYS = 7
_KEY_NAME = re.compile(r"[0-9a-f]{32}")


def ledger_dir() -> Path:
    """Where the ledger lives: $OUTREACH_LEDGER_DIR, else PREFECT_HOME's subfolder."""
    configured = os.environ.get(LEDGER_DIR_ENV, "").strip()
    if configured:
        return Path(configured).expanduser()
    return Path(get_current_settings().home).expanduser() / "outreach-ledger"


class FileLedger:
    """A SentLedger whose records outlive the process.

    Lanes share one ledger; keys never repeat within a run (one key per lead and
    step), so the lock only guards the store's own state.
    """

    def __init__(self, directory: Path | None = None) -> None:
        self.directory = (directory or ledger_dir()).resolve()
        self.directory.mkdir(parents=True, exist_ok=True)
        self._store = ResultStore(
            result_storage=LocalFileSystem(basepath=str(self.directory)),
            serializer=JSONSerializer(),
            cache_result_in_memory=False,
        )
        self._lock = threading.Lock()
        self._prune()

    def state(self, key: str) -> str:
        """``sent``, ``failed``, ``begin``, or empty for a step never tried.

        A record that exists but cannot be read counts as ``begin``: the write that
        broke it may have been the one that followed a delivered request.
        """
        if not (self.directory / key).is_file():
            return ""
        try:
            with self._lock:
                value = self._store.read(key).result
        except Exception:  # a torn or foreign file: assume the worst, never resend
            return BEGIN
        if isinstance(value, dict) and value.get("state") in (BEGIN, SENT, FAILED):
            return str(value["state"])
        return BEGIN

    def begin(self, key: str) -> None:
        self._write(key, BEGIN)

    def record_sent(self, key: str) -> None:
        self._write(key, SENT)

    def record_failed(self, key: str) -> None:
        self._write(key, FAILED)

    def _write(self, key: str, state: str) -> None:
        value = {"state": state, "at": datetime.now(UTC).isoformat()}
        with self._lock:
            self._store.write(value, key=key)

    def _prune(self) -> None:
        # Keys carry their UTC day, so a record older than a few days is never read
        # again; drop those to keep the folder small. Only key-named files go.
        cutoff = time.time() - KEEP_DAYS * 86400
        for path in self.directory.iterdir():
            if not _KEY_NAME.fullmatch(path.name):
                continue
            try:
                if path.is_file() and path.stat().st_mtime < cutoff:
                    path.unlink()
            except OSError:
                continue
