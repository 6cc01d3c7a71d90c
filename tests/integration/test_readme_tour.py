"""The README's tour, pasted line by line into a fresh shell, works: each line runs with the
installed `crm` on PATH in an empty CRM_HOME and exits 0."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

README = Path(__file__).resolve().parents[2] / "README.md"


def _tour() -> list[str]:
    text = README.read_text(encoding="utf-8")
    section = text.split("## A short tour", 1)[1]
    block = re.search(r"```sh\n(.*?)```", section, re.S)
    assert block, "the README has no tour"
    return [line for line in block.group(1).splitlines() if line.strip()]


def test_the_readme_tour_runs_line_by_line(tmp_path: Path) -> None:
    bin_dir = Path(sys.executable).parent
    if not (bin_dir / "crm").exists():
        pytest.skip(f"no installed crm beside {sys.executable}")
    home = tmp_path / "home"
    home.mkdir()
    env = {
        "PATH": f"{bin_dir}{os.pathsep}{os.environ.get('PATH', '')}",
        "HOME": str(home),
        "CRM_HOME": str(home / "crm"),
        "CRM_TIMEZONE": "Europe/Berlin",
    }
    lines = _tour()
    assert any(line.startswith("crm deal won") or "deal won" in line for line in lines)
    for line in lines:
        if "| jq" in line and shutil.which("jq") is None:
            continue  # jq is the reader's tool, not crm's
        done = subprocess.run(
            ["bash", "-c", f"set -o pipefail; {line}"],
            cwd=home,
            env=env,
            capture_output=True,
            text=True,
            timeout=60,
        )
        assert done.returncode == 0, (line, done.stdout, done.stderr)
