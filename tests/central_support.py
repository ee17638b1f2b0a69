"""Helpers for the central tests: a real central database set up through the CLI, station logs
of any size written through the log's own chaining, a TCP relay that can cut the network, and
direct psycopg connections as a given role."""

from __future__ import annotations

import contextlib
import socket
import threading
from datetime import UTC, datetime, timedelta
from pathlib import Path

import psycopg
from click.testing import CliRunner

from airtime.log import chain_in_order
from airtime.models import new_id
from airtime.store import T
from loa.cli import cli
from loa.db import open_database
from tests.pg_fixture import libpq

TOPICS = ("dich-vu-cong", "chi-so", "duong-day-nong")


def loa(*args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(cli, list(args))
    return result.exit_code, result.stdout, result.stderr


def add_station(admin: str, station: str, district: str = "h-thu") -> str:
    code, out, err = loa("central", "--url", admin, "add-station", station, "--name",
                         f"Đài xã {station}", "--district", district)  # fmt: skip
    assert code == 0, err
    return out.strip()


def central(admin: str, *stations: tuple[str, str]) -> dict[str, str]:
    """init, then one station per (id, district); {station: its URL}."""
    code, _out, err = loa("central", "--url", admin, "init")
    assert code == 0, err
    return {s: add_station(admin, s, d) for s, d in stations}


def write_rows(db: Path, station: str, n: int, start: datetime | None = None) -> str:
    """Append `n` closed plays (30 a day, three topics, ten spots) to the station's log."""
    url = f"sqlite:///{db}"
    engine = open_database(url)
    begin = start or datetime(2021, 1, 1, 6, 0, tzinfo=UTC)
    with engine.begin() as conn:
        done = conn.execute(T.select().where(T.c.station == station)).fetchall()
        offset = len(done)
        rows = []
        for i in range(offset, offset + n):
            at = begin + timedelta(days=i // 30, minutes=2 * (i % 30))
            topic = TOPICS[i % 3]
            rows.append(
                dict(
                    id=new_id(), station=station, slot="sang", kind="scheduled", topic=topic,
                    spot=f"{topic}-{i % 10}", title=f"Tin {i % 10} về {topic}",
                    path=f"{topic}/{i % 10}.mp3", scheduled_at=at, started_at=at,
                    ended_at=at + timedelta(seconds=60), played_s=60.0 + (i % 7) * 0.25,
                    status="completed" if i % 11 else "interrupted", error=None,
                )
            )  # fmt: skip
        chain_in_order(conn, station, rows)
        for k in range(0, len(rows), 5000):
            conn.execute(T.insert(), rows[k : k + 5000])
    engine.dispose()
    return url


def station_config(tmp: Path, station: str, db_url: str, central_url: str | None) -> Path:
    tmp.mkdir(parents=True, exist_ok=True)
    text = f"""
[station]
id = "{station}"
name = "Đài xã {station}"
[database]
url = "{db_url}"
"""
    if central_url:
        text += f'[central]\nurl = "{central_url}"\npush_every = "2s"\n'
    text += "".join(f'[[topics]]\nid = "{t}"\nname = "{t}"\n' for t in TOPICS)
    path = tmp / "config.toml"
    path.write_text(text, encoding="utf-8")
    return path


def connect_as(url: str) -> psycopg.Connection:
    return psycopg.connect(libpq(url), autocommit=True)


def scalar(url: str, query: str, params: tuple = ()) -> object:
    with connect_as(url) as conn:
        row = conn.execute(query, params).fetchone()
    return row[0] if row else None


class Relay:
    """A TCP relay between the station and the server: the village network, cut at will."""

    def __init__(self, target_port: int) -> None:
        self.target = ("127.0.0.1", target_port)
        self.sock = socket.socket()
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(64)
        self.port = self.sock.getsockname()[1]
        self.up = True
        self._conns: list[socket.socket] = []
        self._lock = threading.Lock()
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        while True:
            try:
                client, _ = self.sock.accept()
            except OSError:
                return
            if not self.up:
                client.close()
                continue
            try:
                server = socket.create_connection(self.target)
            except OSError:
                client.close()
                continue
            with self._lock:
                self._conns += [client, server]
            for a, b in ((client, server), (server, client)):
                threading.Thread(target=self._pipe, args=(a, b), daemon=True).start()

    @staticmethod
    def _pipe(a: socket.socket, b: socket.socket) -> None:
        with contextlib.suppress(OSError):
            while data := a.recv(65536):
                b.sendall(data)
        for s in (a, b):
            with contextlib.suppress(OSError):
                s.shutdown(socket.SHUT_RDWR)

    def down(self) -> None:
        self.up = False
        with self._lock:
            for s in self._conns:
                with contextlib.suppress(OSError):
                    s.shutdown(socket.SHUT_RDWR)
            self._conns = []

    def close(self) -> None:
        self.down()
        self.sock.close()


def via(url: str, port: int) -> str:
    """`url` with its port replaced (to go through a Relay)."""
    head, _, rest = url.rpartition("@")
    hostport, _, path = rest.partition("/")
    host = hostport.rsplit(":", 1)[0]
    return f"{head}@{host}:{port}/{path}"
