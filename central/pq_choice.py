"""psycopg over the system's libpq in `loa run`, where there is one (issue 17).

The daemon holds one PostgreSQL connection, the bulletin fetcher's LISTEN (a khẩn cấp bulletin
must reach the loudspeakers within seconds). psycopg's binary package brings its own libpq
with its own OpenSSL: mapped beside the system's OpenSSL the daemon already holds (hashlib,
ssl), it costs ~3 MB of RSS more than Debian's libpq5 through psycopg's ctypes wrapper
(BENCHMARKS.md, "loa run without SQLAlchemy"). The wrapper is slower per row, which only
matters for bulk copies: the push runs in its own process with the default implementation.

`import_for_daemon()` imports psycopg once, before the fetcher does, with `PSYCOPG_IMPL` set
to "python" only during that import and only when libpq5 is found and the operator did not
choose an implementation; anything else, or a failure, leaves psycopg's own choice.
"""

from __future__ import annotations

import ctypes.util
import logging
import os
import sys

log = logging.getLogger("loa.central")


def import_for_daemon() -> str:
    """Import psycopg for the daemon; the libpq implementation in use ("python" = the
    system's libpq through ctypes, "binary" or "c" = psycopg's own)."""
    chosen = "psycopg" in sys.modules or "PSYCOPG_IMPL" in os.environ
    if not chosen and ctypes.util.find_library("pq") is not None:
        os.environ["PSYCOPG_IMPL"] = "python"
        try:
            import psycopg
        except ImportError:  # the wrapper cannot load it: psycopg's own choice then
            for name in [m for m in sys.modules if m.split(".")[0] == "psycopg"]:
                del sys.modules[name]
        finally:
            del os.environ["PSYCOPG_IMPL"]
    import psycopg

    impl = str(psycopg.pq.__impl__)
    log.info("central: psycopg with the %s libpq implementation", impl)
    return impl
