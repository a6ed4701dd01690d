"""The arrows of docs/architecture.md hold: the import-linter contracts in pyproject.toml are all kept."""

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_import_contracts_are_kept():
    # A child process: the linter builds the import graph from source, apart from what this test run imported.
    done = subprocess.run(
        [str(Path(sys.executable).parent / "lint-imports"), "--no-cache"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stdout + done.stderr


def test_contracts_cover_every_app():
    """A new app joins the layers contract, or its arrows go unchecked."""
    text = (ROOT / "pyproject.toml").read_text()
    apps = sorted(p.parent.name for p in ROOT.glob("*/apps.py"))
    for app in apps:
        assert f'"{app}"' in text.split("[tool.importlinter]", 1)[1], f"{app} is in no import-linter contract"
