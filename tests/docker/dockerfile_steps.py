"""The Dockerfile, read with Docker's own parser (the `dockerfile` package wraps BuildKit's).

There is no Docker engine on this project's machines, so the image tests read the
Dockerfile's stages and replay the Python steps of their RUN instructions on the host.
"""

from __future__ import annotations

import re
import shlex
from dataclasses import dataclass, field
from pathlib import Path

import dockerfile

REPO_ROOT = Path(__file__).resolve().parents[2]
DOCKERFILE = REPO_ROOT / "Dockerfile"
DOCKERIGNORE = REPO_ROOT / ".dockerignore"
LOCK = REPO_ROOT / "requirements.lock"


@dataclass
class Stage:
    name: str
    base: str
    instructions: list[dockerfile.Command] = field(default_factory=list)

    def of(self, cmd: str) -> list[dockerfile.Command]:
        return [i for i in self.instructions if i.cmd == cmd]

    def env(self) -> dict[str, str]:
        out: dict[str, str] = {}
        for instruction in self.of("ENV"):
            values = instruction.value
            out.update({k: v.strip('"') for k, v in zip(values[::2], values[1::2], strict=True)})
        return out

    def labels(self) -> dict[str, str]:
        out: dict[str, str] = {}
        for instruction in self.of("LABEL"):
            values = instruction.value
            out.update({k: v.strip('"') for k, v in zip(values[::2], values[1::2], strict=True)})
        return out

    def run_steps(self) -> list[str]:
        """Each RUN's shell commands, split at `&&`, whitespace collapsed."""
        steps: list[str] = []
        for instruction in self.of("RUN"):
            for part in instruction.value[0].split("&&"):
                steps.append(" ".join(part.split()))
        return steps


def global_args() -> dict[str, str]:
    """ARGs before the first FROM, with their defaults."""
    args: dict[str, str] = {}
    for instruction in dockerfile.parse_file(str(DOCKERFILE)):
        if instruction.cmd == "FROM":
            break
        if instruction.cmd == "ARG":
            name, _, default = instruction.value[0].partition("=")
            args[name] = default
    return args


def stages() -> list[Stage]:
    found: list[Stage] = []
    args = global_args()
    for instruction in dockerfile.parse_file(str(DOCKERFILE)):
        if instruction.cmd == "FROM":
            value = instruction.value
            base = re.sub(r"\$\{(\w+)\}", lambda m: args.get(m.group(1), m.group(0)), value[0])
            name = value[2] if len(value) == 3 and value[1].upper() == "AS" else ""
            found.append(Stage(name=name, base=base))
        elif found:
            found[-1].instructions.append(instruction)
    return found


def stage(name: str) -> Stage:
    (match,) = [s for s in stages() if s.name == name]
    return match


def python_steps(stage_: Stage) -> list[list[str]]:
    """The stage's `python ...` commands as argv lists; the other commands are left out."""
    return [shlex.split(step) for step in stage_.run_steps() if step.startswith("python ")]


def other_steps(stage_: Stage) -> list[str]:
    return [step for step in stage_.run_steps() if not step.startswith("python ")]


def copy_sources(stage_: Stage) -> list[str]:
    """Sources of the stage's COPY instructions (without --from)."""
    sources: list[str] = []
    for instruction in stage_.of("COPY"):
        if any(flag.startswith("--from") for flag in instruction.flags):
            continue
        sources.extend(instruction.value[:-1])
    return sources
