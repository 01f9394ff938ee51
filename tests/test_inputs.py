"""Bad input stops the campaign before its first request, with one clear message."""

from __future__ import annotations

import pytest

from blocks.outreach_webhook import OutreachWebhook
from tests.conftest import CASES, run_campaign
from tests.receiver import Receiver

ONE_LEAD = str(CASES / "05-one-lead.csv")


@pytest.mark.parametrize(
    ("parameters", "parameter", "message"),
    [
        pytest.param(
            {"linkedin_delay_days": -1},
            "linkedin_delay_days",
            "greater than or equal to 0",
            id="negative-days",
        ),
        pytest.param(
            {"followup_delay_days": 400},
            "followup_delay_days",
            "less than or equal to 365",
            id="days-over-a-year",
        ),
        pytest.param(
            {"business_hours_start_utc": 25},
            "business_hours_start_utc",
            "less than or equal to 23",
            id="hour-25",
        ),
        pytest.param(
            {"followup_delay_days": "three"},
            "followup_delay_days",
            "valid integer",
            id="three-for-an-int",
        ),
        pytest.param(
            {"max_parallel_leads": 0},
            "max_parallel_leads",
            "greater than or equal to 1",
            id="no-lanes",
        ),
        pytest.param(
            {"webhook_timeout_seconds": 0},
            "webhook_timeout_seconds",
            "greater than 0",
            id="zero-timeout",
        ),
        pytest.param(
            {"email_from": "growth.example.com"},
            "email_from",
            "is not an email address",
            id="bad-email-from",
        ),
        pytest.param(
            {"email_webhook_url": "ftp://hooks.example.com/abc"},
            "email_webhook_url",
            "is not an http(s) URL with a host",
            id="ftp-webhook",
        ),
        pytest.param(
            {"engagement_check_url": "javascript:alert(1)"},
            "engagement_check_url",
            "is not an http(s) URL with a host",
            id="javascript-engagement",
        ),
        pytest.param(
            {"leads_csv_url": "  "},
            "leads_csv_url",
            "is empty",
            id="no-leads",
        ),
        pytest.param(
            {"email_subject_template": ""},
            "email_subject_template",
            "is empty",
            id="empty-subject",
        ),
    ],
)
def test_bad_parameter_is_named_and_nothing_is_sent(
    receiver: Receiver, parameters: dict, parameter: str, message: str
) -> None:
    state = run_campaign(
        **{"leads_csv_url": ONE_LEAD, "email_webhook_url": receiver.url(), **parameters}
    )

    assert state.is_failed()
    assert receiver.requests == []
    assert parameter in state.message
    assert message in state.message


def test_webhook_url_in_a_parameter_error_is_never_echoed(receiver: Receiver) -> None:
    secret = "ftp://hooks.example.com/catch/s3cr3t-token"

    state = run_campaign(leads_csv_url=ONE_LEAD, email_webhook_url=secret)

    assert state.is_failed()
    assert "s3cr3t-token" not in state.message


@pytest.mark.parametrize(
    ("headers", "message"),
    [
        pytest.param(
            {"X-Api-Key": "abc\r\nX-Injected: 1"},
            "the value of header 'X-Api-Key' has a line break",
            id="line-break",
        ),
        pytest.param(
            {"X-Api-Key": "clé"},
            "the value of header 'X-Api-Key' has a line break, a control character "
            "or a non-ASCII character",
            id="non-ascii",
        ),
        pytest.param(
            {"Bad Header": "1"},
            "the header name 'Bad Header' is not a valid HTTP header name",
            id="space-in-name",
        ),
        pytest.param(
            {"x-idempotency-key": "fixed"},
            "is set by the campaign itself",
            id="idempotency-key",
        ),
    ],
)
def test_bad_header_in_a_block_is_named_before_any_request(
    receiver: Receiver, headers: dict[str, str], message: str
) -> None:
    OutreachWebhook(url=receiver.url(), headers=headers).save(
        "bad-headers", overwrite=True
    )

    state = run_campaign(leads_csv_url=ONE_LEAD, email_webhook_block="bad-headers")

    assert state.is_failed()
    assert receiver.requests == []
    assert "email_webhook_block" in state.message
    assert "'bad-headers'" in state.message
    assert message in state.message
    assert "abc" not in state.message and "fixed" not in state.message


def test_block_url_that_is_not_http_is_refused_before_any_request(
    receiver: Receiver,
) -> None:
    OutreachWebhook(url="ftp://127.0.0.1/hook-secret").save("ftp-hook", overwrite=True)

    state = run_campaign(leads_csv_url=ONE_LEAD, email_webhook_block="ftp-hook")

    assert state.is_failed()
    assert receiver.requests == []
    assert "'ftp-hook': its url is not an http(s) URL" in state.message
    assert "hook-secret" not in state.message


def test_unknown_column_in_the_follow_up_is_found_before_the_first_email(
    receiver: Receiver,
) -> None:
    state = run_campaign(
        leads_csv_url=ONE_LEAD,
        email_webhook_url=receiver.url(),
        enable_followup=True,
        email2_subject_template="Re: {{ first_name }}",
        email2_body_template="Hola\n\n{{ job_title }}",
    )

    assert state.is_failed()
    assert receiver.requests == []
    assert "template 'email2_body_template'" in state.message
    assert "'job_title'" in state.message
