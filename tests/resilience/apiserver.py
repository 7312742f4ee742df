"""A kube-apiserver restart for a private LocalKube (etcd keeps the data, same port)."""

from __future__ import annotations

import signal
import time

from kubernetes import client

from nks_operator.localkube import LocalKube
from tests.fixtures.operator import wait_for


def restart_apiserver(kube: LocalKube, downtime: float = 3.0, timeout: float = 60.0) -> None:
    """Stop kube-apiserver, keep it down `downtime` seconds, start it again on its port.

    LocalKube has no restart method, so this reaches into its process list: the old
    process's command line is reused (same port, certificates, token file and etcd) and
    the new process takes its place, so `LocalKube.stop()` still ends it. Use it only on a
    LocalKube of the test's own, never the session's.
    """
    running = kube._running
    assert running is not None, "LocalKube is not started"
    [old] = [p for p in running.processes if p.name == "kube-apiserver"]
    command = [str(arg) for arg in old.popen.args]  # type: ignore[union-attr]
    if "--" in command and command[0].endswith("setpriv"):
        command = command[command.index("--") + 1 :]  # _spawn adds the prefix again
    index = running.processes.index(old)
    old.popen.send_signal(signal.SIGTERM)
    old.popen.wait(timeout=30)
    old.log_file.close()
    running.processes.remove(old)
    time.sleep(downtime)
    new = kube._spawn("kube-apiserver", command)
    running.processes.remove(new)
    running.processes.insert(index, new)

    def serving() -> bool:
        try:
            with kube.api_client() as api:
                client.CoreV1Api(api).read_namespace("default", _request_timeout=2)
        except Exception:
            return False
        return True

    wait_for(serving, timeout, interval=0.3, what="kube-apiserver serving again")
