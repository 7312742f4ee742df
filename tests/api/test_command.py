"""`nks-operator crds`: files, stdout stream, reference and --check."""

from __future__ import annotations

import argparse
from pathlib import Path

import pytest
import yaml

from nks_operator.api import command as crds_command
from nks_operator.api.crd import HEADER, crd_files, crd_stream
from nks_operator.api.reference import render_reference
from nks_operator.api.resources import CRD_RESOURCES

# Every CRD the operator needs, NKSOwnership included (the reference documents only the
# kinds users write).
FILE_NAMES = sorted(f"{r.plural}.nks.nhncloud.com.yaml" for r in CRD_RESOURCES)


def crds(*argv: str) -> int:
    """Run the subcommand through argparse, as `nks-operator crds ...` does."""
    parser = argparse.ArgumentParser(prog="nks-operator")
    crds_command.register(parser.add_subparsers(dest="command", required=True))
    args = parser.parse_args(["crds", *argv])
    return args.func(args)


def test_writes_one_file_per_kind(tmp_path: Path) -> None:
    out = tmp_path / "out" / "crds"
    assert crds("--output-dir", str(out)) == 0
    assert sorted(p.name for p in out.iterdir()) == FILE_NAMES
    for name in FILE_NAMES:
        text = (out / name).read_text(encoding="utf-8")
        assert text.startswith(HEADER)
        assert yaml.safe_load(text)["metadata"]["name"] == name.removesuffix(".yaml")


def test_default_output_dir_is_crds_in_the_working_directory(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    assert crds() == 0
    assert sorted(p.name for p in (tmp_path / "crds").iterdir()) == FILE_NAMES


def test_stdout_is_one_applyable_stream(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.chdir(tmp_path)
    assert crds("--stdout") == 0
    out = capsys.readouterr().out
    documents = list(yaml.safe_load_all(out))
    assert [d["kind"] for d in documents] == ["CustomResourceDefinition"] * len(CRD_RESOURCES)
    assert [d["spec"]["names"]["kind"] for d in documents] == [r.kind for r in CRD_RESOURCES]
    assert documents == [yaml.safe_load(text) for text in crd_files().values()]
    assert not (tmp_path / "crds").exists(), "--stdout must not write files"


def test_reference(tmp_path: Path) -> None:
    reference = tmp_path / "docs" / "reference.md"
    assert crds("--output-dir", str(tmp_path / "crds"), "--reference", str(reference)) == 0
    assert reference.read_text(encoding="utf-8") == render_reference()


def test_check_reports_stale_missing_and_extra_files(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out, reference = tmp_path / "crds", tmp_path / "reference.md"
    argv = ("--output-dir", str(out), "--reference", str(reference))
    assert crds(*argv, "--check") == 1  # nothing written yet
    assert not out.exists(), "--check must not write"
    assert crds(*argv) == 0
    assert crds(*argv, "--check") == 0

    (out / FILE_NAMES[0]).write_text("edited by hand\n", encoding="utf-8")
    (out / "old.yaml").write_text("{}\n", encoding="utf-8")
    capsys.readouterr()
    assert crds(*argv, "--check") == 1
    err = capsys.readouterr().err
    assert f"out of date: {out / FILE_NAMES[0]}" in err
    assert "old.yaml" in err
    assert "run `nks-operator crds" in err


def test_stdout_and_output_dir_exclude_each_other(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit):
        crds("--stdout", "--output-dir", "x")
    assert "not allowed with" in capsys.readouterr().err


def test_wired_into_the_cli(capsys: pytest.CaptureFixture[str]) -> None:
    from nks_operator.cli import main

    assert main(["crds", "--stdout"]) == 0
    assert capsys.readouterr().out == crd_stream()
