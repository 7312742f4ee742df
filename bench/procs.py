"""The processes under test: the NKS simulator and the operator, each started as its own
process exactly as a user would run them, and /proc readings of their cost."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path

from bench import launch
from nks_devtools.localkube import _with_parent_death_signal

ROOT = Path(__file__).resolve().parents[1]
CLOCK_TICKS = os.sysconf("SC_CLK_TCK")
PAGE_SIZE = os.sysconf("SC_PAGE_SIZE")


class BenchError(RuntimeError):
    """Something the benchmark needs did not start or did not converge."""


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def wait_http(url: str, timeout: float, alive: subprocess.Popen[bytes] | None = None) -> None:
    """Wait until `url` answers 200 (and `alive`, when given, has not exited)."""
    deadline = time.monotonic() + timeout
    last = ""
    while time.monotonic() < deadline:
        if alive is not None and alive.poll() is not None:
            raise BenchError(f"the process exited with {alive.returncode} before {url} answered")
        try:
            with urllib.request.urlopen(url, timeout=2) as response:
                if response.status == 200:
                    return
                last = f"status {response.status}"
        except (urllib.error.URLError, OSError) as error:
            last = str(error)
        time.sleep(0.1)
    raise BenchError(f"{url} did not answer within {timeout:.0f}s: {last}")


@dataclass(frozen=True)
class ProcStats:
    """Cost of one process so far, from /proc (Linux): CPU seconds and resident memory."""

    cpu_seconds: float  # user + system
    rss_bytes: int  # now
    peak_rss_bytes: int  # VmHWM: the high-water mark over the process's life

    @classmethod
    def read(cls, pid: int) -> ProcStats:
        try:
            stat = Path(f"/proc/{pid}/stat").read_text()
            status = Path(f"/proc/{pid}/status").read_text()
        except OSError:
            return cls(0.0, 0, 0)
        # Fields after the command name (which may contain spaces) start at field 3.
        fields = stat[stat.rindex(")") + 2 :].split()
        utime, stime = int(fields[11]), int(fields[12])
        values: dict[str, int] = {}
        for line in status.splitlines():
            key, _, rest = line.partition(":")
            if key in ("VmRSS", "VmHWM"):
                values[key] = int(rest.split()[0]) * 1024
        return cls(
            cpu_seconds=(utime + stime) / CLOCK_TICKS,
            rss_bytes=values.get("VmRSS", 0),
            peak_rss_bytes=values.get("VmHWM", 0),
        )


def load_average() -> tuple[float, float, float]:
    one, five, fifteen = Path("/proc/loadavg").read_text().split()[:3]
    return float(one), float(five), float(fifteen)


class ManagedProcess:
    """A child process with its output in a log file; `stop()` is SIGTERM, then SIGKILL."""

    name = "process"

    def __init__(self, log_path: Path) -> None:
        self.log_path = log_path
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def pid(self) -> int:
        if self.process is None:
            raise BenchError(f"{self.name} is not running")
        return self.process.pid

    def _spawn(self, args: list[str], env: dict[str, str]) -> None:
        with self.log_path.open("ab") as log:
            # Killed with the bench, even a SIGKILLed one: no orphan skews the next run.
            self.process = subprocess.Popen(
                _with_parent_death_signal(args),
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                env=env,
                cwd=ROOT,
            )

    def stats(self) -> ProcStats:
        return ProcStats.read(self.pid)

    def alive(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def log_tail(self, lines: int = 30) -> str:
        try:
            text = self.log_path.read_text(errors="replace")
        except OSError:
            return "(no log)"
        return "\n".join(text.splitlines()[-lines:])

    def stop(self, grace: float = 10.0) -> None:
        if self.process is None:
            return
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(grace)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(10)
        self.process = None


class SimulatorProcess(ManagedProcess):
    """`nks-operator simulator` on a free loopback port."""

    name = "simulator"

    def __init__(self, log_path: Path, delay: float) -> None:
        super().__init__(log_path)
        self.delay = delay
        self.url = ""

    def start(self, timeout: float = 30.0) -> SimulatorProcess:
        port = free_port()
        self.url = f"http://127.0.0.1:{port}"
        args = [
            sys.executable,
            "-m",
            "nks_operator",
            "simulator",
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
            "--delay",
            str(self.delay),
            "--max-clusters",
            "1000000",
            # Every call is logged at INFO: thousands per second would cost the simulator
            # (and so the machine the operator shares) more than serving them.
            "--log-level",
            "WARNING",
        ]
        self._spawn(args, dict(os.environ))
        assert self.process is not None
        try:
            wait_http(f"{self.url}/_sim/health", timeout, self.process)
        except BenchError as error:
            self.stop()
            raise BenchError(f"simulator: {error}\n{self.log_tail()}") from None
        return self


class OperatorProcess(ManagedProcess):
    """`nks-operator run --namespace NS` with the benchmark's NKS_* settings, through
    bench/launch.py when they ask for one of its instruments (BENCH_*)."""

    name = "operator"

    def __init__(
        self,
        log_path: Path,
        kubeconfig: Path,
        namespace: str,
        settings: dict[str, str],
        log_level: str = "INFO",
    ) -> None:
        super().__init__(log_path)
        self.kubeconfig = kubeconfig
        self.namespace = namespace
        self.settings = settings
        self.log_level = log_level
        self.started_at = 0.0
        self.ready_after = 0.0

    def start(self, timeout: float = 60.0) -> OperatorProcess:
        liveness = f"http://127.0.0.1:{free_port()}/healthz"
        env = {**os.environ, **self.settings, "KUBECONFIG": str(self.kubeconfig)}
        for key in ("NKS_TENANT_ID", "NKS_USERNAME", "NKS_PASSWORD", "NKS_METRICS_PORT"):
            env.pop(key, None)
        args = [
            sys.executable,
            "-m",
            "bench.launch" if launch.needed(self.settings) else "nks_operator",
            "run",
            "--namespace",
            self.namespace,
            "--liveness",
            liveness,
            "--log-level",
            self.log_level,
        ]
        self.started_at = time.monotonic()
        self._spawn(args, env)
        assert self.process is not None
        try:
            # kopf serves the liveness endpoint once its start-up handlers have run.
            wait_http(liveness, timeout, self.process)
        except BenchError as error:
            tail = self.log_tail()
            self.stop()
            raise BenchError(f"operator: {error}\n{tail}") from None
        self.ready_after = time.monotonic() - self.started_at
        return self
