"""`nks-operator simulator`: serve the NKS simulator until SIGINT/SIGTERM."""

from __future__ import annotations

import argparse
import asyncio
import logging
import signal
import sys
from collections.abc import Sequence

from nks_devtools.simulator.config import Credential, SimulatorConfig
from nks_devtools.simulator.faults import FaultSettings
from nks_devtools.simulator.server import run_simulator

DEFAULT_PORT = 9511  # OpenStack Magnum's API port; NKS is a Magnum fork


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="nks-operator simulator",
        description=(
            "Serve the NKS API of the guide and the identity token endpoint from memory. "
            "Identity: URL/v2.0/tokens, NKS: URL/v1/..., admin: URL/_sim/... "
            "(see `python -m pydoc nks_devtools.simulator`)."
        ),
    )
    parser.add_argument("--host", default="127.0.0.1", help="address to listen on")
    parser.add_argument(
        "--port",
        type=int,
        default=DEFAULT_PORT,
        help="port (0: any free port; default %(default)s)",
    )
    parser.add_argument(
        "--delay",
        type=float,
        default=None,
        metavar="SECONDS",
        help="how long every asynchronous operation takes (default: realistic minutes - "
        "600 s cluster create, 300 s the others)",
    )
    parser.add_argument(
        "--credentials",
        action="append",
        default=[],
        metavar="TENANT:USER:PASSWORD",
        help="accept only these logins (repeatable); default: any",
    )
    parser.add_argument(
        "--token-ttl", type=float, default=12 * 3600.0, metavar="SECONDS", help="token lifetime"
    )
    parser.add_argument(
        "--faults", metavar="FILE_OR_JSON", help="fault rules at start-up (JSON/YAML file or JSON)"
    )
    parser.add_argument(
        "--max-clusters", type=int, default=None, metavar="N", help="cluster quota per tenant"
    )
    parser.add_argument(
        "--seed", type=int, default=None, help="seed for ids and random choices (default: random)"
    )
    parser.add_argument("--log-level", default="INFO", help="logging level (default INFO)")
    return parser


def main(argv: Sequence[str]) -> int:
    """`nks-operator simulator ARGV...` (the product's CLI hands its arguments over)."""
    return run(build_parser().parse_args(argv))


def build_config(args: argparse.Namespace) -> SimulatorConfig:
    try:
        credentials = [Credential.parse(text) for text in args.credentials]
        faults = FaultSettings.load(args.faults) if args.faults else FaultSettings()
    except (ValueError, OSError) as exc:
        raise SystemExit(f"nks-operator simulator: {exc}") from None
    return SimulatorConfig(
        delay=args.delay,
        credentials=credentials,
        token_ttl=args.token_ttl,
        faults=faults,
        max_clusters_per_tenant=args.max_clusters,
        seed=args.seed,
    )


async def serve(config: SimulatorConfig, host: str, port: int) -> None:
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    async with run_simulator(config, host, port) as handle:
        print(f"NKS simulator listening on {handle.url}", flush=True)
        print(f"  identity: {handle.identity_url}", flush=True)
        print(f"  NKS API:  {handle.url}/v1", flush=True)
        print(f"  admin:    {handle.url}/_sim/state", flush=True)
        await stop.wait()
    print("NKS simulator stopped", flush=True)


def run(args: argparse.Namespace) -> int:
    logging.basicConfig(
        level=args.log_level.upper(),
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
        stream=sys.stderr,
    )
    config = build_config(args)
    try:
        asyncio.run(serve(config, args.host, args.port))
    except OSError as exc:
        print(
            f"nks-operator simulator: cannot listen on {args.host}:{args.port}: {exc}",
            file=sys.stderr,
        )
        return 1
    return 0
