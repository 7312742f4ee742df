"""The `nks-operator` command: one subcommand per job, each registered by its own module."""

from __future__ import annotations

import argparse
import importlib
import importlib.metadata
import sys
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass

Register = Callable[["argparse._SubParsersAction[argparse.ArgumentParser]"], None]

TOOLING_PACKAGE = "nks_devtools"
TOOLING_HINT = (
    "this command comes with the development tools, which are not installed: "
    "pip install ./devtools from the repository (README.md, Development)"
)


@dataclass(frozen=True)
class ToolingCommand:
    """A command of the separately installed development tools (devtools/)."""

    module: str  # has `main(argv) -> int`; imported only when the command runs
    help: str


# Listed in `--help` always, imported only when run: the product (the image,
# `nks-operator run`) never loads the simulator, localkube or the demo.
TOOLING_COMMANDS: Mapping[str, ToolingCommand] = {
    "simulator": ToolingCommand(
        f"{TOOLING_PACKAGE}.simulator.command",
        "serve a stateful NKS API simulator (identity + NKS) on one port [devtools]",
    ),
    "demo": ToolingCommand(
        f"{TOOLING_PACKAGE}.demo",
        "run simulator + operator + examples end to end on this machine [devtools]",
    ),
}


def _registrars() -> list[Register]:
    # Imported lazily so `nks-operator --help` stays fast and one broken subcommand
    # cannot hide the others.
    from nks_operator import run_command
    from nks_operator.api import command as crds_command
    from nks_operator.importer import command as import_command

    registrars: list[Register] = [
        run_command.register,
        crds_command.register,
        import_command.register,
        _register_tooling,
    ]
    return registrars


def _register_tooling(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    # Only for `--help`: `main` hands a tooling command's arguments to the tool unparsed.
    for name, command in TOOLING_COMMANDS.items():
        parser = subparsers.add_parser(name, help=command.help, add_help=False)
        parser.set_defaults(func=lambda _args, name=name: run_tooling(name, []))


def run_tooling(name: str, argv: Sequence[str]) -> int:
    """Run a tooling command, or say in one line how to install the tools (exit 2)."""
    try:
        module = importlib.import_module(TOOLING_COMMANDS[name].module)
    except ModuleNotFoundError as error:
        if (error.name or "").split(".")[0] != TOOLING_PACKAGE:
            raise  # installed, but something it needs is missing: the traceback says what
        print(f"nks-operator {name}: {TOOLING_HINT}", file=sys.stderr)
        return 2
    return int(module.main(list(argv)))


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


def keep_out_the_kubernetes_package() -> None:
    """Make `import kubernetes` fail in this process, unless it is imported already.

    kopf imports the `kubernetes` package whenever it is installed (for its own fallback
    login and its types), about 12 MiB resident that the operator never uses: its one use,
    the kubeconfig loader, runs in a child process (kube/kubeconfig_loader.py). None in
    sys.modules makes the import fail at once, and kopf goes on without it."""
    sys.modules.setdefault("kubernetes", None)  # type: ignore[arg-type]


def main(argv: Sequence[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    if argv and argv[0] in TOOLING_COMMANDS:
        return run_tooling(argv[0], argv[1:])
    if argv and argv[0] == "run":
        keep_out_the_kubernetes_package()
    parser = build_parser()
    args = parser.parse_args(argv)
    # Every subcommand sets `func(args) -> int` on its parser.
    return int(args.func(args) or 0)


if __name__ == "__main__":
    sys.exit(main())
