"""The deployment on a real Prefect server and process worker, as an operator runs it.

The server is set up with deployments/setup.sh and deployed from prefect.yaml with
``prefect deploy --all``; campaigns are started with ``prefect deployment run
--params``, by a schedule, and the way the UI's run form starts them. The last
test runs the server on PostgreSQL with two workers to show that the outreach_pool
limit holds across runs and workers.
"""

from __future__ import annotations

import json
import re
import shutil
import tempfile
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from flows.leads import load_leads
from tests.receiver import Receiver
from tests.services import (
    ROOT,
    Postgres,
    PrefectServer,
    postgres_bin,
    wait_for,
)

pytestmark = pytest.mark.server

DEPLOYMENT = "outreach-multichannel/campaign"
POOL = "outreach-process"
AIRFLOW_CONF = ROOT / "deployments" / "airflow-conf.json"
SAMPLE = load_leads(str(ROOT / "data" / "sample_leads.csv")).leads


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[PrefectServer]:
    """A server set up and deployed by the README's commands, with one worker."""
    prefect = PrefectServer(tmp_path_factory.mktemp("prefect-home"))
    try:
        first = prefect.run("bash", "deployments/setup.sh")
        again = prefect.run("bash", "deployments/setup.sh")
        assert "created" in first
        assert "created" not in again and "->" not in again, again
        prefect.run("prefect", "--no-prompt", "deploy", "--all", timeout=180)
        prefect.start_worker(POOL, "worker-1")
        yield prefect
    except BaseException:
        print(prefect.logs())
        raise
    finally:
        prefect.close()


def _run_with_cli(server: PrefectServer, parameters: dict[str, Any]) -> str:
    output = server.run(
        "prefect", "deployment", "run", DEPLOYMENT, "--params", json.dumps(parameters)
    )
    match = re.search(r"UUID: ([0-9a-f-]{36})", output)
    assert match, output
    return match.group(1)


def _form_parameters(server: PrefectServer) -> dict[str, Any]:
    """What the run form submits untouched: every parameter's default."""
    schema = server.deployment(DEPLOYMENT)["parameter_openapi_schema"]
    return {
        name: field["default"]
        for name, field in schema["properties"].items()
        if "default" in field
    }


def _scheduled_run(server: PrefectServer, deployment_id: str, sender: str) -> Any:
    found = server.api_call(
        "POST",
        "/flow_runs/filter",
        {
            "flow_runs": {"deployment_id": {"any_": [deployment_id]}},
            "sort": "EXPECTED_START_TIME_ASC",
        },
    )
    # The scheduler makes the next few runs at once; the first is the one due now.
    return next(
        (
            run
            for run in found
            if run["auto_scheduled"] and run["parameters"].get("email_from") == sender
        ),
        None,
    )


def _leads_file(path: Path, name: str, count: int) -> list[dict[str, str]]:
    """A lead CSV of its own: the sent ledger sends each lead a step once a day."""
    leads = [
        {
            "email": f"{name}{i}@example.com",
            "first_name": f"Lead{i}",
            "company": f"Co{i}",
            "linkedin_url": f"https://www.linkedin.com/in/{name}{i}" if i % 2 else "",
        }
        for i in range(count)
    ]
    lines = ["email,first_name,company,linkedin_url"]
    lines += [",".join(lead.values()) for lead in leads]
    path.write_text("\n".join(lines) + "\n")
    return leads


def _check_campaign(
    receiver: Receiver, prefix: str, sender: str, leads: list[dict[str, str]]
) -> None:
    """Every lead got a first email and a follow-up; LinkedIn if it has a profile."""
    emails = receiver.to(f"/{prefix}/email")
    by_step: dict[str, list[str]] = {}
    for request in emails:
        by_step.setdefault(request.json["step"], []).append(request.json["to"])
        assert request.json["from"] == sender
    wanted = sorted(lead["email"] for lead in leads)
    assert sorted(by_step["email_1"]) == wanted
    assert sorted(by_step["email_2"]) == wanted
    linkedin = receiver.to(f"/{prefix}/linkedin")
    assert sorted(r.json["linkedin_url"] for r in linkedin) == sorted(
        lead["linkedin_url"] for lead in leads if lead["linkedin_url"]
    )


def test_campaign_runs_from_cli_params_a_schedule_and_the_run_form(
    server: PrefectServer, tmp_path: Path
) -> None:
    scheduled_leads = _leads_file(tmp_path / "scheduled.csv", "sched", 4)
    form_leads = _leads_file(tmp_path / "form.csv", "form", 4)
    receiver = Receiver()
    deployment = server.deployment(DEPLOYMENT)
    try:
        # 1. The Airflow conf as it was, with its webhooks pointed at the receiver.
        conf = json.loads(AIRFLOW_CONF.read_text())
        conf["email_webhook_url"] = receiver.url("/cli/email")
        conf["linkedin_webhook_url"] = receiver.url("/cli/linkedin")
        cli_run = _run_with_cli(server, conf)

        # 2. A schedule of its own, due in a few seconds, with its own parameters.
        schedule_parameters = {
            "leads_csv_url": str(tmp_path / "scheduled.csv"),
            "email_from": "scheduled@example.com",
            "email_webhook_url": receiver.url("/sched/email"),
            "linkedin_webhook_url": receiver.url("/sched/linkedin"),
        }
        soon = datetime.now(UTC) + timedelta(seconds=5)
        created = server.api_call(
            "POST",
            f"/deployments/{deployment['id']}/schedules",
            [
                {
                    "schedule": {
                        "interval": 3600,
                        "anchor_date": soon.isoformat(),
                        "timezone": "UTC",
                    },
                    "active": True,
                    "parameters": schedule_parameters,
                }
            ],
        )
        schedule_id = created[0]["id"]

        # 3. What the UI's run form posts: every field, defaults left as they are.
        form = {
            **_form_parameters(server),
            "leads_csv_url": str(tmp_path / "form.csv"),
            "email_from": "form@example.com",
            "email_webhook_url": receiver.url("/ui/email"),
            "linkedin_webhook_url": receiver.url("/ui/linkedin"),
        }
        ui_run = server.api_call(
            "POST",
            f"/deployments/{deployment['id']}/create_flow_run",
            {"parameters": form, "state": {"type": "SCHEDULED"}},
        )["id"]

        scheduled = wait_for(
            "the scheduler to create the scheduled run",
            lambda: _scheduled_run(server, deployment["id"], "scheduled@example.com"),
            timeout=60,
            every=1,
        )
        runs = {
            "cli": server.wait_final(cli_run),
            "sched": server.wait_final(scheduled["id"]),
            "ui": server.wait_final(ui_run),
        }
        # Removing the schedule removes its later runs, which have not started.
        server.api_call(
            "DELETE", f"/deployments/{deployment['id']}/schedules/{schedule_id}"
        )
    finally:
        receiver.close()

    for name, run in runs.items():
        assert run["state"]["type"] == "COMPLETED", (name, run["state"])
    _check_campaign(receiver, "cli", "growth@example.com", SAMPLE)
    _check_campaign(receiver, "sched", "scheduled@example.com", scheduled_leads)
    _check_campaign(receiver, "ui", "form@example.com", form_leads)
    assert runs["sched"]["parameters"]["email_from"] == "scheduled@example.com"
    first = receiver.to("/cli/email")[0].json
    assert first["body"].startswith("Hola ") and first["body"].endswith("...")


# Every key of the Airflow DAG's conf: (type, default, minimum, maximum).
AIRFLOW_KEYS = {
    "leads_csv_url": ("string", None, None, None),
    "email_webhook_url": ("string", "", None, None),
    "linkedin_webhook_url": ("string", "", None, None),
    "email_from": ("string", None, None, None),
    "email_subject_template": (
        "string",
        "{{first_name}}, idea para {{company}}",
        None,
        None,
    ),
    "email_body_template": ("string", "Hola {{first_name}}", None, None),
    "linkedin_delay_days": ("integer", 2, 0, 365),
    "max_parallel_leads": ("integer", 16, 1, 128),
    "followup_delay_days": ("integer", 3, 0, 365),
    "email2_subject_template": (
        "string",
        "Re: {{first_name}}, idea para {{company}}",
        None,
        None,
    ),
    "email2_body_template": (
        "string",
        "Hola {{first_name}}, ¿pudiste ver mi correo anterior?",
        None,
        None,
    ),
    "suppression_csv_url": ("string", "", None, None),
    "business_hours_start_utc": ("integer", 9, 0, 23),
    "business_hours_end_utc": ("integer", 17, 0, 24),
    "enable_linkedin": ("boolean", True, None, None),
    "enable_followup": ("boolean", True, None, None),
    "dry_run": ("boolean", False, None, None),
    "engagement_check_url": ("string", "", None, None),
    "engagement_timeout_seconds": ("number", 5.0, None, 120),
    "skip_linkedin_if_opened": ("boolean", True, None, None),
    "skip_followup_if_replied": ("boolean", True, None, None),
}

# The form's order: what a campaign needs first, then timing, then flags.
FORM_ORDER = [
    "leads_csv_url",
    "email_from",
    "campaign_name",
    "suppression_csv_url",
    "email_webhook_url",
    "email_webhook_block",
    "linkedin_webhook_url",
    "linkedin_webhook_block",
    "email_subject_template",
    "email_body_template",
    "email2_subject_template",
    "email2_body_template",
    "business_hours_start_utc",
    "business_hours_end_utc",
    "linkedin_delay_days",
    "followup_delay_days",
    "max_parallel_leads",
    "engagement_check_url",
    "engagement_timeout_seconds",
    "webhook_timeout_seconds",
    "enable_linkedin",
    "enable_followup",
    "skip_linkedin_if_opened",
    "skip_followup_if_replied",
    "dry_run",
]


@pytest.mark.parametrize("key", sorted(AIRFLOW_KEYS))
def test_deployed_schema_holds_every_airflow_conf_key(
    server: PrefectServer, key: str
) -> None:
    schema = server.deployment(DEPLOYMENT)["parameter_openapi_schema"]
    field = schema["properties"][key]
    kind, default, minimum, maximum = AIRFLOW_KEYS[key]

    assert field["type"] == kind
    assert field.get("default") == default
    assert (default is None) == (key in schema["required"])
    assert field.get("minimum") == minimum
    assert field.get("maximum") == maximum
    assert field["title"] != key and len(field["description"]) > 20


def test_run_form_lists_parameters_in_campaign_order(server: PrefectServer) -> None:
    deployment = server.deployment(DEPLOYMENT)
    properties = deployment["parameter_openapi_schema"]["properties"]

    ordered = sorted(properties, key=lambda name: properties[name]["position"])
    assert ordered == FORM_ORDER
    assert properties["engagement_timeout_seconds"]["exclusiveMinimum"] == 0
    # No webhook URL is ever a default; Blocks hold the real ones.
    assert all(
        properties[name].get("default", "") == "" for name in ordered if "url" in name
    )
    example = deployment["schedules"][0]
    assert example["active"] is False
    assert example["schedule"]["timezone"] == "Europe/Madrid"
    assert deployment["pull_steps"] == [
        {"prefect.deployments.steps.set_working_directory": {"directory": str(ROOT)}}
    ]


def test_block_type_is_in_the_catalogue_with_secrets_masked(
    server: PrefectServer,
) -> None:
    block_type = server.api_call("GET", "/block_types/slug/outreach-webhook")
    schemas = server.api_call(
        "POST",
        "/block_schemas/filter",
        {"block_schemas": {"block_type_id": {"any_": [block_type["id"]]}}},
    )

    assert block_type["name"] == "Outreach Webhook"
    assert block_type["description"] and block_type["logo_url"] is None
    assert set(schemas[0]["fields"]["secret_fields"]) >= {"url", "headers.*"}


def _online_workers(server: PrefectServer) -> set[str]:
    workers = server.api_call("POST", f"/work_pools/{POOL}/workers/filter", {})
    return {worker["name"] for worker in workers if worker["status"] == "ONLINE"}


@pytest.fixture
def postgres() -> Iterator[Postgres]:
    if postgres_bin() is None:
        pytest.skip("PostgreSQL is not installed; .ci/run installs it")
    # Not under pytest's tmp dir: that is private to root and PostgreSQL is not.
    directory = Path(tempfile.mkdtemp(prefix="outreach-pg-"))
    database = Postgres(directory)
    yield database
    database.close()
    shutil.rmtree(directory, ignore_errors=True)


def test_outreach_pool_limit_holds_across_runs_and_workers_on_postgres(
    postgres: Postgres, tmp_path: Path
) -> None:
    limit = 2
    for name in ("a", "b"):
        _leads_file(tmp_path / f"leads-{name}.csv", name, 30)
    receiver = Receiver(latency=0.2)
    server = PrefectServer(tmp_path / "prefect-home", database_url=postgres.url)
    try:
        server.env["OUTREACH_POOL_LIMIT"] = str(limit)
        server.run("bash", "deployments/setup.sh")
        server.run("prefect", "--no-prompt", "deploy", "--all", timeout=180)
        # One run per worker at a time, so the two runs land on two workers.
        server.start_worker(POOL, "worker-a", limit=1)
        server.start_worker(POOL, "worker-b", limit=1)
        wait_for(
            "both workers to be online",
            lambda: _online_workers(server) >= {"worker-a", "worker-b"},
            timeout=120,
            every=1,
        )
        parameters = {
            "email_from": "growth@example.com",
            "email_webhook_url": receiver.url("/email"),
            "enable_linkedin": False,
            "enable_followup": False,
            "max_parallel_leads": 8,
        }
        run_ids = [
            _run_with_cli(
                server,
                {**parameters, "leads_csv_url": str(tmp_path / f"leads-{name}.csv")},
            )
            for name in ("a", "b")
        ]
        runs = [server.wait_final(run_id, timeout=240) for run_id in run_ids]
    except BaseException:
        print(server.logs())
        raise
    finally:
        server.close()
        receiver.close()

    assert [run["state"]["type"] for run in runs] == ["COMPLETED", "COMPLETED"]
    starts = sorted(run["start_time"] for run in runs)
    ends = sorted(run["end_time"] for run in runs)
    assert starts[1] < ends[0], "the two runs did not overlap"
    for worker in ("worker-a", "worker-b"):
        log = (server.home / f"{worker}.log").read_text()
        assert log.count("Beginning flow run") == 1, f"{worker} ran no run or two"
    assert len(receiver.to("/email")) == 60
    assert receiver.max_in_flight == limit
