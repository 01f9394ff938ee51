"""How close the outreach flow runs to the bound its webhooks set.

A campaign of N leads, k requests each, against webhooks that answer in L seconds,
with at most P requests at once, cannot take less than N*k*L/P. This script runs
the real flow (not dry) against a loopback receiver with a chosen latency, with
the ``outreach_pool`` tag limit created at P on a Prefect server on 127.0.0.1,
and compares it with that bound and with a plain asyncio + httpx loop doing the
same requests. It also times loading 100k messy leads on their own.

Every flow run, floor run and load run is its own process, so its peak memory is
its own (``ru_maxrss`` from ``wait4``). Run it from the repository root:

    .venv/bin/python benchmarks/bench_campaign.py            # the full table
    .venv/bin/python benchmarks/bench_campaign.py --sizes 50 --latencies-ms 0 \\
        --load-size 50 --two-runs 0 --server embedded --out /tmp/results.md
"""

from __future__ import annotations

import argparse
import asyncio
import csv
import datetime as dt
import json
import os
import platform
import random
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

STEPS_PER_LEAD = 3  # first email, LinkedIn action, follow-up: every lead has all three
SERVER_START_SECONDS = 120.0


@dataclass
class FlowRow:
    """One flow run and its floor, at one size and latency."""

    leads: int
    latency_ms: float
    parallel: int
    requests: int
    expected_requests: int
    state: str
    process_seconds: float
    call_seconds: float
    run_seconds: float
    bound_seconds: float
    max_in_flight: int
    peak_mb: float
    floor_seconds: float | None = None
    floor_requests: int | None = None
    floor_max_in_flight: int | None = None

    @property
    def efficiency(self) -> float | None:
        """Bound over the whole process's wall time; None at 0 ms."""
        return self.bound_seconds / self.process_seconds if self.bound_seconds else None

    @property
    def run_efficiency(self) -> float | None:
        """Bound over the flow run's own time (Running to its final state)."""
        return self.bound_seconds / self.run_seconds if self.bound_seconds else None

    @property
    def requests_per_second(self) -> float:
        return self.requests / self.run_seconds if self.run_seconds else 0.0

    @property
    def floor_requests_per_second(self) -> float | None:
        if not self.floor_seconds or self.floor_requests is None:
            return None
        return self.floor_requests / self.floor_seconds

    def as_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data.update(
            efficiency=self.efficiency,
            run_efficiency=self.run_efficiency,
            requests_per_second=self.requests_per_second,
            floor_requests_per_second=self.floor_requests_per_second,
        )
        return data


@dataclass
class Results:
    machine: dict[str, str]
    parallel: int
    receiver: str
    server: str
    flows: list[FlowRow] = field(default_factory=list)
    load: dict[str, Any] | None = None
    two_runs: dict[str, Any] | None = None

    def targets(self) -> list[tuple[str, str, bool]]:
        """(target, measured, met) for each target the rows allow judging."""
        out: list[tuple[str, str, bool]] = []
        by_key = {(row.leads, row.latency_ms): row for row in self.flows}
        slow = by_key.get((10_000, 100.0))
        if slow is not None and slow.efficiency is not None:
            out.append(
                (
                    "10k leads at 100 ms: efficiency >= 0.8 (process wall time)",
                    f"{slow.efficiency:.2f} (flow run alone {slow.run_efficiency:.2f})",
                    slow.efficiency >= 0.8,
                )
            )
        for row in self.flows:
            out.append(
                (
                    f"{row.leads} leads at {row.latency_ms:g} ms: in flight <= "
                    f"{self.parallel}",
                    str(row.max_in_flight),
                    row.max_in_flight <= self.parallel,
                )
            )
        for row in self.flows:
            floor = row.floor_requests_per_second
            if row.latency_ms == 0 and floor:
                out.append(
                    (
                        f"{row.leads} leads at 0 ms: req/s >= 1/3 of the httpx loop",
                        f"{row.requests_per_second:.0f} vs {floor:.0f} "
                        f"({row.requests_per_second / floor:.2f})",
                        row.requests_per_second >= floor / 3,
                    )
                )
        if self.load is not None:
            out.append(
                (
                    f"loading {self.load['rows']} rows: < 5 s and < 500 MB",
                    f"{self.load['seconds']:.2f} s, {self.load['peak_mb']:.0f} MB",
                    self.load["seconds"] < 5 and self.load["peak_mb"] < 500,
                )
            )
        for latency in sorted({row.latency_ms for row in self.flows}):
            small, large = by_key.get((1000, latency)), by_key.get((10_000, latency))
            if small and large:
                ratio = large.run_seconds / small.run_seconds
                process_ratio = large.process_seconds / small.process_seconds
                out.append(
                    (
                        f"10k costs <= 11x 1k at {latency:g} ms (flow run time)",
                        f"{ratio:.1f}x (whole process {process_ratio:.1f}x)",
                        ratio <= 11,
                    )
                )
        if self.two_runs is not None:
            out.append(
                (
                    f"two runs at once: in flight <= {self.parallel}",
                    str(self.two_runs["max_in_flight"]),
                    self.two_runs["max_in_flight"] <= self.parallel
                    and all(s == "Completed" for s in self.two_runs["states"]),
                )
            )
        return out

    def markdown(self) -> str:
        lines = [
            "# Benchmark results",
            "",
            f"Machine: {self.machine['cpu']}, {self.machine['cores']} cores, "
            f"{self.machine['memory']} RAM; {self.machine['os']}; Python "
            f"{self.machine['python']}; Prefect {self.machine['prefect']}. "
            f"Run {self.machine['date']}.",
            "",
            f"P = {self.parallel} lanes, tag limit `outreach_pool` = {self.parallel}, "
            f"k = {STEPS_PER_LEAD} requests per lead, Prefect server: {self.server}, "
            f"receiver: {self.receiver}.",
            "",
            "| leads | latency | requests | process s | flow run s | bound s "
            "| efficiency (process / run) | req/s | max in flight | peak MB "
            "| httpx loop s | httpx loop req/s | loop in flight |",
            "|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
        ]
        for row in self.flows:
            eff = (
                f"{row.efficiency:.2f} / {row.run_efficiency:.2f}"
                if row.efficiency is not None
                else "n/a"
            )
            floor_rps = row.floor_requests_per_second
            lines.append(
                f"| {row.leads} | {row.latency_ms:g} ms | {row.requests} "
                f"| {row.process_seconds:.1f} | {row.run_seconds:.1f} "
                f"| {row.bound_seconds:.1f} | {eff} | {row.requests_per_second:.0f} "
                f"| {row.max_in_flight} | {row.peak_mb:.0f} "
                f"| {_fmt(row.floor_seconds, '.1f')} | {_fmt(floor_rps, '.0f')} "
                f"| {_fmt(row.floor_max_in_flight, 'd')} |"
            )
        if self.load is not None:
            lines += [
                "",
                "Loading alone (read, normalize, dedupe, suppress; no Prefect):",
                "",
                "| rows | suppression rows | leads kept | rows dropped | seconds "
                "| peak MB |",
                "|---:|---:|---:|---:|---:|---:|",
                f"| {self.load['rows']} | {self.load['suppression_rows']} "
                f"| {self.load['kept']} | {self.load['dropped']} "
                f"| {self.load['seconds']:.2f} | {self.load['peak_mb']:.0f} |",
            ]
        if self.two_runs is not None:
            t = self.two_runs
            lines += [
                "",
                f"Two runs at once, {t['leads']} leads each at {t['latency_ms']:g} ms, "
                f"each with {self.parallel} lanes: states {', '.join(t['states'])}; "
                f"{t['requests']} requests in {t['seconds']:.1f} s; most in flight "
                f"{t['max_in_flight']}.",
            ]
        lines += ["", "| target | measured | met |", "|---|---|---|"]
        for target, measured, met in self.targets():
            lines.append(f"| {target} | {measured} | {'yes' if met else 'NO'} |")
        lines += [
            "",
            "process s: the flow's whole process, from exec to exit (imports, "
            "connecting to the server, the run). flow run s: the run's own time "
            "from Running to its final state, as the Prefect API records it; req/s "
            "is requests over that. bound s = requests x latency / P.",
            "",
        ]
        return "\n".join(lines)


def _fmt(value: float | int | None, spec: str) -> str:
    return "-" if value is None else format(value, spec)


# --- inputs -----------------------------------------------------------------------


def write_clean_leads(path: Path, n: int) -> None:
    """N distinct, valid leads, each with a LinkedIn URL: N*k requests exactly."""
    with path.open("w", newline="") as handle:
        out = csv.writer(handle)
        out.writerow(["email", "first_name", "last_name", "company", "linkedin_url"])
        for i in range(n):
            out.writerow(
                [
                    f"lead{i}@company{i % 997}.com",
                    f"First{i}",
                    f"Last{i}",
                    f"Company {i % 997}",
                    f"https://www.linkedin.com/in/lead{i}",
                ]
            )


def write_messy_leads(leads: Path, suppression: Path, n: int, seed: int = 4) -> None:
    """N rows the way exports look: case, mailto:, repeats, junk, placeholders."""
    rng = random.Random(seed)
    with leads.open("w", newline="") as handle:
        out = csv.writer(handle)
        out.writerow(
            ["Email Address", "First Name", "Last Name", "Company", "LinkedIn"]
        )
        for i in range(n):
            roll = rng.random()
            if roll < 0.01:
                email = f"no-at-sign-{i}"
            elif roll < 0.015:
                email = f"bad..dots{i}@company{i % 997}.com"
            elif roll < 0.035 and i:
                email = f"LEAD{rng.randrange(i)}@Company{i % 997}.com"
            elif roll < 0.045:
                email = f"mailto:lead{i}@company{i % 997}.com"
            else:
                email = f" Lead{i}@company{i % 997}.com "
            company = "N/A" if rng.random() < 0.01 else f"Company {i % 997}"
            out.writerow([email, f"First{i}", f"Last{i}", company, ""])
    with suppression.open("w", newline="") as handle:
        out = csv.writer(handle)
        out.writerow(["email"])
        for i in range(0, n, 50):
            out.writerow([f"lead{i}@company{i % 997}.com"])


# --- processes --------------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def child_env(home: Path, api_url: str | None) -> dict[str, str]:
    """The environment of every child: no inherited Prefect settings."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("PREFECT_")}
    env.update(
        PREFECT_HOME=str(home),
        PREFECT_SERVER_ANALYTICS_ENABLED="false",
        PYTHONPATH=str(ROOT),
    )
    if api_url:
        env["PREFECT_API_URL"] = api_url
    return env


def run_child(
    mode: str, spec: dict[str, Any], env: dict[str, str], workdir: Path, timeout: float
) -> tuple[dict[str, Any], float, float]:
    """Run this script as a child; returns (its JSON result, wall s, peak MB)."""
    spec_path = workdir / f"{mode}-{time.monotonic_ns()}.json"
    spec_path.write_text(json.dumps(spec))
    log_path = spec_path.with_suffix(".log")
    started = time.perf_counter()
    with log_path.open("wb") as log:
        proc = subprocess.Popen(
            [sys.executable, __file__, "--child", mode, "--spec", str(spec_path)],
            env=env,
            cwd=ROOT,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        status, usage = _wait(proc, timeout)
    wall = time.perf_counter() - started
    if status != 0:
        tail = log_path.read_text(errors="replace")[-3000:]
        raise RuntimeError(
            f"the {mode} child exited with {status}; its log ends:\n{tail}"
        )
    result = json.loads(spec_path.with_suffix(".out").read_text())
    return result, wall, usage.ru_maxrss / 1024


def _wait(proc: subprocess.Popen, timeout: float) -> tuple[int, Any]:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        pid, status, usage = os.wait4(proc.pid, os.WNOHANG)
        if pid:
            proc.returncode = os.waitstatus_to_exitcode(status)
            return proc.returncode, usage
        time.sleep(0.05)
    # A flow waiting for slots may ignore SIGTERM; this child is ours, so kill it.
    os.kill(proc.pid, signal.SIGKILL)
    os.wait4(proc.pid, 0)
    raise TimeoutError(f"a benchmark child ran past its {timeout:.0f} s budget")


class LocalServer:
    """``prefect server start`` on 127.0.0.1 and a free port, with its own home."""

    def __init__(self, home: Path, log: Path) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}/api"
        env = child_env(home, None)
        env.update(
            PREFECT_SERVER_API_HOST="127.0.0.1",
            PREFECT_SERVER_API_PORT=str(self.port),
            PREFECT_UI_ENABLED="false",
        )
        prefect = Path(sys.executable).parent / "prefect"
        self._log = log.open("wb")
        self._proc = subprocess.Popen(
            [str(prefect), "server", "start"],
            env=env,
            stdout=self._log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        deadline = time.monotonic() + SERVER_START_SECONDS
        while time.monotonic() < deadline:
            if self._proc.poll() is not None:
                raise RuntimeError(f"prefect server start exited; see {log}")
            try:
                with urllib.request.urlopen(f"{self.url}/health", timeout=2) as reply:
                    if reply.status == 200:
                        return
            except OSError:
                time.sleep(0.5)
        self.close()
        raise RuntimeError(
            f"the Prefect server did not answer within {SERVER_START_SECONDS} s"
        )

    def close(self) -> None:
        # The server runs in its own session; stop that group, which we started.
        if self._proc.poll() is None:
            os.killpg(self._proc.pid, signal.SIGTERM)
            try:
                self._proc.wait(20)
            except subprocess.TimeoutExpired:
                os.killpg(self._proc.pid, signal.SIGKILL)
                self._proc.wait(10)
        self._log.close()


# --- children ---------------------------------------------------------------------


def _ensure_pool_limit(limit: int) -> None:
    from prefect import get_client

    from flows.outreach_multichannel import CONCURRENCY_TAG

    with get_client(sync_client=True) as client:
        client.create_concurrency_limit(tag=CONCURRENCY_TAG, concurrency_limit=limit)
        found = client.read_concurrency_limit_by_tag(CONCURRENCY_TAG)
    if found.concurrency_limit != limit:
        raise RuntimeError(
            f"the {CONCURRENCY_TAG!r} limit is {found.concurrency_limit}, not {limit}"
        )


def child_flow(spec: dict[str, Any]) -> dict[str, Any]:
    """Run the flow once, for real, and time the call and the run."""
    # Each run its own sent ledger (the same lead file is run more than once) and
    # its reports in the work directory, not in the repository.
    os.environ["OUTREACH_LEDGER_DIR"] = tempfile.mkdtemp(
        prefix="ledger-", dir=spec["workdir"]
    )
    os.environ["OUTREACH_REPORT_DIR"] = str(Path(spec["workdir"]) / "reports")
    from prefect import get_client

    from flows.outreach_multichannel import outreach_multichannel

    _ensure_pool_limit(spec["parallel"])
    started = time.perf_counter()
    state = outreach_multichannel(**spec["parameters"], return_state=True)
    call_seconds = time.perf_counter() - started
    with get_client(sync_client=True) as client:
        run = client.read_flow_run(state.state_details.flow_run_id)
    run_seconds = (run.end_time - run.start_time).total_seconds()
    return {
        "state": state.name,
        "message": state.message,
        "call_seconds": call_seconds,
        "run_seconds": run_seconds,
    }


def child_floor(spec: dict[str, Any]) -> dict[str, Any]:
    """The same requests from a plain asyncio + httpx loop, P at once."""
    import httpx

    async def main() -> float:
        leads, parallel = spec["leads"], spec["parallel"]
        jobs = [(i, step) for i in range(leads) for step in range(STEPS_PER_LEAD)]
        limits = httpx.Limits(
            max_connections=parallel, max_keepalive_connections=parallel
        )
        async with httpx.AsyncClient(limits=limits, timeout=30) as client:

            async def lane(start: int) -> None:
                for i, step in jobs[start::parallel]:
                    payload = {
                        "step": step,
                        "to": f"lead{i}@company{i % 997}.com",
                        "subject": f"First{i}, idea para Company {i % 997}",
                        "body": f"Hola First{i}",
                        "lead": {"email": f"lead{i}@company{i % 997}.com"},
                    }
                    url = spec["urls"][step]
                    response = await client.post(url, json=payload)
                    response.raise_for_status()

            started = time.perf_counter()
            await asyncio.gather(*(lane(n) for n in range(parallel)))
            return time.perf_counter() - started

    return {"seconds": asyncio.run(main())}


def child_load(spec: dict[str, Any]) -> dict[str, Any]:
    """Read, normalize, dedupe and suppress a lead file; no Prefect."""
    from flows.leads import load_leads, load_suppression, suppress

    started = time.perf_counter()
    leads = suppress(load_leads(spec["leads"]), load_suppression(spec["suppression"]))
    seconds = time.perf_counter() - started
    return {"seconds": seconds, "kept": len(leads.leads), "dropped": len(leads.dropped)}


CHILDREN = {"flow": child_flow, "floor": child_floor, "load": child_load}


# --- the benchmark ----------------------------------------------------------------


def machine() -> dict[str, str]:
    from importlib.metadata import version

    cpu = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
        mem_kb = int(Path("/proc/meminfo").read_text().split()[1])
        memory = f"{mem_kb / 1024 / 1024:.0f} GB"
    except (OSError, ValueError, IndexError):
        memory = "unknown"
    return {
        "cpu": cpu,
        "cores": str(os.cpu_count()),
        "memory": memory,
        "os": platform.platform(),
        "python": platform.python_version(),
        "prefect": version("prefect"),
        "date": dt.datetime.now(dt.UTC).strftime("%Y-%m-%d %H:%M UTC"),
    }


def make_receiver(kind: str, latency: float) -> Any:
    if kind == "threaded":
        from tests.receiver import Receiver

        return Receiver(latency=latency)
    from benchmarks.receiver import FastReceiver

    return FastReceiver(latency=latency)


def received(receiver: Any) -> int:
    return receiver.count if hasattr(receiver, "count") else len(receiver.requests)


def flow_parameters(csv_path: Path, receiver: Any, parallel: int) -> dict[str, Any]:
    return {
        "leads_csv_url": str(csv_path),
        "email_from": "bench@example.com",
        "email_webhook_url": receiver.url("/email"),
        "linkedin_webhook_url": receiver.url("/linkedin"),
        "email_webhook_block": "",
        "linkedin_webhook_block": "",
        "max_parallel_leads": parallel,
        "enable_linkedin": True,
        "enable_followup": True,
        # Equal hours: the window is always open, so every step is posted now.
        "business_hours_start_utc": 0,
        "business_hours_end_utc": 0,
        "dry_run": False,
    }


def measure_flow(
    n: int, latency: float, args: argparse.Namespace, env: dict[str, str], work: Path
) -> FlowRow:
    csv_path = work / f"leads-{n}.csv"
    if not csv_path.exists():
        write_clean_leads(csv_path, n)
    expected = n * STEPS_PER_LEAD
    bound = expected * latency / args.parallel
    budget = 300 + 4 * bound + n * 0.05

    receiver = make_receiver(args.receiver, latency)
    try:
        spec = {
            "parallel": args.parallel,
            "workdir": str(work),
            "parameters": flow_parameters(csv_path, receiver, args.parallel),
        }
        result, wall, peak = run_child("flow", spec, env, work, budget)
        row = FlowRow(
            leads=n,
            latency_ms=latency * 1000,
            parallel=args.parallel,
            requests=received(receiver),
            expected_requests=expected,
            state=result["state"],
            process_seconds=wall,
            call_seconds=result["call_seconds"],
            run_seconds=result["run_seconds"],
            bound_seconds=bound,
            max_in_flight=receiver.max_in_flight,
            peak_mb=peak,
        )
    finally:
        receiver.close()

    if args.floor:
        receiver = make_receiver(args.receiver, latency)
        try:
            urls = [receiver.url(p) for p in ("/email", "/linkedin", "/email")]
            spec = {"leads": n, "parallel": args.parallel, "urls": urls}
            result, _, _ = run_child("floor", spec, env, work, budget)
            row.floor_seconds = result["seconds"]
            row.floor_requests = received(receiver)
            row.floor_max_in_flight = receiver.max_in_flight
        finally:
            receiver.close()
    return row


def measure_two_runs(
    n: int, latency: float, args: argparse.Namespace, env: dict[str, str], work: Path
) -> dict[str, Any]:
    """Two flow processes at once on one server: the tag limit must hold across."""
    csv_path = work / f"leads-{n}.csv"
    if not csv_path.exists():
        write_clean_leads(csv_path, n)
    receiver = make_receiver(args.receiver, latency)
    budget = 300 + 8 * n * STEPS_PER_LEAD * latency / args.parallel
    try:
        spec = {
            "parallel": args.parallel,
            "workdir": str(work),
            "parameters": flow_parameters(csv_path, receiver, args.parallel),
        }
        from concurrent.futures import ThreadPoolExecutor

        started = time.perf_counter()
        with ThreadPoolExecutor(2) as pool:
            runs = [
                pool.submit(run_child, "flow", spec, env, work, budget)
                for _ in range(2)
            ]
            results = [run.result()[0] for run in runs]
        seconds = time.perf_counter() - started
        return {
            "leads": n,
            "latency_ms": latency * 1000,
            "states": [r["state"] for r in results],
            "requests": received(receiver),
            "seconds": seconds,
            "max_in_flight": receiver.max_in_flight,
        }
    finally:
        receiver.close()


def measure_load(n: int, env: dict[str, str], work: Path) -> dict[str, Any]:
    leads, suppression = work / f"messy-{n}.csv", work / f"suppression-{n}.csv"
    write_messy_leads(leads, suppression, n)
    spec = {"leads": str(leads), "suppression": str(suppression)}
    result, _, peak = run_child("load", spec, env, work, 300)
    return {
        "rows": n,
        "suppression_rows": len(range(0, n, 50)),
        "kept": result["kept"],
        "dropped": result["dropped"],
        "seconds": result["seconds"],
        "peak_mb": peak,
    }


def _numbers(text: str, kind: type = int) -> list:
    return [kind(part) for part in text.split(",") if part.strip()]


def parse_args(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--sizes", default="1000,10000", help="lead counts, comma-separated"
    )
    parser.add_argument("--latencies-ms", default="0,100", help="receiver latencies")
    parser.add_argument("--load-size", type=int, default=100_000, help="0 to skip")
    parser.add_argument("--two-runs", type=int, default=500, help="leads each; 0 skips")
    parser.add_argument("--parallel", type=int, default=16)
    parser.add_argument("--server", choices=("local", "embedded"), default="local")
    parser.add_argument("--receiver", choices=("fast", "threaded"), default="fast")
    parser.add_argument("--no-floor", dest="floor", action="store_false")
    parser.add_argument("--out", default=str(ROOT / "benchmarks" / "results.md"))
    parser.add_argument("--json", default="", help="also write the rows as JSON here")
    parser.add_argument("--workdir", default="", help="keep inputs and child logs here")
    parser.add_argument(
        "--set",
        action="append",
        default=[],
        metavar="NAME=VALUE",
        help="extra environment for the children, e.g. PREFECT_LOGGING_LEVEL=WARNING",
    )
    parser.add_argument("--child", choices=sorted(CHILDREN), help=argparse.SUPPRESS)
    parser.add_argument("--spec", help=argparse.SUPPRESS)
    return parser.parse_args(argv)


def main(argv: list[str]) -> int:
    args = parse_args(argv)
    if args.child:
        spec_path = Path(args.spec)
        result = CHILDREN[args.child](json.loads(spec_path.read_text()))
        spec_path.with_suffix(".out").write_text(json.dumps(result))
        return 0

    with tempfile.TemporaryDirectory(prefix="outreach-bench-") as tmp:
        work = Path(args.workdir or tmp)
        work.mkdir(parents=True, exist_ok=True)
        server: LocalServer | None = None
        if args.server == "local":
            server = LocalServer(work / "prefect-home", work / "server.log")
        try:
            env = child_env(work / "prefect-home", server.url if server else None)
            env.update(item.split("=", 1) for item in args.set)
            results = Results(machine(), args.parallel, args.receiver, args.server)
            if server is not None:
                results.server = "prefect server start on 127.0.0.1"
            else:
                results.server = "embedded (ephemeral)"
            for n in _numbers(args.sizes):
                for latency_ms in _numbers(args.latencies_ms, float):
                    row = measure_flow(n, latency_ms / 1000, args, env, work)
                    results.flows.append(row)
                    print(json.dumps(row.as_dict()), flush=True)
            if args.two_runs:
                latency = max(_numbers(args.latencies_ms, float)) / 1000
                results.two_runs = measure_two_runs(
                    args.two_runs, latency, args, env, work
                )
                print(json.dumps(results.two_runs), flush=True)
            if args.load_size:
                results.load = measure_load(args.load_size, env, work)
                print(json.dumps(results.load), flush=True)
        finally:
            if server is not None:
                server.close()

    table = results.markdown()
    Path(args.out).write_text(table)
    if args.json:
        Path(args.json).write_text(
            json.dumps(
                {
                    "machine": results.machine,
                    "parallel": results.parallel,
                    "flows": [row.as_dict() for row in results.flows],
                    "load": results.load,
                    "two_runs": results.two_runs,
                    "targets": results.targets(),
                },
                indent=2,
            )
        )
    print(table)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
