"""Ctrl-C or SIGTERM while the CLI is still being imported: one line and the signal's exit code, no traceback."""

from __future__ import annotations

import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
# A signal arrives while Python looks for seemup.cli, i.e. in the middle of start-up, every time.
SCRIPT = """
import importlib.abc, os, runpy, signal, sys
class Interrupt(importlib.abc.MetaPathFinder):
    def find_spec(self, name, path, target=None):
        if name == "seemup.cli":
            os.kill(os.getpid(), signal.{sig})
        return None
sys.meta_path.insert(0, Interrupt())
sys.argv = ["seemup", "--help"]
runpy.run_module("seemup", run_name="__main__")
"""


@pytest.mark.parametrize(("sig", "code"), [("SIGINT", 130), ("SIGTERM", 143)])
def test_a_signal_during_start_up_is_one_line(sig: str, code: int) -> None:
    run = subprocess.run([sys.executable, "-c", SCRIPT.format(sig=sig)], capture_output=True, text=True, timeout=120)
    assert run.returncode == code, run.stderr
    assert run.stderr.strip() == "interrupted while starting: nothing was read or written"


def test_the_console_script_starts_the_same_way() -> None:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    assert project["scripts"]["seemup"] == "seemup._entry:main"
