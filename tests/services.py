"""Real services for the deployment tests: a Prefect server, its workers, PostgreSQL.

Everything listens on 127.0.0.1 only, keeps its state in a temporary directory,
waits a bounded time, and is killed at teardown: SIGTERM to the process and its
children, then SIGKILL to whatever is left (a flow run waiting for a slot ignores
SIGTERM).
"""

from __future__ import annotations

import glob
import json
import os
import shutil
import signal
import socket
import subprocess
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx

ROOT = Path(__file__).resolve().parent.parent
BIN = Path(os.environ.get("VIRTUAL_ENV") or ROOT / ".venv") / "bin"


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_for(what: str, check: Callable[[], Any], timeout: float, every=0.5) -> Any:
    """Call check until it returns something truthy; fail after timeout seconds."""
    deadline = time.monotonic() + timeout
    while True:
        result = check()
        if result:
            return result
        if time.monotonic() > deadline:
            raise TimeoutError(f"{what}: not after {timeout:.0f} s")
        time.sleep(every)


def _children(pid: int) -> list[int]:
    """Every live descendant of pid, read from /proc."""
    parents: dict[int, int] = {}
    for stat in glob.glob("/proc/[0-9]*/stat"):
        try:
            text = Path(stat).read_text()
        except OSError:
            continue
        fields = text.rsplit(")", 1)[1].split()
        parents[int(stat.split("/")[2])] = int(fields[1])
    found, frontier = [], [pid]
    while frontier:
        parent = frontier.pop()
        kids = [child for child, ppid in parents.items() if ppid == parent]
        found.extend(kids)
        frontier.extend(kids)
    return found


def stop(process: subprocess.Popen[bytes], grace: float = 10.0) -> None:
    """SIGTERM a process and its descendants, then SIGKILL what is still alive."""
    if process.poll() is not None:
        return
    tree = [process.pid, *_children(process.pid)]
    for pid in tree:
        _signal(pid, signal.SIGTERM)
    try:
        process.wait(timeout=grace)
    except subprocess.TimeoutExpired:
        pass
    for pid in [*tree, *_children(process.pid)]:
        _signal(pid, signal.SIGKILL)
    process.wait(timeout=10)


def _signal(pid: int, sig: signal.Signals) -> None:
    try:
        os.kill(pid, sig)
    except (ProcessLookupError, PermissionError):
        pass


class PrefectServer:
    """``prefect server start`` on a free loopback port, with its own PREFECT_HOME.

    Args:
        home: A directory for the server's settings, database and logs.
        database_url: A SQLAlchemy URL; empty for SQLite under ``home``.
    """

    def __init__(self, home: Path, database_url: str = "") -> None:
        self.home = home
        self.port = free_port()
        self.api = f"http://127.0.0.1:{self.port}/api"
        self.env = {
            **os.environ,
            "PATH": f"{BIN}:{os.environ.get('PATH', '')}",
            "PWD": str(ROOT),
            "PREFECT_HOME": str(home),
            "PREFECT_PROFILES_PATH": str(home / "profiles.toml"),
            "PREFECT_API_URL": self.api,
            "PREFECT_SERVER_API_HOST": "127.0.0.1",
            "PREFECT_SERVER_API_PORT": str(self.port),
            "PREFECT_SERVER_ANALYTICS_ENABLED": "false",
            "PREFECT_UI_ENABLED": "false",
            # Scheduled runs are made every 2 s, not 60 s, and a lane that finds
            # outreach_pool full asks again within 1 s, not 10 s.
            "PREFECT_SERVER_SERVICES_SCHEDULER_LOOP_SECONDS": "2",
            "PREFECT_SERVER_TASKS_TAG_CONCURRENCY_SLOT_WAIT_SECONDS": "1",
            "PREFECT_WORKER_QUERY_SECONDS": "1",
            "PREFECT_LOGGING_LEVEL": "INFO",
        }
        if database_url:
            self.env["PREFECT_API_DATABASE_CONNECTION_URL"] = database_url
        self.processes: list[subprocess.Popen[bytes]] = []
        self.client = httpx.Client(base_url=self.api, timeout=30)
        home.mkdir(parents=True, exist_ok=True)
        self.spawn("server", "prefect", "server", "start")
        try:
            wait_for("Prefect server health", self._healthy, timeout=120)
        except BaseException:
            self.close()
            raise

    def spawn(self, name: str, *argv: str) -> subprocess.Popen[bytes]:
        """Start a long-running command with this server's environment."""
        log = open(self.home / f"{name}.log", "ab")  # noqa: SIM115 - Popen keeps it
        process = subprocess.Popen(
            _command(argv),
            cwd=ROOT,
            env=self.env,
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        log.close()
        self.processes.append(process)
        return process

    def run(self, *argv: str, timeout: float = 120) -> str:
        """Run a command to its end with this server's environment; its output."""
        done = subprocess.run(
            _command(argv),
            cwd=ROOT,
            env=self.env,
            stdin=subprocess.DEVNULL,
            capture_output=True,
            text=True,
            timeout=timeout,
        )
        if done.returncode != 0:
            raise AssertionError(
                f"{' '.join(argv)} exited {done.returncode}:\n"
                f"{done.stdout[-3000:]}\n{done.stderr[-3000:]}"
            )
        return done.stdout

    def start_worker(self, pool: str, name: str, limit: int | None = None) -> None:
        argv = ["prefect", "worker", "start", "--pool", pool, "--name", name]
        if limit is not None:
            argv += ["--limit", str(limit)]
        self.spawn(name, *argv)

    def api_call(self, method: str, path: str, body: Any = None) -> Any:
        """One API request, tried again (6 times at most) while the server is busy.

        On SQLite the server answers 503 when the database is locked for a moment;
        Prefect's own client retries those too.
        """
        for attempt in range(6):
            response = self.client.request(method, path, json=body)
            if response.status_code != 503:
                break
            time.sleep(1 + attempt)
        response.raise_for_status()
        return response.json() if response.content else None

    def deployment(self, name: str) -> dict[str, Any]:
        return self.api_call("GET", f"/deployments/name/{name}")

    def flow_run(self, run_id: str) -> dict[str, Any]:
        return self.api_call("GET", f"/flow_runs/{run_id}")

    def wait_final(self, run_id: str, timeout: float = 180) -> dict[str, Any]:
        """The flow run once it reached a final state."""

        def final() -> dict[str, Any] | None:
            run = self.flow_run(run_id)
            return run if run["state"]["type"] in FINAL else None

        return wait_for(f"flow run {run_id} to finish", final, timeout, every=1)

    def logs(self) -> str:
        return "\n".join(
            f"--- {log.name}\n{log.read_text(errors='replace')[-4000:]}"
            for log in sorted(self.home.glob("*.log"))
        )

    def close(self) -> None:
        self.client.close()
        for process in reversed(self.processes):
            stop(process)

    def _healthy(self) -> bool:
        try:
            return self.client.get("/health", timeout=2).json() is True
        except (httpx.HTTPError, json.JSONDecodeError):
            return False


FINAL = {"COMPLETED", "FAILED", "CRASHED", "CANCELLED"}


def _command(argv: tuple[str, ...]) -> list[str]:
    """The command with its program taken from the venv when it is there."""
    program = BIN / argv[0]
    return [str(program) if program.exists() else argv[0], *argv[1:]]


def postgres_bin() -> Path | None:
    """The directory of initdb/pg_ctl: on PATH, or where Debian's package puts it."""
    on_path = shutil.which("initdb")
    if on_path:
        return Path(on_path).resolve().parent
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"))
    return Path(found[-1]).parent if found else None


class Postgres:
    """A throwaway PostgreSQL cluster in a temporary directory, on 127.0.0.1.

    PostgreSQL refuses to run as root, so as root it runs as the ``postgres`` user
    Debian's package creates (or ``nobody``), which then owns the directory.
    """

    def __init__(self, directory: Path) -> None:
        bin_dir = postgres_bin()
        if bin_dir is None:
            raise FileNotFoundError(
                "no initdb on PATH or in /usr/lib/postgresql/*/bin; install "
                "PostgreSQL with 'apt-get install -y postgresql' (.ci/run does)"
            )
        self.bin = bin_dir
        self.port = free_port()
        self.data = directory / "data"
        self.url = f"postgresql+asyncpg://prefect@127.0.0.1:{self.port}/postgres"
        self.prefix: list[str] = []
        if os.geteuid() == 0:
            user = "postgres" if _user_exists("postgres") else "nobody"
            shutil.chown(directory, user=user)
            self.prefix = ["runuser", "-u", user, "--"]
        self._do(
            "initdb",
            "-D",
            str(self.data),
            "-U",
            "prefect",
            "--auth=trust",
            "--encoding=UTF8",
            "--locale=C",
        )
        options = (
            f"-p {self.port} -k {directory} -c listen_addresses=127.0.0.1 "
            "-c max_connections=200 -c fsync=off"
        )
        self._do(
            "pg_ctl",
            "start",
            "-D",
            str(self.data),
            "-w",
            "-t",
            "60",
            "-l",
            str(directory / "postgres.log"),
            "-o",
            options,
        )

    def close(self) -> None:
        self._do("pg_ctl", "stop", "-D", str(self.data), "-m", "immediate", "-w")

    def _do(self, tool: str, *args: str) -> None:
        subprocess.run(
            [*self.prefix, str(self.bin / tool), *args],
            check=True,
            capture_output=True,
            timeout=120,
            stdin=subprocess.DEVNULL,
        )


def _user_exists(name: str) -> bool:
    import pwd

    try:
        pwd.getpwnam(name)
    except KeyError:
        return False
    return True
