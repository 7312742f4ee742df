"""`nks-operator simulator`: options, start-up, serving, clean stop on SIGTERM."""

from __future__ import annotations

import json
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from nks_devtools.simulator.command import DEFAULT_PORT, build_config, build_parser
from tests.simulator.helpers import PASSWORD, VERSION_HEADER

ROOT = Path(__file__).resolve().parents[2]


def test_defaults() -> None:
    args = build_parser().parse_args([])
    assert (args.host, args.port, args.delay) == ("127.0.0.1", DEFAULT_PORT, None)
    config = build_config(args)
    assert config.delay_for("create_cluster") == 600
    assert config.delay_for("delete_cluster") == 300
    assert config.delay_for("upgrade_nodegroup") == 300
    assert config.accepts_any_credentials()


def test_options_build_the_config() -> None:
    args = build_parser().parse_args(
        [
            "--delay",
            "2",
            "--credentials",
            "t1:u1:p:w",
            "--credentials",
            "t2:u2:x",
            "--token-ttl",
            "60",
            "--max-clusters",
            "3",
            "--faults",
            '[{"operation": "list_clusters", "action": "error"}]',
        ]
    )
    config = build_config(args)
    assert config.delay_for("create_cluster") == 2 == config.delay_for("stop_nodes")
    assert [(c.tenant_id, c.username) for c in config.credentials] == [("t1", "u1"), ("t2", "u2")]
    assert config.credentials[0].password.get_secret_value() == "p:w"
    assert (config.token_ttl, config.max_clusters_per_tenant) == (60, 3)
    assert config.faults.rules[0].operation == "list_clusters"


@pytest.mark.parametrize(
    "argv",
    [["--credentials", "no-colons"], ["--faults", "/no/such/file.json"], ["--faults", "[{]"]],
)
def test_bad_options_exit_with_a_message(argv: list[str]) -> None:
    with pytest.raises(SystemExit, match="nks-operator simulator"):
        build_config(build_parser().parse_args(argv))


def test_serves_until_sigterm(tmp_path: Path) -> None:
    faults = tmp_path / "faults.json"
    faults.write_text(json.dumps([{"operation": "get_supports", "action": "throttle", "count": 1}]))
    command = [
        sys.executable,
        "-m",
        "nks_operator",
        "simulator",
        "--port",
        "0",
        "--delay",
        "0.05",
        "--credentials",
        f"tenant-a:user:{PASSWORD}",
        "--faults",
        str(faults),
    ]
    process = subprocess.Popen(
        command, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )
    try:
        assert process.stdout is not None
        line = process.stdout.readline()
        match = re.search(r"listening on (http://127\.0\.0\.1:(\d+))", line)
        assert match, line
        url = match.group(1)
        assert int(match.group(2)) > 0
        with httpx.Client(base_url=url, timeout=5) as http:
            auth = {
                "tenantId": "tenant-a",
                "passwordCredentials": {"username": "user", "password": PASSWORD},
            }
            response = http.post("/v2.0/tokens", json={"auth": auth})
            assert response.status_code == 200
            token = response.json()["access"]["token"]["id"]
            wrong = {**auth, "passwordCredentials": {"username": "user", "password": "nope"}}
            assert http.post("/v2.0/tokens", json={"auth": wrong}).status_code == 401
            headers = {"X-Auth-Token": token, **VERSION_HEADER}
            assert http.get("/v1/supports", headers=headers).status_code == 429
            assert http.get("/v1/supports", headers=headers).status_code == 200
            assert http.get("/_sim/calls").json()["counts"]["get_supports"] == 2
        process.send_signal(signal.SIGTERM)
        out, err = process.communicate(timeout=10)
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
    assert process.returncode == 0
    assert "stopped" in out
    assert "GET /v1/supports -> 429" in err  # each call is logged ...
    assert PASSWORD not in err + out and token not in err + out  # ... without secrets


def test_console_script_help() -> None:
    script = ROOT / ".venv" / "bin" / "nks-operator"
    if not script.exists():
        pytest.skip("console script not installed")
    started = time.monotonic()
    result = subprocess.run(
        [str(script), "simulator", "--help"], capture_output=True, text=True, timeout=30
    )
    assert result.returncode == 0
    for option in ("--host", "--port", "--delay", "--credentials", "--token-ttl", "--faults"):
        assert option in result.stdout
    assert time.monotonic() - started < 30
