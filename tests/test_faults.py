"""Every fault a campaign meets, injected for real through loopback servers.

Each case asserts the exact outcome: the requests the receiver got, what became of
each lead-step, the run's final state and its message.
"""

from __future__ import annotations

import socket
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from pathlib import Path

import pytest

from flows.campaign import MAX_CELL_CHARS
from tests.conftest import CASES, run_campaign, run_logs
from tests.receiver import Receiver, Recorded, Reply

ONE_LEAD = str(CASES / "05-one-lead.csv")
THREE_LEADS = str(CASES / "06-three-leads.csv")
LINKEDIN_LEAD = str(CASES / "07-one-lead-linkedin.csv")


def _summary(state):
    return state.result(raise_on_failure=False)


def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


# --- the webhook answers badly -------------------------------------------------


def test_500_then_200_is_sent_on_the_second_attempt(receiver: Receiver) -> None:
    receiver.script("/hook", Reply(500), Reply(200))

    state = run_campaign(leads_csv_url=ONE_LEAD, email_webhook_url=receiver.url())

    assert state.is_completed(), state.message
    assert len(receiver.requests) == 2
    assert receiver.requests[0].key == receiver.requests[1].key
    assert _summary(state).by_step["email_1"] == {"sent": 1}
    assert "1 sent, 0 skipped, 0 failed" in state.message


@pytest.mark.parametrize(
    ("retry_after", "least_wait"),
    [
        pytest.param("1", 1.0, id="seconds"),
        pytest.param("http-date 2 s ahead", 1.0, id="http-date"),
        pytest.param("1m0s", 2.0, id="garbage-falls-back-to-backoff"),
    ],
)
def test_429_waits_as_asked_then_sends(
    receiver: Receiver, retry_after: str, least_wait: float
) -> None:
    def answer(request: Recorded) -> Reply:
        if len(receiver.requests) > 1:
            return Reply(200)
        value = retry_after
        if value.startswith("http-date"):
            # Dated when answered; whole seconds, so 2 s ahead waits at least 1 s.
            ahead = datetime.now(UTC) + timedelta(seconds=2)
            value = format_datetime(ahead, usegmt=True)
        return Reply(429, {"Retry-After": value})

    receiver.respond("/hook", answer)

    state = run_campaign(leads_csv_url=ONE_LEAD, email_webhook_url=receiver.url())

    assert state.is_completed(), state.message
    first, second = receiver.requests
    assert second.at - first.at >= least_wait
    assert first.key == second.key
    assert "1 sent" in state.message


def test_timeout_stored_by_the_hook_is_retried_with_the_same_key(
    receiver: Receiver,
) -> None:
    receiver.script("/hook", Reply(200, delay=1.5), Reply(200))

    state = run_campaign(
        leads_csv_url=ONE_LEAD,
        email_webhook_url=receiver.url(),
        webhook_timeout_seconds=0.5,
    )

    assert state.is_completed(), state.message
    first, second = receiver.requests
    assert first.key == second.key
    assert first.json == second.json
    assert "1 sent" in state.message


def test_connection_refused_fails_the_step_after_three_tries() -> None:
    url = f"http://127.0.0.1:{_closed_port()}/hook"

    state = run_campaign(leads_csv_url=ONE_LEAD, email_webhook_url=url)

    assert state.is_failed()
    assert _summary(state).by_step["email_1"] == {"failed": 1}
    assert "1 failed (ConnectError: 1)" in state.message


def test_410_fails_every_step_after_one_request(receiver: Receiver) -> None:
    receiver.respond("/hook", lambda request: Reply(410))

    state = run_campaign(leads_csv_url=THREE_LEADS, email_webhook_url=receiver.url())

    assert state.is_failed()
    assert len(receiver.requests) == 1
    assert _summary(state).by_step["email_1"] == {"failed": 3}
    assert "3 failed (hook gone (410): 3)" in state.message


def test_4xx_with_a_body_is_not_retried(receiver: Receiver) -> None:
    receiver.script("/hook", Reply(422, body={"error": "field 'to' rejected"}))

    state = run_campaign(leads_csv_url=ONE_LEAD, email_webhook_url=receiver.url())

    assert state.is_failed()
    assert len(receiver.requests) == 1
    assert "1 failed (HTTP 422: 1)" in state.message
    assert "rejected" not in state.message


def test_failed_step_is_tried_again_by_a_rerun(receiver: Receiver) -> None:
    receiver.script("/hook", Reply(422))
    first = run_campaign(leads_csv_url=ONE_LEAD, email_webhook_url=receiver.url())
    assert first.is_failed()

    second = run_campaign(leads_csv_url=ONE_LEAD, email_webhook_url=receiver.url())

    assert second.is_completed(), second.message
    assert len(receiver.requests) == 2
    assert "1 sent" in second.message


# --- the engagement endpoint answers badly ---------------------------------------


@pytest.mark.parametrize(
    ("reply", "problem"),
    [
        pytest.param(
            Reply(200, delay=1.5), "request failed (ReadTimeout)", id="timeout"
        ),
        pytest.param(Reply(500), "answered HTTP 500", id="500"),
        pytest.param(
            Reply(200, body="<html>oops</html>"),
            "answered something that is not JSON",
            id="not-json",
        ),
        pytest.param(
            Reply(200, body={"opened": "true", "replied": False}),
            "answered 'opened'/'replied' that are not true/false",
            id="string-true",
        ),
    ],
)
def test_bad_engagement_answer_counts_as_not_engaged(
    receiver: Receiver, reply: Reply, problem: str
) -> None:
    receiver.respond("/engagement", lambda request: reply)

    state = run_campaign(
        leads_csv_url=LINKEDIN_LEAD,
        email_webhook_url=receiver.url("/email"),
        linkedin_webhook_url=receiver.url("/linkedin"),
        engagement_check_url=receiver.url("/engagement"),
        engagement_timeout_seconds=0.5,
        enable_linkedin=True,
        enable_followup=True,
        email2_subject_template="Re: {{first_name}}",
        email2_body_template="Hola otra vez {{first_name}}",
    )

    assert state.is_completed(), state.message
    assert [r.json["step"] for r in receiver.to("/email")] == ["email_1", "email_2"]
    assert len(receiver.to("/linkedin")) == 1
    assert len(receiver.to("/engagement")) == 1
    assert "3 sent, 0 skipped, 0 failed" in state.message
    warning = (
        f"engagement check for a***@example.com {problem}; "
        "treating the lead as not engaged"
    )
    assert warning in run_logs(state)


# --- the inputs are broken -------------------------------------------------------


@pytest.mark.parametrize(
    ("reply", "message"),
    [
        pytest.param(Reply(404), "answered HTTP 404", id="404"),
        pytest.param(
            Reply(200, {"Content-Type": "text/html"}, "<html><body>Sign in</body>"),
            "answered an HTML page, not a CSV file",
            id="html",
        ),
    ],
)
def test_leads_url_that_is_no_csv_fails_before_sending(
    receiver: Receiver, reply: Reply, message: str
) -> None:
    receiver.respond("/leads.csv", lambda request: reply)

    state = run_campaign(
        leads_csv_url=receiver.url("/leads.csv"), email_webhook_url=receiver.url()
    )

    assert state.is_failed()
    assert [r.path for r in receiver.requests] == ["/leads.csv"]
    assert "leads_csv_url" in state.message
    assert message in state.message


def test_missing_suppression_file_fails_before_sending(
    receiver: Receiver, tmp_path: Path
) -> None:
    state = run_campaign(
        leads_csv_url=ONE_LEAD,
        suppression_csv_url=str(tmp_path / "nowhere.csv"),
        email_webhook_url=receiver.url(),
    )

    assert state.is_failed()
    assert receiver.requests == []
    assert "suppression_csv_url: no file at" in state.message


def test_csv_with_only_a_header_fails_before_sending(
    receiver: Receiver, tmp_path: Path
) -> None:
    leads = tmp_path / "header-only.csv"
    leads.write_text("email,first_name,company\n")

    state = run_campaign(leads_csv_url=str(leads), email_webhook_url=receiver.url())

    assert state.is_failed()
    assert receiver.requests == []
    assert "leads_csv_url: the file has a header but no lead rows" in state.message


def test_50_mb_csv_runs_and_reports_every_dropped_row(
    receiver: Receiver, tmp_path: Path
) -> None:
    # One real lead, then the same address again and again: 50 MB, 1 request.
    leads = tmp_path / "big.csv"
    repeat = "ana@example.com,Ana,Acme\n"
    copies = 50 * 1024 * 1024 // len(repeat)
    leads.write_text("email,first_name,company\n" + repeat * copies)
    assert leads.stat().st_size >= 50 * 1024 * 1024 - len(repeat)

    state = run_campaign(leads_csv_url=str(leads), email_webhook_url=receiver.url())

    assert state.is_completed(), state.message
    assert len(receiver.requests) == 1
    summary = _summary(state)
    assert summary.leads == 1
    assert summary.dropped_by_reason == {"duplicate email": copies - 1}


def test_megabyte_cell_skips_its_lead_and_posts_the_others(
    receiver: Receiver, tmp_path: Path
) -> None:
    leads = tmp_path / "huge-cell.csv"
    huge = "A" * 1024 * 1024
    leads.write_text(
        "email,first_name,company\n"
        f"ana@example.com,Ana,Acme\nbo@example.com,{huge},Beta\n"
    )

    state = run_campaign(leads_csv_url=str(leads), email_webhook_url=receiver.url())

    assert state.is_completed(), state.message
    assert [r.json["to"] for r in receiver.requests] == ["ana@example.com"]
    reason = f"first_name longer than {MAX_CELL_CHARS} characters"
    assert f"1 sent, 1 skipped ({reason}: 1), 0 failed" in state.message


@pytest.mark.parametrize(
    ("template", "message"),
    [
        pytest.param(
            "Hola {{ first_name ",
            "syntax error on line 1: unexpected end of template",
            id="syntax-error",
        ),
        pytest.param(
            "Hola\n{% if first_name %}{{ first_name }",
            "syntax error on line 2",
            id="syntax-error-line-2",
        ),
        pytest.param("{{ ''.__class__.__mro__ }}", "reaches for '__", id="mro"),
        pytest.param(
            "{{ lipsum.__globals__ }}", "reaches for '__globals__'", id="lipsum"
        ),
        pytest.param(
            "{{ cycler.__init__.__globals__.os }}", "reaches for '__", id="cycler"
        ),
        pytest.param(
            "{{ first_name['__class__'] }}", "reaches for '__class__'", id="getitem"
        ),
        pytest.param(
            "{{ ''|attr('__class__') }}", "refused by the sandbox", id="attr-filter"
        ),
        pytest.param("{{ 'x' * 1000000000 }}", "repetition too large", id="repetition"),
    ],
)
def test_bad_template_is_refused_before_any_request(
    receiver: Receiver, template: str, message: str
) -> None:
    state = run_campaign(
        leads_csv_url=ONE_LEAD,
        email_webhook_url=receiver.url(),
        email_body_template=template,
    )

    assert state.is_failed()
    assert receiver.requests == []
    assert "template 'email_body_template'" in state.message
    assert message in state.message
