"""The flow end to end, in-process, against a loopback receiver."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from blocks.outreach_webhook import OutreachWebhook
from tests.conftest import CASES, DATA, run_campaign
from tests.receiver import Receiver, Reply

LEADS = """email,first_name,last_name,company,linkedin_url,title
ana@example.com,Ana,Ruiz,Acme,https://www.linkedin.com/in/ana-example,CTO
bo@example.com,Bo,Li,Beta,,CEO
cy@example.com,Cy,Diaz,Gamma,https://www.linkedin.com/in/cy-example,COO
"""


@pytest.fixture
def leads(tmp_path: Path) -> str:
    path = tmp_path / "leads.csv"
    path.write_text(LEADS)
    return str(path)


def _all_steps(receiver: Receiver, leads: str, **extra):
    return run_campaign(
        leads_csv_url=leads,
        email_webhook_url=receiver.url("/email"),
        linkedin_webhook_url=receiver.url("/linkedin"),
        enable_linkedin=True,
        enable_followup=True,
        email2_subject_template="Re: {{company}}",
        email2_body_template="Hola de nuevo {{first_name}}\nSegunda línea",
        business_hours_start_utc=0,
        business_hours_end_utc=0,
        **extra,
    )


def _parse(run_at: str) -> datetime:
    return datetime.strptime(run_at, "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=UTC)


def test_payloads_follow_the_webhook_contract(receiver: Receiver, leads: str) -> None:
    before = datetime.now(UTC).replace(microsecond=0)
    state = _all_steps(receiver, leads, linkedin_delay_days=2, followup_delay_days=5)
    after = datetime.now(UTC)

    assert state.is_completed(), state.message
    emails = sorted((r.json for r in receiver.to("/email")), key=lambda p: p["step"])
    ana = [p for p in emails if p["to"] == "ana@example.com"]
    assert ana[0] == {
        "step": "email_1",
        "to": "ana@example.com",
        "from": "growth@example.com",
        "subject": "Ana, idea para Acme",
        "body": "Hola Ana",
        "run_at": ana[0]["run_at"],
        "lead": {
            "email": "ana@example.com",
            "first_name": "Ana",
            "last_name": "Ruiz",
            "company": "Acme",
            "linkedin_url": "https://www.linkedin.com/in/ana-example",
            "title": "CTO",
        },
    }
    assert ana[1]["subject"] == "Re: Acme"
    assert ana[1]["body"] == "Hola de nuevo Ana\nSegunda línea"
    linkedin = [r.json for r in receiver.to("/linkedin")]
    assert sorted(p["linkedin_url"] for p in linkedin) == [
        "https://www.linkedin.com/in/ana-example",
        "https://www.linkedin.com/in/cy-example",
    ]
    assert set(linkedin[0]) == {"step", "linkedin_url", "run_at", "lead"}

    first = _parse(ana[0]["run_at"])
    assert before <= first <= after
    assert _parse(linkedin[0]["run_at"]) - first == timedelta(days=2)
    assert _parse(ana[1]["run_at"]) - first == timedelta(days=5)
    assert len({p["run_at"] for p in emails if p["step"] == "email_1"}) == 1
    assert "6 sent" not in state.message and "8 sent" in state.message
    assert "no linkedin_url: 1" in state.message


def test_every_request_has_a_distinct_idempotency_key(receiver, leads) -> None:
    _all_steps(receiver, leads)

    keys = [r.key for r in receiver.requests]
    assert len(keys) == 8 and len(set(keys)) == 8
    assert all(
        r.headers["content-type"] == "application/json" for r in receiver.requests
    )


def test_opened_skips_linkedin_and_replied_skips_followup(receiver, leads) -> None:
    answers = {
        "ana@example.com": {"opened": True, "replied": False},
        "cy@example.com": {"opened": False, "replied": True},
    }
    receiver.respond(
        "/engagement",
        lambda request: Reply(
            body=answers.get(request.query["email"][0], {"opened": False})
        ),
    )

    state = _all_steps(
        receiver, leads, engagement_check_url=receiver.url("/engagement")
    )

    assert state.is_completed(), state.message
    sent = {
        (r.json["step"], r.json["lead"]["email"])
        for r in receiver.requests
        if r.method == "POST"
    }
    assert ("linkedin", "ana@example.com") not in sent
    assert ("linkedin", "cy@example.com") in sent
    assert ("email_2", "cy@example.com") not in sent
    assert ("email_2", "ana@example.com") in sent
    assert "opened: 1" in state.message and "replied: 1" in state.message


def test_engagement_flags_off_send_everything(receiver, leads) -> None:
    receiver.respond(
        "/engagement", lambda r: Reply(body={"opened": True, "replied": True})
    )

    state = _all_steps(
        receiver,
        leads,
        engagement_check_url=receiver.url("/engagement"),
        skip_linkedin_if_opened=False,
        skip_followup_if_replied=False,
    )

    assert len(receiver.to("/linkedin")) == 2
    assert len([r for r in receiver.to("/email") if r.json["step"] == "email_2"]) == 3
    assert state.is_completed()


def test_broken_engagement_endpoint_counts_as_not_engaged(receiver, leads) -> None:
    receiver.respond("/engagement", lambda r: Reply(500))

    state = _all_steps(
        receiver, leads, engagement_check_url=receiver.url("/engagement")
    )

    assert state.is_completed(), state.message
    assert len(receiver.to("/linkedin")) == 2
    assert "8 sent" in state.message


def test_dry_run_sends_nothing(receiver, leads) -> None:
    state = _all_steps(
        receiver, leads, dry_run=True, engagement_check_url=receiver.url("/engagement")
    )

    assert state.is_completed(), state.message
    assert receiver.requests == []
    assert "0 sent, 8 simulated" in state.message


def test_lead_with_an_empty_needed_value_is_skipped(receiver, tmp_path) -> None:
    path = tmp_path / "l.csv"
    path.write_text(
        "email,first_name,company\nana@example.com,,Acme\nbo@example.com,Bo,Beta\n"
    )

    state = run_campaign(leads_csv_url=str(path), email_webhook_url=receiver.url())

    assert state.is_completed(), state.message
    assert [r.json["to"] for r in receiver.requests] == ["bo@example.com"]
    assert "1 skipped (missing first_name: 1)" in state.message
    assert all("None" not in r.json["subject"] for r in receiver.requests)


def test_one_failing_lead_does_not_stop_the_others(receiver, leads) -> None:
    receiver.respond(
        "/email",
        lambda r: (
            Reply(400, body="bad") if r.json["to"] == "bo@example.com" else Reply()
        ),
    )

    state = _all_steps(receiver, leads)

    assert state.is_failed()
    assert "6 sent" in state.message
    assert "email_1 not sent: 2" in state.message
    assert "1 failed (HTTP 400: 1)" in state.message


def test_max_parallel_leads_bounds_requests_in_flight(tmp_path) -> None:
    path = tmp_path / "l.csv"
    path.write_text(
        "email,first_name,company\n"
        + "".join(f"u{i}@example.com,U{i},C{i}\n" for i in range(8))
    )
    slow = Receiver(latency=0.3)
    try:
        state = run_campaign(
            leads_csv_url=str(path), email_webhook_url=slow.url(), max_parallel_leads=3
        )
    finally:
        slow.close()

    assert state.is_completed(), state.message
    assert len(slow.requests) == 8
    assert slow.max_in_flight == 3


def test_webhook_comes_from_a_block_when_no_url_is_given(receiver) -> None:
    OutreachWebhook(
        url=receiver.url("/from-block"), headers={"X-Api-Key": "s3cret"}
    ).save("test-email-hook", overwrite=True)

    state = run_campaign(
        leads_csv_url=str(CASES / "05-one-lead.csv"),
        email_webhook_block="test-email-hook",
    )

    assert state.is_completed(), state.message
    (request,) = receiver.requests
    assert request.path == "/from-block"
    assert request.headers["x-api-key"] == "s3cret"


def test_url_parameter_wins_over_the_block(receiver) -> None:
    OutreachWebhook(url=receiver.url("/from-block")).save("test-hook-2", overwrite=True)

    run_campaign(
        leads_csv_url=str(CASES / "05-one-lead.csv"),
        email_webhook_url=receiver.url("/from-param"),
        email_webhook_block="test-hook-2",
    )

    assert [r.path for r in receiver.requests] == ["/from-param"]


def test_missing_block_fails_before_reading_leads(receiver) -> None:
    state = run_campaign(
        leads_csv_url="/nonexistent.csv", email_webhook_block="no-such-block"
    )

    assert state.is_failed()
    assert "email_webhook_block" in state.message
    assert "no-such-block" in state.message


def test_airflow_conf_runs_as_it_is(receiver) -> None:
    from flows.outreach_multichannel import outreach_multichannel

    conf = {
        "leads_csv_url": str(CASES / "07-one-lead-linkedin.csv"),
        "email_webhook_url": receiver.url("/email"),
        "linkedin_webhook_url": receiver.url("/linkedin"),
        "email_from": "growth@tu-dominio.com",
        "email_subject_template": "{{first_name}}, idea para {{company}}",
        "email_body_template": "Hola {{first_name}}...",
        "linkedin_delay_days": 2,
        "max_parallel_leads": 16,
    }
    conf = json.loads(json.dumps(conf))

    state = outreach_multichannel(**conf, return_state=True)

    assert state.is_completed(), state.message
    assert len(receiver.to("/email")) == 2
    assert len(receiver.to("/linkedin")) == 1


INVALID = [
    pytest.param(
        {"linkedin_delay_days": -1}, "linkedin_delay_days", id="negative-days"
    ),
    pytest.param(
        {"business_hours_start_utc": 25}, "business_hours_start_utc", id="hour-25"
    ),
    pytest.param({"max_parallel_leads": "three"}, "max_parallel_leads", id="three"),
    pytest.param({"email_from": "growth"}, "email_from", id="bad-sender"),
    pytest.param({"email_webhook_url": "ftp://x"}, "email_webhook_url", id="not-http"),
    pytest.param({"email_body_template": " "}, "email_body_template", id="empty-body"),
]


@pytest.mark.parametrize(("override", "parameter"), INVALID)
def test_invalid_parameter_fails_naming_it(receiver, override, parameter) -> None:
    parameters = {
        "leads_csv_url": "/nonexistent/leads.csv",
        "email_webhook_url": receiver.url(),
        **override,
    }

    state = run_campaign(**parameters)

    assert state.is_failed()
    assert parameter in state.message
    assert receiver.requests == []
    assert "nonexistent" not in state.message


def test_bundled_sample_runs_dry() -> None:
    state = run_campaign(
        leads_csv_url=str(DATA / "sample_leads.csv"),
        suppression_csv_url=str(DATA / "sample_suppression.csv"),
        enable_linkedin=True,
        enable_followup=True,
        email2_subject_template="Re: {{first_name}}",
        email2_body_template="Hola {{first_name}}",
        dry_run=True,
    )

    assert state.is_completed(), state.message
    summary = state.result()
    assert summary.leads == 4
    assert summary.dropped_by_reason == {
        "duplicate email": 1,
        "no @ in email": 1,
        "suppressed": 1,
    }
    assert summary.skipped_by_reason == {"no linkedin_url": 1}
