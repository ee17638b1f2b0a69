"""Amplifier hooks: a shell command run before and after a broadcast, with a timeout.

A failing hook is logged (and returned as an error string for `loa status`); the broadcast
airs anyway: a station with a stuck relay is better heard late than not at all.
"""

from __future__ import annotations

import logging
import subprocess

log = logging.getLogger("loa.hooks")


def run_hook(name: str, command: str | None, timeout_s: float) -> str | None:
    """Run `command` through the shell; None when it succeeded, else what went wrong."""
    if not command:
        return None
    try:
        done = subprocess.run(
            command, shell=True, capture_output=True, text=True, timeout=timeout_s, check=False
        )
    except subprocess.TimeoutExpired:
        problem = f"{name}: `{command}` did not finish within {timeout_s:g} s"
    except OSError as exc:
        problem = f"{name}: `{command}` could not start: {exc}"
    else:
        if done.returncode == 0:
            log.info("%s: `%s` ok", name, command)
            return None
        tail = (done.stderr or done.stdout).strip().splitlines()[-1:] or [""]
        problem = f"{name}: `{command}` exited with {done.returncode} {tail[0]}".rstrip()
    log.error("%s", problem)
    return problem
