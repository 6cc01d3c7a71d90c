"""Several processes writing to one SQLite file at once: all succeed, nothing is lost."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

WRITER = """
import sys
from crm_cli.cli import main
tag, count = sys.argv[1], int(sys.argv[2])
for i in range(count):
    code = main(["contact", "add", f"{tag} {i}", "--email", f"{tag}{i}@example.com"])
    if code:
        sys.exit(code)
"""


def test_two_processes_write_at_once(tmp_path: Path, crm_home: Path) -> None:
    env = dict(os.environ, CRM_HOME=str(crm_home))
    # Create the database first so both writers race on writes, not on the first migration.
    subprocess.run(
        [sys.executable, "-m", "crm_cli", "contact", "list"],
        env=env,
        check=True,
        capture_output=True,
    )
    procs = [
        subprocess.Popen(
            [sys.executable, "-c", WRITER, tag, "40"],
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            text=True,
        )
        for tag in ("alpha", "beta", "gamma")
    ]
    errors = [p.communicate(timeout=120)[1] for p in procs]
    assert [p.returncode for p in procs] == [0, 0, 0], errors
    assert not any("locked" in e for e in errors)
    import sqlite3

    conn = sqlite3.connect(crm_home / "crm.db")
    assert conn.execute("SELECT count(*) FROM contact").fetchone()[0] == 120
    assert conn.execute("SELECT count(*) FROM contact_email").fetchone()[0] == 120
    conn.close()


def test_first_run_races_migrate_once(tmp_path: Path, crm_home: Path) -> None:
    env = dict(os.environ, CRM_HOME=str(crm_home))
    procs = [
        subprocess.Popen(
            [sys.executable, "-m", "crm_cli", "contact", "add", f"P{i}"],
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            text=True,
        )
        for i in range(3)
    ]
    errors = [p.communicate(timeout=120)[1] for p in procs]
    assert [p.returncode for p in procs] == [0, 0, 0], errors
