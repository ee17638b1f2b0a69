"""`central.pq_choice`: the daemon's psycopg over the system's libpq5, and its fallbacks.

Each case runs in a fresh interpreter (the choice is made at psycopg's first import)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

CASE = """
import ctypes.util, json, os, sys
if sys.argv[1] == "no-libpq":  # a libpq the wrapper cannot load: the import fails over
    ctypes.util.find_library = lambda name: "libpq-that-is-not-there.so.5"
from central.pq_choice import import_for_daemon
impl = import_for_daemon()
import psycopg
print(json.dumps({"impl": impl, "same": psycopg.pq.__impl__ == impl,
                  "env": os.environ.get("PSYCOPG_IMPL")}))
"""


def choose(case: str, **env: str) -> dict[str, object]:
    base = {k: v for k, v in os.environ.items() if k != "PSYCOPG_IMPL"}
    done = subprocess.run(
        [sys.executable, "-c", CASE, case],
        cwd=ROOT, env={**base, **env}, capture_output=True, text=True, check=True,
    )  # fmt: skip
    return json.loads(done.stdout)


def test_the_system_libpq_is_used_and_the_environment_left_as_it_was() -> None:
    # libpq5 is installed here (scripts/install-debian-deps.sh)
    assert choose("default") == {"impl": "python", "same": True, "env": None}


def test_an_operators_choice_is_kept() -> None:
    assert choose("default", PSYCOPG_IMPL="binary") == {
        "impl": "binary", "same": True, "env": "binary",
    }  # fmt: skip


def test_a_libpq_that_cannot_be_loaded_falls_back_to_psycopgs_own() -> None:
    assert choose("no-libpq") == {"impl": "binary", "same": True, "env": None}
