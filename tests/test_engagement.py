from __future__ import annotations

import httpx
import pytest

from flows.engagement import Engagement, check_engagement, engagement_url
from tests.receiver import Receiver, Reply


@pytest.mark.parametrize(
    ("base", "expected"),
    [
        ("http://h/check", "http://h/check?email=a%2Bb%40example.com"),
        ("http://h/check?k=1", "http://h/check?k=1&email=a%2Bb%40example.com"),
    ],
)
def test_email_is_added_to_the_query(base: str, expected: str) -> None:
    assert engagement_url(base, "a+b@example.com") == expected


ANSWERS = [
    pytest.param(
        Reply(200, body={"opened": True, "replied": False}),
        (True, False),
        "",
        id="opened",
    ),
    pytest.param(
        Reply(200, body={"opened": False, "replied": True}),
        (False, True),
        "",
        id="replied",
    ),
    pytest.param(
        Reply(200, body={"opened": "true"}),
        (False, False),
        "not true/false",
        id="string-bool",
    ),
    pytest.param(Reply(200, body="<html>"), (False, False), "not JSON", id="html"),
    pytest.param(Reply(200, body=[1, 2]), (False, False), "not an object", id="list"),
    pytest.param(Reply(500), (False, False), "HTTP 500", id="500"),
    pytest.param(Reply(200, delay=1.0), (False, False), "ReadTimeout", id="timeout"),
]


@pytest.mark.parametrize(("reply", "flags", "problem"), ANSWERS)
def test_engagement_answers(
    receiver: Receiver, reply: Reply, flags: tuple[bool, bool], problem: str
) -> None:
    receiver.script("/check", reply)

    with httpx.Client() as client:
        result = check_engagement(client, receiver.url("/check"), "a@example.com", 0.3)

    assert (result.opened, result.replied) == flags
    assert problem in result.problem
    assert bool(result.problem) == bool(problem)
    assert receiver.requests[0].query == {"email": ["a@example.com"]}


def test_default_is_not_engaged() -> None:
    assert Engagement() == Engagement(opened=False, replied=False, problem="")
