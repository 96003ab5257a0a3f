"""Importing core makes OpenMP threads sleep while they wait (docs/benchmarks.md, "metarec train
beside another multithreaded job"), unless the user chose otherwise."""

from __future__ import annotations

import os
import subprocess
import sys

SHOW = "import core, os; print(os.environ.get('OMP_WAIT_POLICY'))"


def policy_after_import(**env: str) -> str:
    base = {k: v for k, v in os.environ.items() if k != "OMP_WAIT_POLICY"}
    out = subprocess.run([sys.executable, "-c", SHOW], env={**base, **env}, capture_output=True,
                         text=True, check=True)
    return out.stdout.strip()


def test_waiting_threads_sleep_by_default():
    assert policy_after_import() == "PASSIVE"


def test_the_users_own_setting_wins():
    assert policy_after_import(OMP_WAIT_POLICY="ACTIVE") == "ACTIVE"
