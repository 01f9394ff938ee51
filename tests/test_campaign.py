from __future__ import annotations

from datetime import UTC, datetime

from flows.campaign import (
    FAILED,
    Campaign,
    CampaignSettings,
    compile_templates,
    fill_queue,
    summarize,
    work_lane,
)

SETTINGS = CampaignSettings(
    leads_csv_url="leads.csv",
    email_from="growth@example.com",
    email_subject_template="{{first_name}}",
    email_body_template="Hola {{first_name}}",
    enable_linkedin=False,
    enable_followup=False,
    dry_run=True,
)


def test_a_lead_that_breaks_costs_that_lead_only() -> None:
    templates = compile_templates(SETTINGS, ["email", "first_name"])
    campaign = Campaign(SETTINGS, templates, {"email": None}, datetime.now(UTC))
    # The second lead has no email key at all: run_lead cannot mask it.
    leads = [
        {"email": "ana@example.com", "first_name": "Ana"},
        {"first_name": "Bo"},
        {"email": "cy@example.com", "first_name": "Cy"},
    ]

    outcomes = work_lane(campaign, fill_queue([1, 2, 3], leads))

    assert [(o.row, o.outcome) for o in outcomes] == [
        (1, "simulated"),
        (2, FAILED),
        (3, "simulated"),
    ]
    assert outcomes[1].reason == "internal error (KeyError)"
    assert summarize(outcomes).failed == 1
