"""Shared fixtures: the repository, the `tenet` CLI binary the results are compared with,
and the fixed evaluation instant of the examples."""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path
from typing import Dict, List, Tuple

import pytest

REPO = Path(__file__).resolve().parents[2]
NOW = "2026-11-22T00:00:00Z"


def _cargo_built(target: str, args: List[str]) -> Path:
    subprocess.run(["cargo", "build", "--quiet", *args], cwd=REPO, check=True)
    return REPO / "target" / "debug" / target


@pytest.fixture(scope="session")
def tenet_bin() -> Path:
    """The CLI: $TENET_BIN, or a debug build of the checkout this package comes from."""
    if os.environ.get("TENET_BIN"):
        return Path(os.environ["TENET_BIN"])
    return _cargo_built("tenet", ["--bin", "tenet"])


@pytest.fixture(scope="session")
def gen_bin() -> Path:
    """The benchmark generator (examples/gen.rs): $TENET_GEN, or a debug build."""
    if os.environ.get("TENET_GEN"):
        return Path(os.environ["TENET_GEN"])
    return _cargo_built("examples/gen", ["--example", "gen"])


def run_cli(tenet_bin: Path, *args: str) -> Tuple[List[Dict], Dict]:
    """`tenet check ARGS --format jsonl`, run from the repository: (findings, summary)."""
    out = subprocess.run(
        [str(tenet_bin), "check", "--format", "jsonl", *args],
        cwd=REPO,
        capture_output=True,
        check=False,
    )
    assert out.returncode in (0, 1, 2), out.stderr.decode()
    lines = [json.loads(line) for line in out.stdout.decode().splitlines()]
    assert "summary" in lines[-1], out.stdout[-500:]
    return lines[:-1], lines[-1]["summary"]


def cli_jsonl(tenet_bin: Path, *args: str) -> str:
    out = subprocess.run(
        [str(tenet_bin), "check", "--format", "jsonl", *args], cwd=REPO, capture_output=True, check=False
    )
    assert out.returncode in (0, 1, 2), out.stderr.decode()
    return out.stdout.decode()


@pytest.fixture(autouse=True, scope="session")
def _in_repo():
    """Paths in findings are as given: run from the repository root, as the CLI is."""
    with pytest.MonkeyPatch.context() as m:
        m.chdir(REPO)
        yield


def unlocated(findings: List[Dict]) -> List[Dict]:
    """Findings without `location`: a tenant given as a Python value (a dict) or as a Spark
    row has no file, so its findings carry none, while the CLI's point into the file."""
    return [{k: v for k, v in f.items() if k != "location"} for f in findings]
