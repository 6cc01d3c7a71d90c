"""The README's quick start puts `crm` on PATH, and its tour, pasted line by line into a fresh
shell, works.

The installed `crm` is reached the way the README says: its quick start's `export PATH=...`
line runs in a checkout whose `.venv` is this test run's virtualenv, and nothing else on PATH
provides `crm`. Each tour line then runs in a fresh `bash` (nothing carries over but files)
in an empty CRM_HOME and HOME, and must exit 0.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

README = Path(__file__).resolve().parents[2] / "README.md"


def _section(title: str) -> str:
    text = README.read_text(encoding="utf-8")
    assert f"## {title}" in text, f"the README has no {title!r} section"
    return text.split(f"## {title}", 1)[1].split("\n## ", 1)[0]


def _blocks(section: str) -> list[list[str]]:
    return [
        [line for line in block.splitlines() if line.strip()]
        for block in re.findall(r"```sh\n(.*?)```", section, re.S)
    ]


def _path_line() -> str:
    """The quick start's line that puts `crm` on PATH."""
    lines = [line for block in _blocks(_section("Quick start")) for line in block]
    found = [line for line in lines if line.startswith("export PATH=")]
    assert found, "the README's quick start does not say how `crm` gets on PATH"
    return found[0]


def _tour() -> list[str]:
    blocks = _blocks(_section("A short tour"))
    assert blocks, "the README has no tour"
    return blocks[0]


def test_the_quick_start_says_how_crm_gets_on_path() -> None:
    line = _path_line()
    assert ".venv/bin" in line
    quick = _section("Quick start")
    assert "pipx install ." in quick or "uv tool install ." in quick


def test_the_readme_tour_runs_line_by_line(tmp_path: Path) -> None:
    venv = Path(sys.prefix)
    if not (venv / "bin" / "crm").exists():
        pytest.skip(f"no installed crm in {venv}")
    checkout = tmp_path / "checkout"
    checkout.mkdir()
    (checkout / ".venv").symlink_to(venv, target_is_directory=True)
    home = tmp_path / "home"
    home.mkdir()
    # A fresh shell: the machine's PATH without any folder that already has a `crm`.
    inherited = [
        d
        for d in os.environ.get("PATH", "").split(os.pathsep)
        if d and not (Path(d) / "crm").exists()
    ]
    env = {
        "PATH": os.pathsep.join(inherited),
        "HOME": str(home),
        "CRM_HOME": str(home / "crm"),
        "LANG": "C.UTF-8",
    }
    # The README's line as written (comment and all), run from the checkout's root.
    on_path = f"set -e\ncd {checkout}\n{_path_line()}\ncd {home}\nset +e -o pipefail\n"

    which = subprocess.run(
        ["bash", "--noprofile", "--norc", "-c", on_path + "command -v crm"],
        env=env,
        capture_output=True,
        text=True,
    )
    assert which.returncode == 0, which.stderr
    assert which.stdout.strip() == str(checkout / ".venv" / "bin" / "crm")

    lines = _tour()
    assert any(line.startswith("crm deal won") or "deal won" in line for line in lines)
    for line in lines:
        if "| jq" in line and shutil.which("jq") is None:
            continue  # jq is the reader's tool, not crm's
        done = subprocess.run(
            ["bash", "--noprofile", "--norc", "-c", on_path + line],
            env=env,
            capture_output=True,
            text=True,
            timeout=60,
        )
        assert done.returncode == 0, (line, done.stdout, done.stderr)
