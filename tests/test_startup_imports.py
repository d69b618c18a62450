"""What a start of `jobdesk` imports: a SQLite laptop pays nothing for the team store."""

from __future__ import annotations

import subprocess
import sys

import pytest


def test_a_sqlite_start_does_not_import_the_postgresql_driver() -> None:
    probe = ("import sys, jobdesk.cli, jobdesk.store; "
             "print('psycopg' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True,
                         check=True)
    assert out.stdout.strip() == "False"


def test_the_team_store_hands_peewee_the_driver() -> None:
    pytest.importorskip("psycopg")
    probe = ("import jobdesk.store, jobdesk.store.postgres, peewee; "
             "print(peewee.psycopg is not None, "
             "peewee.Psycopg3Adapter.txn_inerror is not None)")
    out = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True,
                         check=True)
    assert out.stdout.split() == ["True", "True"]
