from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from email.utils import format_datetime

import httpx
import pytest

from flows.webhooks import (
    FAILED,
    GONE,
    MAX_BODY_BYTES,
    SENT,
    Hook,
    HookState,
    deliver,
    idempotency_key,
    read_capped,
    retry_after_seconds,
)
from tests.receiver import Receiver, Reply


@pytest.fixture
def client():
    with httpx.Client() as http:
        yield http


def _deliver(receiver: Receiver, client: httpx.Client, state=None, timeout=2.0):
    waits: list[float] = []
    hook = Hook("email", receiver.url(), {"Authorization": "Bearer t"}, timeout)
    delivery = deliver(
        client,
        hook,
        state or HookState(),
        {"step": "email_1"},
        "k1",
        sleep=waits.append,
    )
    return delivery, waits


def test_key_is_stable_per_lead_step_and_day() -> None:
    day = date(2026, 12, 4)
    key = idempotency_key("ana@example.com", "email_1", day)

    assert key == idempotency_key("ana@example.com", "email_1", day)
    assert key != idempotency_key("ana@example.com", "email_2", day)
    assert key != idempotency_key("bo@example.com", "email_1", day)
    assert key != idempotency_key("ana@example.com", "email_1", date(2026, 12, 5))
    assert "ana" not in key


RETRY_AFTER = [
    pytest.param("7", 7.0, id="seconds"),
    pytest.param("3600", 60.0, id="capped"),
    pytest.param("1m0s", None, id="go-duration"),
    pytest.param("soon", None, id="word"),
    pytest.param("", None, id="empty"),
    pytest.param("-5", None, id="negative"),
]


@pytest.mark.parametrize(("value", "expected"), RETRY_AFTER)
def test_retry_after_is_read_or_ignored(value: str, expected: float | None) -> None:
    assert retry_after_seconds(value) == expected


def test_retry_after_http_date_counts_from_now() -> None:
    now = datetime(2026, 12, 4, 10, 0, tzinfo=UTC)
    later = format_datetime(now + timedelta(seconds=30), usegmt=True)
    past = format_datetime(now - timedelta(seconds=30), usegmt=True)

    assert retry_after_seconds(later, now) == 30.0
    assert retry_after_seconds(past, now) == 0.0


@pytest.mark.parametrize("status", [408, 429, 500, 502, 503])
def test_retryable_status_is_tried_three_times(receiver, client, status: int) -> None:
    receiver.script("/hook", Reply(status), Reply(status), Reply(status))

    delivery, waits = _deliver(receiver, client)

    assert (delivery.outcome, delivery.status, delivery.attempts) == (FAILED, status, 3)
    assert waits == [2.0, 4.0]
    assert len(receiver.requests) == 3


def test_server_error_then_success_is_sent(receiver, client) -> None:
    receiver.script("/hook", Reply(500))

    delivery, waits = _deliver(receiver, client)

    assert (delivery.outcome, delivery.attempts, waits) == (SENT, 2, [2.0])
    assert {r.key for r in receiver.requests} == {"k1"}
    assert receiver.requests[0].headers["authorization"] == "Bearer t"


def test_retry_after_replaces_the_backoff(receiver, client) -> None:
    receiver.script("/hook", Reply(429, {"Retry-After": "1"}), Reply(503))

    delivery, waits = _deliver(receiver, client)

    assert delivery.outcome == SENT
    assert waits == [1.0, 4.0]


@pytest.mark.parametrize("status", [400, 401, 403, 404, 422])
def test_other_client_errors_are_not_retried(receiver, client, status: int) -> None:
    receiver.script("/hook", Reply(status, body="bad payload"))

    delivery, waits = _deliver(receiver, client)

    assert (delivery.outcome, delivery.status, delivery.attempts) == (FAILED, status, 1)
    assert waits == []


def test_timeout_is_retried_with_the_same_key(receiver, client) -> None:
    receiver.script("/hook", Reply(200, delay=1.0))

    delivery, waits = _deliver(receiver, client, timeout=0.3)

    assert (delivery.outcome, delivery.attempts, waits) == (SENT, 2, [2.0])
    assert [r.key for r in receiver.requests] == ["k1", "k1"]


def test_connection_refused_is_retried_then_fails(client) -> None:
    closed = Receiver()
    closed.close()
    waits: list[float] = []

    delivery = deliver(
        client, Hook("email", closed.url()), HookState(), {}, "k", sleep=waits.append
    )

    assert (delivery.outcome, delivery.status, delivery.attempts) == (FAILED, None, 3)
    assert delivery.detail == "ConnectError"
    assert waits == [2.0, 4.0]


def test_gone_hook_is_not_called_again(receiver, client) -> None:
    receiver.script("/hook", Reply(410))
    state = HookState()

    first, _ = _deliver(receiver, client, state)
    second, _ = _deliver(receiver, client, state)

    assert (first.outcome, first.attempts) == (GONE, 1)
    assert (second.outcome, second.attempts) == (GONE, 0)
    assert len(receiver.requests) == 1


def test_redirect_is_a_failure_not_followed(receiver, client) -> None:
    receiver.script("/hook", Reply(302, {"Location": "/elsewhere"}))

    delivery, _ = _deliver(receiver, client)

    assert (delivery.outcome, delivery.status) == (FAILED, 302)
    assert [r.path for r in receiver.requests] == ["/hook"]


def test_unicode_digits_in_retry_after_fall_back_to_the_backoff() -> None:
    assert retry_after_seconds("\u00b2") is None


def test_huge_answer_body_is_not_read_whole(receiver, client) -> None:
    receiver.script("/hook", Reply(200, body=b"x" * (8 * 1024 * 1024)))

    delivery, _ = _deliver(receiver, client)
    receiver.script("/big", Reply(200, body=b"x" * (8 * 1024 * 1024)))
    with client.stream("GET", receiver.url("/big")) as response:
        body = read_capped(response, 5.0)

    assert (delivery.outcome, delivery.attempts) == (SENT, 1)
    assert len(body) == MAX_BODY_BYTES
