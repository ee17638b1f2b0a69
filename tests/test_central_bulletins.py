"""Bulletins on the central side, proven as each role (admin, district, station) on a real
PostgreSQL: a district sends only to its own stations and withdraws only its own bulletins; a
station reads only what is addressed to it and reports only for itself; the stations are told
(NOTIFY) when a bulletin is addressed or withdrawn; a file the library would refuse is refused
with the library's reason; the migration list tolerates a gap."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

import psycopg
import pytest

from central import bulletin_feed as feed
from tests.audio_media import tone
from tests.central_support import central, connect_as, loa, scalar

pytestmark = pytest.mark.postgres


@pytest.fixture
def district(tmp_path: Path, pg_admin_url: str) -> dict[str, str]:
    """Stations xa-1, xa-2 in h-a and xa-3 in h-b; a district login for h-a and one for h-b."""
    urls = central(pg_admin_url, ("xa-1", "h-a"), ("xa-2", "h-a"), ("xa-3", "h-b"))
    for code in ("h-a", "h-b"):
        rc, out, err = loa("central", "--url", pg_admin_url, "add-district", code, "--name", code)
        assert rc == 0, err
        urls[code] = out.strip()
    urls["admin"] = pg_admin_url
    tone(tmp_path / "tin.wav", 440.0, 2.0, amp=0.3)
    return urls


def send(url: str, path: Path, *extra: str) -> tuple[int, str, str]:
    return loa("central", "--url", url, "send", str(path), "--title", "Tin bão số 9", *extra)


def test_a_district_sends_to_its_own_stations_only(
    tmp_path: Path, district: dict[str, str]
) -> None:
    code, out, err = send(district["h-a"], tmp_path / "tin.wav", "--priority", "khan-cap")
    assert code == 0, err
    assert "xa-1, xa-2" in out and "xa-3" not in out
    code, _, err = send(district["h-a"], tmp_path / "tin.wav", "--priority", "thuong",
                        "--stations", "xa-1,xa-3")  # fmt: skip
    assert code == 1 and "xa-3: no such station that this role may address" in err
    code, _, err = send(district["h-a"], tmp_path / "tin.wav", "--priority", "thuong",
                        "--stations", "district:h-b")  # fmt: skip
    assert code == 1 and "district:h-b: no station of that district" in err
    # around the CLI, straight at the table: the policy refuses it
    with connect_as(district["h-a"]) as conn, pytest.raises(psycopg.errors.InsufficientPrivilege):
        conn.execute("INSERT INTO central.bulletin_station VALUES (1, 'xa-3')")
    with connect_as(district["h-b"]) as conn:  # another district sees nothing of h-a's
        assert conn.execute("SELECT count(*) FROM central.bulletin").fetchone() == (0,)
        assert conn.execute(
            "UPDATE central.bulletin SET withdrawn_at = now() WHERE id = 1"
        ).rowcount == 0  # fmt: skip
    code, _, err = loa("central", "--url", district["h-b"], "withdraw", "1")
    assert code == 1 and "no such bulletin that this role sent" in err
    sender, where, sha, size = (
        connect_as(district["admin"])
        .execute("SELECT sender, district, sha256, size FROM central.bulletin WHERE id = 1")
        .fetchone()
    )
    assert sender.endswith("_d_h-a") and where == "h-a" and len(sha) == 64 and size > 0
    # the province (admin) sends anywhere
    code, out, err = send(district["admin"], tmp_path / "tin.wav", "--priority", "uu-tien",
                          "--stations", "district:h-b")  # fmt: skip
    assert code == 0 and out.endswith("xa-3\n"), err


def test_a_station_reads_only_its_own_bulletins_and_reports_only_for_itself(
    tmp_path: Path, district: dict[str, str]
) -> None:
    assert send(district["h-a"], tmp_path / "tin.wav", "--priority", "thuong",
                "--stations", "xa-1")[0] == 0  # fmt: skip
    assert send(district["h-a"], tmp_path / "tin.wav", "--priority", "thuong",
                "--stations", "xa-2")[0] == 0  # fmt: skip
    with connect_as(district["xa-1"]) as conn:
        mine = feed.offered(conn)
        assert [b.id for b in mine] == [1]
        assert len(feed.audio(conn, 1)) > 1000
        with pytest.raises(LookupError):
            feed.audio(conn, 2)
        feed.report(conn, 1, "delivered", datetime.now(UTC))
        feed.report(conn, 1, "delivered", datetime.now(UTC))  # idempotent
        assert feed.reported(conn) == {(1, "delivered")}
        with pytest.raises(psycopg.errors.InsufficientPrivilege):
            feed.report(conn, 2, "delivered", datetime.now(UTC))  # not addressed to it
        with pytest.raises(psycopg.errors.InsufficientPrivilege):
            conn.execute(
                "INSERT INTO central.bulletin_report (bulletin, station, state, at) "
                "VALUES (1, 'xa-2', 'accepted', now())"
            )
        with pytest.raises(psycopg.errors.InsufficientPrivilege):
            conn.execute("UPDATE central.bulletin SET withdrawn_at = now()")
        with pytest.raises(psycopg.errors.InsufficientPrivilege):
            conn.execute(
                "INSERT INTO central.bulletin (title, priority, filename, audio, sha256, size, "
                "duration_s) VALUES ('x', 'khan-cap', 'x', 'x', repeat('0', 64), 1, 1)"
            )
    code, out, err = loa("central", "--url", district["h-a"], "bulletin", "1", "--json")
    assert code == 0, err
    shown = json.loads(out)
    (s,) = shown["stations"]
    assert s["station"] == "xa-1" and s["delivered_at"] and s["airings"] == []
    assert "waiting for the operator" in s["why_not"]
    code, out, _ = loa("central", "--url", district["h-a"], "bulletins", "--json")
    assert [(b["id"], b["delivered"]) for b in json.loads(out)] == [(1, 1), (2, 0)]
    code, out, _ = loa("central", "--url", district["h-a"], "bulletin", "2")
    assert "xa-2: nhận (delivered) -" in out and "station silent" in out


def test_stations_are_told_when_a_bulletin_is_addressed_or_withdrawn(
    tmp_path: Path, district: dict[str, str]
) -> None:
    with connect_as(district["xa-1"]) as conn:
        feed.listen(conn)
        assert send(district["h-a"], tmp_path / "tin.wav", "--priority", "khan-cap")[0] == 0
        got = list(conn.notifies(timeout=5, stop_after=1))
        assert [n.channel for n in got] == [feed.CHANNEL]
        code, out, err = loa("central", "--url", district["h-a"], "withdraw", "1")
        assert code == 0 and "đã thu hồi (withdrawn)" in out, err
        assert len(list(conn.notifies(timeout=5, stop_after=1))) == 1
        assert feed.offered(conn)[0].withdrawn_at is not None
    code, out, _ = loa("central", "--url", district["h-a"], "bulletin", "1")
    assert "withdrawn" in out


def test_a_file_the_library_refuses_is_refused_with_its_reason(
    tmp_path: Path, district: dict[str, str]
) -> None:
    bad = tmp_path / "hong.mp3"
    bad.write_bytes(b"this is no audio at all" * 100)
    code, _, err = send(district["h-a"], bad, "--priority", "khan-cap")
    assert code == 1 and "hong.mp3" in err and "the library refuses it" in err
    silent = tmp_path / "im-lang.wav"
    tone(silent, 440.0, 2.0, amp=0.0)
    code, _, err = send(district["h-a"], silent, "--priority", "khan-cap")
    assert code == 1 and "im-lang.wav" in err and "Traceback" not in err
    assert scalar(district["admin"], "SELECT count(*) FROM central.bulletin") == 0
    code, _, err = send(district["h-a"], tmp_path / "tin.wav", "--priority", "gap")
    assert code == 2 and "--priority" in err


def test_the_migration_list_tolerates_a_gap(pg_admin_url: str) -> None:
    from central.schema import MIGRATIONS, init, latest_version

    # a schema made by a loa that had 1, 2 and 4 but not yet 3 (branches numbered apart):
    # the next init applies 3, the one not recorded, and nothing twice (later migrations,
    # which may build on 3, come after it)
    without_3 = tuple(m for m in MIGRATIONS if m.version in (1, 2, 4))
    assert init(pg_admin_url, without_3) == (0, 4)
    with connect_as(pg_admin_url) as conn:
        versions = [r[0] for r in conn.execute("SELECT version FROM central.schema_version")]
    assert sorted(versions) == [1, 2, 4]
    assert init(pg_admin_url) == (4, latest_version())
    with connect_as(pg_admin_url) as conn:
        versions = [r[0] for r in conn.execute("SELECT version FROM central.schema_version")]
        assert conn.execute("SELECT to_regclass('central.rollup_month')").fetchone()[0]
    assert sorted(versions) == sorted(m.version for m in MIGRATIONS)


def test_a_bundle_from_before_the_bulletin_fields_still_imports(
    tmp_path: Path, pg_admin_url: str
) -> None:
    import gzip
    import hashlib

    from tests.central_support import station_config, write_rows

    central(pg_admin_url, ("xa-a", "h-a"))
    cfg = station_config(tmp_path, "xa-a", write_rows(tmp_path / "a.db", "xa-a", 60), None)
    new = tmp_path / "new.loa.gz"
    code, _, err = loa("--config", str(cfg), "airtime", "export", "--period", "2021",
                       "--output", str(new))  # fmt: skip
    assert code == 0, err
    lines = gzip.decompress(new.read_bytes()).split(b"\n")
    rows = [json.loads(x) for x in lines[1:] if x]
    assert all(r[-2:] == [None, None] for r in rows)  # bulletin, priority: null
    # the same rows as a loa before migration 7 wrote them: two values fewer a line
    old_lines = [json.dumps(r[:-2], ensure_ascii=False, separators=(",", ":")).encode()
                 for r in rows]  # fmt: skip
    manifest = json.loads(lines[0])
    manifest["sha256"] = hashlib.sha256(b"".join(x + b"\n" for x in old_lines)).hexdigest()
    old = tmp_path / "old.loa.gz"
    old.write_bytes(gzip.compress(b"\n".join([json.dumps(manifest).encode(), *old_lines, b""])))
    code, out, err = loa("central", "--url", pg_admin_url, "import", str(old))
    assert code == 0 and "mới (new) 60" in out, err
    assert loa("central", "--url", pg_admin_url, "verify")[0] == 0
    code, out, err = loa("central", "--url", pg_admin_url, "import", str(new))
    assert code == 0 and "mới (new) 0" in out, err
