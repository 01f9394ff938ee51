"""Posting campaign steps to webhooks, with retries and the idempotency key.

A step is retried twice on a connection error, a timeout, 408, 429 or 5xx,
waiting 2 s then 4 s, or what the hook's ``Retry-After`` asks (capped at 60 s).
Every attempt of a step carries the same ``X-Idempotency-Key``. A 410 means the
hook was deleted: nothing more is posted to it for the rest of the run.
"""

from __future__ import annotations

import hashlib
import math
import re
import threading
import time
import urllib.parse
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from email.utils import parsedate_to_datetime
from typing import Any

import httpx

BACKOFF_SECONDS = (2.0, 4.0)
MAX_RETRY_AFTER_SECONDS = 60.0
RETRYABLE_STATUSES = frozenset({408, 429})
IDEMPOTENCY_HEADER = "X-Idempotency-Key"
MAX_BODY_BYTES = 64 * 1024
_HEADER_NAME = re.compile(r"[!#$%&'*+.^_`|~0-9A-Za-z-]+")
_HEADER_VALUE = re.compile(r"[\x20-\x7e\t]*")

SENT = "sent"
FAILED = "failed"
GONE = "gone"


@dataclass(frozen=True)
class Hook:
    """Where one channel's steps go. The URL and headers are secrets."""

    name: str
    url: str = field(repr=False)
    headers: Mapping[str, str] = field(default_factory=dict, repr=False)
    timeout: float = 10.0


@dataclass(frozen=True)
class Delivery:
    """How posting one step ended."""

    outcome: str
    status: int | None
    attempts: int
    detail: str = ""


class HookState:
    """What a run has learned about one hook, shared by every lane.

    The first request to a hook goes alone: the others wait for its answer, so a
    hook that answers 410 Gone is called exactly once in the run.
    """

    def __init__(self, first_answer_timeout: float = 300.0) -> None:
        self._lock = threading.Lock()
        self._answered = threading.Event()
        self._probe_taken = False
        self._first_answer_timeout = first_answer_timeout
        self.gone = False

    def take_turn(self) -> bool:
        """Wait for the hook's first answer; True for the caller sending the first."""
        with self._lock:
            if not self._probe_taken:
                self._probe_taken = True
                return True
        self._answered.wait(self._first_answer_timeout)
        return False

    def answered(self, status: int | None) -> None:
        if status == 410:
            self.gone = True
        self._answered.set()


def header_problem(name: str, value: str) -> str:
    """Why a request header cannot be sent as given, or empty if it can.

    The message names the header but never repeats its value, which may be a key.
    """
    if not _HEADER_NAME.fullmatch(name):
        return f"the header name {name!r} is not a valid HTTP header name"
    if name.lower() == IDEMPOTENCY_HEADER.lower():
        return f"the header {name!r} is set by the campaign itself; remove it"
    if not _HEADER_VALUE.fullmatch(value):
        return (
            f"the value of header {name!r} has a line break, a control character or "
            "a non-ASCII character"
        )
    return ""


def is_http_url(value: str) -> bool:
    """Whether a URL is http(s) with a host, the only kind a step is posted to."""
    parts = urllib.parse.urlsplit(value)
    return parts.scheme in ("http", "https") and bool(parts.hostname)


def idempotency_key(email: str, step: str, day: date) -> str:
    """Same for the same lead, step and UTC day; different otherwise."""
    digest = hashlib.sha256(f"{email}\n{step}\n{day.isoformat()}".encode())
    return digest.hexdigest()[:32]


def retry_after_seconds(value: str | None, now: datetime | None = None) -> float | None:
    """Seconds asked by a ``Retry-After`` header (seconds or HTTP date), or None."""
    if not value:
        return None
    value = value.strip()
    if value.isascii() and value.isdigit():
        return min(float(value), MAX_RETRY_AFTER_SECONDS)
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError):
        return None
    if when is None:
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    seconds = (when - (now or datetime.now(UTC))).total_seconds()
    if math.isnan(seconds):
        return None
    return min(max(seconds, 0.0), MAX_RETRY_AFTER_SECONDS)


def read_capped(response: httpx.Response, seconds: float) -> bytes:
    """At most MAX_BODY_BYTES of a streamed body, for at most about `seconds`.

    A body that is read to its end keeps the connection for the next request; a
    huge or trickling one is cut off, so it can hold neither memory nor a lane.
    """
    deadline = time.monotonic() + seconds
    chunks: list[bytes] = []
    size = 0
    for chunk in response.iter_bytes():
        chunks.append(chunk)
        size += len(chunk)
        if size >= MAX_BODY_BYTES or time.monotonic() > deadline:
            break
    return b"".join(chunks)[:MAX_BODY_BYTES]


def _retryable(status: int | None) -> bool:
    return status is None or status in RETRYABLE_STATUSES or status >= 500


def deliver(
    client: httpx.Client,
    hook: Hook,
    state: HookState,
    payload: Mapping[str, Any],
    key: str,
    *,
    sleep: Callable[[float], None] = time.sleep,
) -> Delivery:
    """POST one step, retrying what is worth retrying.

    Returns a Delivery whose outcome is ``sent`` (2xx), ``gone`` (410 now or
    earlier in the run) or ``failed`` (with the last status or error).
    """
    headers = {**hook.headers, IDEMPOTENCY_HEADER: key}
    attempts = 0
    for retry in range(len(BACKOFF_SECONDS) + 1):
        first = state.take_turn()
        if state.gone and not first:
            return Delivery(GONE, 410, attempts, "hook answered 410 Gone earlier")

        status: int | None = None
        retry_after: str | None = None
        try:
            with client.stream(
                "POST", hook.url, json=payload, headers=headers, timeout=hook.timeout
            ) as response:
                status = response.status_code
                retry_after = response.headers.get("retry-after")
                read_capped(response, hook.timeout)
            detail = f"HTTP {status}"
        except httpx.HTTPError as exc:
            # The exception text can hold the URL; keep only its kind.
            detail = type(exc).__name__
        finally:
            if first:
                state.answered(status)
        attempts += 1

        if status is not None and 200 <= status < 300:
            return Delivery(SENT, status, attempts, detail)
        if status == 410:
            state.answered(410)
            return Delivery(GONE, status, attempts, "hook answered 410 Gone")
        if not _retryable(status) or retry == len(BACKOFF_SECONDS):
            return Delivery(FAILED, status, attempts, detail)

        wait = retry_after_seconds(retry_after)
        sleep(BACKOFF_SECONDS[retry] if wait is None else wait)
    raise AssertionError("unreachable: the loop returns on its last attempt")
