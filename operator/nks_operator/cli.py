"""The `nks-operator` command: one subcommand per job, each registered by its own module."""

from __future__ import annotations

import argparse
import importlib.metadata
import sys
from collections.abc import Callable, Sequence

Register = Callable[["argparse._SubParsersAction[argparse.ArgumentParser]"], None]


def _registrars() -> list[Register]:
    # Imported lazily so `nks-operator --help` stays fast and one broken subcommand
    # cannot hide the others.
    from nks_operator import demo, run_command
    from nks_operator.api import command as crds_command
    from nks_operator.importer import command as import_command
    from nks_operator.simulator import command as simulator_command

    registrars: list[Register] = [
        run_command.register,
        simulator_command.register,
        crds_command.register,
        demo.register,
        import_command.register,
    ]
    return registrars


def version() -> str:
    """The installed distribution's version (pyproject.toml is its one source)."""
    try:
        return importlib.metadata.version("nks-operator")
    except importlib.metadata.PackageNotFoundError:  # run from a source tree, not installed
        return "unknown (not installed)"


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="nks-operator",
        description="Kubernetes operator for NHN Cloud's NHN Kubernetes Service (NKS).",
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {version()}")
    subparsers = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for register in _registrars():
        register(subparsers)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    # Every subcommand sets `func(args) -> int` on its parser.
    return int(args.func(args) or 0)


if __name__ == "__main__":
    sys.exit(main())
