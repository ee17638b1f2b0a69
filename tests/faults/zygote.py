"""A pre-imported `loa` that forks a fresh `loa run` on request: the kill -9 cycles.

`python -m loa run` spends about 1.5 s importing (SQLAlchemy, APScheduler, numpy, openpyxl)
before it does anything; 50 kill -9 cycles would spend most of their time there. This
process imports the CLI once, then for each JSON line on stdin ({"argv": [...], "log": path})
forks a child that runs exactly what `python -m loa ARGV` runs (the click CLI's main) in a
session of its own with stdout and stderr in `log`, and prints the child's pid. The child is
a real `loa run`: same code, same database, same signals; only the imports were done before
the fork. Children are reaped automatically (SIGCHLD ignored here, restored in the child).
"""

from __future__ import annotations

import json
import os
import signal
import sys


def main() -> None:
    import loa.cli
    import scheduler.daemon
    import scheduler.output.null  # noqa: F401

    with __import__("contextlib").suppress(ImportError):
        import audio_library.scan  # noqa: F401

    signal.signal(signal.SIGCHLD, signal.SIG_IGN)
    print("ready", flush=True)
    for line in sys.stdin:
        request = json.loads(line)
        pid = os.fork()
        if pid == 0:
            signal.signal(signal.SIGCHLD, signal.SIG_DFL)
            os.setsid()
            fd = os.open(request["log"], os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
            os.dup2(fd, 1)
            os.dup2(fd, 2)
            os.close(fd)
            stdin = os.open(os.devnull, os.O_RDONLY)
            os.dup2(stdin, 0)
            code = 0
            try:
                loa.cli.cli.main(args=request["argv"], prog_name="loa")
            except SystemExit as exc:
                code = exc.code if isinstance(exc.code, int) else 1
            except BaseException:
                import traceback

                traceback.print_exc()
                code = 1
            sys.stdout.flush()
            sys.stderr.flush()
            os._exit(code)
        print(pid, flush=True)


if __name__ == "__main__":
    main()
