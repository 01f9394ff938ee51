"""Every input in tests/cases/ (copied from the field reports), run for real
against a loopback webhook receiver, with the answer each case asks for."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.conftest import CASES, run_campaign
from tests.receiver import Receiver, Reply


def _case(name: str) -> str:
    return str(CASES / name)


def test_excel_bom_and_crlf_still_find_the_email_column(receiver: Receiver) -> None:
    state = run_campaign(
        leads_csv_url=_case("01-excel-bom-crlf.csv"), email_webhook_url=receiver.url()
    )

    assert state.is_completed(), state.message
    assert [r.json["to"] for r in receiver.requests] == ["ana@example.com"]
    assert receiver.requests[0].json["step"] == "email_1"


def test_semicolon_export_keeps_the_comma_inside_a_company(receiver: Receiver) -> None:
    state = run_campaign(
        leads_csv_url=_case("02-semicolon.csv"), email_webhook_url=receiver.url()
    )

    assert state.is_completed(), state.message
    subjects = {r.json["to"]: r.json["subject"] for r in receiver.requests}
    assert subjects == {
        "ana@example.com": "Ana, idea para Acme, S.L.",
        "bo@example.com": "Bo, idea para Beta",
    }


def test_messy_leads_are_cleaned_deduped_and_suppressed(receiver: Receiver) -> None:
    state = run_campaign(
        leads_csv_url=_case("03-messy-leads.csv"),
        suppression_csv_url=_case("03-suppression.csv"),
        email_webhook_url=receiver.url(),
    )

    assert state.is_completed(), state.message
    assert [r.json["to"] for r in receiver.requests] == ["ana@example.com"]
    summary = state.result()
    assert summary.leads == 1
    assert summary.dropped_by_reason == {
        "duplicate email": 1,
        "suppressed": 1,
        "no @ in email": 1,
        "invalid email": 1,
    }
    assert state.message.startswith(
        "1 lead(s), 4 row(s) dropped (duplicate email: 1, invalid email: 1, "
        "no @ in email: 1, suppressed: 1), 1 sent"
    )


def test_missing_column_fails_before_any_request(receiver: Receiver) -> None:
    state = run_campaign(
        leads_csv_url=_case("04-missing-column.csv"), email_webhook_url=receiver.url()
    )

    assert state.is_failed()
    assert receiver.requests == []
    assert "'company'" in state.message
    assert "email_subject_template" in state.message


def test_retry_after_seconds_then_garbage_then_success(receiver: Receiver) -> None:
    receiver.script(
        "/hook",
        Reply(429, {"Retry-After": "2"}),
        Reply(429, {"Retry-After": "1m0s"}),
        Reply(200),
    )

    state = run_campaign(
        leads_csv_url=_case("05-one-lead.csv"), email_webhook_url=receiver.url()
    )

    assert state.is_completed(), state.message
    attempts = receiver.requests
    assert len(attempts) == 3
    assert attempts[1].at - attempts[0].at >= 2.0
    assert 3.9 <= attempts[2].at - attempts[1].at < 8.0
    assert len({r.key for r in attempts}) == 1
    assert attempts[0].key
    assert "1 sent" in state.message


def test_three_429s_without_retry_after_fail_the_run(receiver: Receiver) -> None:
    receiver.script("/hook", Reply(429), Reply(429), Reply(429))

    state = run_campaign(
        leads_csv_url=_case("05-one-lead.csv"), email_webhook_url=receiver.url()
    )

    assert state.is_failed()
    assert len(receiver.requests) == 3
    assert "1 failed (HTTP 429: 1)" in state.message


def test_gone_hook_is_called_once_and_the_run_fails(receiver: Receiver) -> None:
    receiver.respond("/hook", lambda request: Reply(410))

    state = run_campaign(
        leads_csv_url=_case("06-three-leads.csv"), email_webhook_url=receiver.url()
    )

    assert state.is_failed()
    assert len(receiver.requests) == 1
    assert "3 failed (hook gone (410): 3)" in state.message


def test_timed_out_step_is_retried_with_the_same_key(
    receiver: Receiver, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    receiver.script("/email", Reply(200, delay=1.5), Reply(200))
    parameters = dict(
        leads_csv_url=_case("07-one-lead-linkedin.csv"),
        email_webhook_url=receiver.url("/email"),
        linkedin_webhook_url=receiver.url("/linkedin"),
        enable_linkedin=True,
        webhook_timeout_seconds=0.5,
    )

    first = run_campaign(**parameters)

    assert first.is_completed(), first.message
    emails, linkedin = receiver.to("/email"), receiver.to("/linkedin")
    assert len(emails) == 2 and len(linkedin) == 1
    assert emails[0].key == emails[1].key
    assert linkedin[0].key != emails[0].key

    # The same campaign again the same day, from a machine that lost its sent
    # ledger: the keys repeat, so the receiver can still tell it saw them.
    monkeypatch.setenv("OUTREACH_LEDGER_DIR", str(tmp_path / "fresh-ledger"))
    second = run_campaign(**parameters)

    assert second.is_completed(), second.message
    assert receiver.to("/email")[2].key == emails[0].key
    assert receiver.to("/linkedin")[1].key == linkedin[0].key


def test_same_day_rerun_with_the_ledger_sends_nothing_again(receiver: Receiver) -> None:
    parameters = dict(
        leads_csv_url=_case("07-one-lead-linkedin.csv"),
        email_webhook_url=receiver.url("/email"),
        linkedin_webhook_url=receiver.url("/linkedin"),
        enable_linkedin=True,
    )
    first = run_campaign(**parameters)
    assert first.is_completed(), first.message
    assert len(receiver.requests) == 2

    second = run_campaign(**parameters)

    assert second.is_completed(), second.message
    assert len(receiver.requests) == 2
    assert "0 sent" in second.message
    assert "2 skipped (already sent today: 2)" in second.message
