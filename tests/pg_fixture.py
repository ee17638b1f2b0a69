"""A real PostgreSQL server for the tests: `LOA_TEST_PG_URL`, or a throwaway cluster of its own.

The cluster is made from the Debian package, whatever major version is installed (the newest
`/usr/lib/postgresql/*/bin`, else `pg_config --bindir`): initdb into a temporary folder (as the
`postgres` OS user when we are root), password authentication (scram) for everyone, one
superuser `loa` with a random password, listening on 127.0.0.1 at a free port. When no server
can be had the tests FAIL with the reason: a missing PostgreSQL is never a passing run.

`pg_server` (session) is the admin URL of the server; `pg_admin_url` (per test) is the admin
URL of a fresh database, so every test starts from nothing. Role names made by `loa central`
carry the database name, so tests in one cluster never see each other's roles.
"""

from __future__ import annotations

import contextlib
import os
import secrets
import shutil
import socket
import subprocess
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import psycopg
import pytest

ENV = "LOA_TEST_PG_URL"


def pg_bindir() -> Path | None:
    """The newest installed PostgreSQL server's bin folder."""
    found = sorted(
        Path("/usr/lib/postgresql").glob("*/bin"),
        key=lambda p: [int(x) for x in p.parent.name.split(".") if x.isdigit()],
    )
    if found and (found[-1] / "initdb").exists():
        return found[-1]
    pg_config = shutil.which("pg_config")
    if pg_config:
        out = subprocess.run([pg_config, "--bindir"], capture_output=True, text=True)
        path = Path(out.stdout.strip())
        if (path / "initdb").exists():
            return path
    return None


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _as_postgres(args: list[str]) -> list[str]:
    if os.geteuid() != 0:
        return args
    runuser = shutil.which("runuser")
    if runuser is None:
        raise RuntimeError("running as root without runuser: cannot start postgres as a user")
    return [runuser, "-u", "postgres", "--", *args]


def libpq(url: str) -> str:
    """A psycopg conninfo from a SQLAlchemy-style URL."""
    return url.replace("postgresql+psycopg://", "postgresql://", 1)


@dataclass
class Cluster:
    bindir: Path
    base: Path
    port: int
    password: str

    @property
    def url(self) -> str:
        return f"postgresql+psycopg://loa:{self.password}@127.0.0.1:{self.port}/postgres"

    def pg_ctl(self, *args: str) -> subprocess.CompletedProcess[str]:
        cmd = [str(self.bindir / "pg_ctl"), "-D", str(self.base / "data"), *args]
        return subprocess.run(_as_postgres(cmd), capture_output=True, text=True)

    def start(self, fsync: bool = False) -> None:
        opts = f"-p {self.port} -k {self.base} -h 127.0.0.1 -c max_connections=300"
        opts += "" if fsync else " -c fsync=off"
        done = self.pg_ctl("-w", "-l", str(self.base / "log"), "-o", opts, "start")
        if done.returncode != 0:
            raise RuntimeError(f"pg_ctl start failed: {done.stderr or done.stdout}")

    def stop(self, mode: str = "fast") -> None:
        self.pg_ctl("-m", mode, "-w", "stop")

    def remove(self, mode: str = "fast") -> None:
        """Stopped, and its folder deleted."""
        self.stop(mode)
        shutil.rmtree(self.base, ignore_errors=True)


def start_cluster(fsync: bool = False) -> Cluster:
    bindir = pg_bindir()
    if bindir is None:
        raise RuntimeError(
            "no PostgreSQL server installed (no /usr/lib/postgresql/*/bin/initdb, no pg_config): "
            "apt install postgresql (scripts/install-debian-deps.sh does), or set "
            f"{ENV}=postgresql+psycopg://USER:PASSWORD@HOST/DB of a server the tests may use"
        )
    # under /tmp directly: the postgres user cannot enter pytest's root-only tmp folders
    base = Path(tempfile.mkdtemp(prefix="loa-pg-"))
    base.chmod(0o755)
    password = secrets.token_hex(12)
    (base / "pw").write_text(password + "\n")
    if os.geteuid() == 0:
        for p in (base, base / "pw"):
            shutil.chown(p, "postgres", "postgres")
    cmd = [str(bindir / "initdb"), "-D", str(base / "data"), "-U", "loa", "-E", "UTF8",
           "--auth=scram-sha-256", f"--pwfile={base / 'pw'}", "--no-sync"]  # fmt: skip
    done = subprocess.run(_as_postgres(cmd), capture_output=True, text=True)
    if done.returncode != 0:
        raise RuntimeError(f"initdb failed: {done.stderr or done.stdout}")
    cluster = Cluster(bindir, base, _free_port(), password)
    cluster.start(fsync)
    return cluster


def server_or_cluster(fsync: bool = False) -> tuple[str, Cluster | None]:
    """For the benchmarks: (the admin URL of $LOA_TEST_PG_URL, None), else (that of a new
    throwaway cluster, the cluster), which the caller removes when done."""
    server = os.environ.get(ENV)
    if server:
        return server, None
    cluster = start_cluster(fsync=fsync)
    return cluster.url, cluster


def recreate_database(server: str, name: str) -> str:
    """Database `name` on `server` dropped, with the roles named after it, and made anew; its
    admin URL."""
    with psycopg.connect(libpq(server), autocommit=True) as conn:
        conn.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")
        conn.execute(f"CREATE DATABASE {name}")
        for (role,) in conn.execute(
            "select rolname from pg_roles where rolname like %s", (f"{name}%",)
        ).fetchall():
            conn.execute(f'DROP ROLE "{role}"')
    return server.rsplit("/", 1)[0] + "/" + name


@pytest.fixture(scope="session")
def pg_cluster() -> Iterator[Cluster | None]:
    """The throwaway cluster (None when LOA_TEST_PG_URL names a server)."""
    if os.environ.get(ENV):
        yield None
        return
    try:
        cluster = start_cluster()
    except RuntimeError as exc:
        pytest.fail(f"PostgreSQL: {exc}", pytrace=False)
    try:
        yield cluster
    finally:
        cluster.remove("immediate")


@pytest.fixture(scope="session")
def pg_server(pg_cluster: Cluster | None) -> str:
    url = os.environ.get(ENV) or (pg_cluster.url if pg_cluster else "")
    try:
        with psycopg.connect(libpq(url), connect_timeout=10) as conn:
            conn.execute("select 1")
    except psycopg.Error as exc:
        pytest.fail(f"PostgreSQL at {ENV} or the test cluster does not answer: {exc}")
    return url


@pytest.fixture
def pg_admin_url(pg_server: str) -> Iterator[str]:
    """The admin URL of a new, empty database, dropped after the test."""
    name = f"t_{secrets.token_hex(4)}"
    with psycopg.connect(libpq(pg_server), autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    head, _, _db = pg_server.rpartition("/")
    yield f"{head}/{name}"
    with psycopg.connect(libpq(pg_server), autocommit=True) as conn:
        with contextlib.suppress(psycopg.Error):
            conn.execute(f'DROP DATABASE "{name}" WITH (FORCE)')
        roles = conn.execute(
            "select rolname from pg_roles where rolname like %s", (f"{name}%",)
        ).fetchall()
        for (role,) in roles:
            with contextlib.suppress(psycopg.Error):
                conn.execute(f'DROP ROLE "{role}"')
