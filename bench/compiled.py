"""Bytecode for jobdesk's modules before anything is timed.

pip compiles an installed package's modules when it installs them. A source checkout
(`pip install -e .`) under PYTHONDONTWRITEBYTECODE=1, as on many CI machines, never writes
them, and every `jobdesk` process would compile ~150 modules at start (~0.1 s of CPU) that
a user's installed copy does not; the benchmarks time what a user runs.
"""

from __future__ import annotations

import compileall
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def compile_jobdesk() -> None:
    compileall.compile_dir(ROOT / "jobdesk", quiet=1)
