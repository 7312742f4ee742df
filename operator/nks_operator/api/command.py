"""`nks-operator crds`: write the CRD YAML (and the CR reference) generated from the models."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from nks_operator.api.crd import crd_files, crd_stream
from nks_operator.api.reference import REFERENCE_PATH, render_reference

DEFAULT_OUTPUT_DIR = Path("crds")
# What a developer runs after changing a model; the drift test quotes it.
REGENERATE = f"nks-operator crds --output-dir {DEFAULT_OUTPUT_DIR} --reference {REFERENCE_PATH}"


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add the `crds` subcommand."""
    parser = subparsers.add_parser(
        "crds",
        help="write the CustomResourceDefinitions generated from the models",
        description=(
            "Write crds/<plural>.nks.nhncloud.com.yaml for each kind, generated from the "
            "pydantic models. Install them with `nks-operator crds --stdout | kubectl apply "
            f"-f -`. After changing a model, run `{REGENERATE}`."
        ),
    )
    target = parser.add_mutually_exclusive_group()
    target.add_argument(
        "--output-dir",
        type=Path,
        default=DEFAULT_OUTPUT_DIR,
        metavar="DIR",
        help=f"folder for the CRD files (default: ./{DEFAULT_OUTPUT_DIR})",
    )
    target.add_argument(
        "--stdout",
        action="store_true",
        help="print all CRDs as one multi-document YAML stream instead of writing files",
    )
    parser.add_argument(
        "--reference",
        type=Path,
        metavar="FILE",
        help=f"also write the Markdown CR reference to FILE (the repository's: {REFERENCE_PATH})",
    )
    parser.add_argument(
        "--check",
        action="store_true",
        help="write nothing; exit 1 and list the files that differ from what would be written",
    )
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    """Write (or with --check, compare) the generated files; 0 on success."""
    wanted: dict[Path, str] = {}
    if not args.stdout:
        wanted = {args.output_dir / name: text for name, text in crd_files().items()}
    if args.reference is not None:
        wanted[args.reference] = render_reference()
    if args.check:
        return _check(wanted, None if args.stdout else args.output_dir)
    if args.stdout:
        sys.stdout.write(crd_stream())
    for path, text in wanted.items():
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
        print(f"wrote {path}", file=sys.stderr)
    return 0


def _check(wanted: dict[Path, str], output_dir: Path | None) -> int:
    stale = [
        path
        for path, text in wanted.items()
        if not path.is_file() or path.read_text(encoding="utf-8") != text
    ]
    extra = []
    if output_dir is not None and output_dir.is_dir():
        extra = sorted(set(output_dir.glob("*.yaml")) - set(wanted))
    for path in stale:
        print(f"out of date: {path}", file=sys.stderr)
    for path in extra:
        print(f"not generated from any model (remove it?): {path}", file=sys.stderr)
    if stale or extra:
        print(f"run `{REGENERATE}`", file=sys.stderr)
        return 1
    return 0
