"""Row-level security, proven by connecting AS each role the CLI created: a station inserts
only under its own id, reads only its own rows, never updates or deletes; a district reads its
own district's stations only; neither touches the roll-ups except through the trigger."""

from __future__ import annotations

from pathlib import Path

import psycopg
import pytest

from central.push import StationReport, push
from loa.db import open_database
from tests.central_support import central, connect_as, loa, scalar, write_rows

pytestmark = pytest.mark.postgres

ROW = (
    "INSERT INTO central.airtime (chain_seq, hash, id, station, kind, title, path, played_s, "
    "status, started_at) VALUES (%s, 'x', %s, %s, 'scheduled', 't', 'p', 1, 'completed', now())"
)


@pytest.fixture
def province(tmp_path: Path, pg_admin_url: str) -> dict[str, str]:
    """Three stations in two districts, each with 60 rows pushed; a district login for h-a."""
    urls = central(pg_admin_url, ("xa-1", "h-a"), ("xa-2", "h-a"), ("xa-3", "h-b"))
    for s, url in urls.items():
        engine = open_database(write_rows(tmp_path / f"{s}.db", s, 60))
        with engine.connect() as source:
            push(source, url, s, StationReport({"slots": []}, "test"))
        engine.dispose()
    code, out, err = loa("central", "--url", pg_admin_url, "add-district", "h-a", "--name",
                         "Huyện A")  # fmt: skip
    assert code == 0, err
    return {**urls, "h-a": out.strip(), "admin": pg_admin_url}


def _refused(url: str, query: str, params: tuple = ()) -> str:
    with connect_as(url) as conn, pytest.raises(psycopg.errors.InsufficientPrivilege) as info:
        conn.execute(query, params)
    return str(info.value)


def test_a_station_inserts_only_under_its_own_id(province: dict[str, str]) -> None:
    reason = _refused(province["xa-1"], ROW, (61, "fake-1", "xa-2"))
    assert "row-level security" in reason
    assert (
        scalar(province["admin"], "select count(*) from central.airtime where id = 'fake-1'") == 0
    )
    # its own id is accepted (the policy, not loa's code, decides)
    with connect_as(province["xa-1"]) as conn:
        conn.execute(ROW, (61, "own-1", "xa-1"))
    assert (
        scalar(province["admin"], "select count(*) from central.airtime where station='xa-1'") == 61
    )


def test_a_station_never_updates_nor_deletes(province: dict[str, str]) -> None:
    for query in (
        "UPDATE central.airtime SET title = 'sửa' WHERE station = 'xa-1'",
        "DELETE FROM central.airtime WHERE station = 'xa-1'",
        "UPDATE central.airtime SET title = 'sửa' WHERE station = 'xa-2'",
        "DELETE FROM central.airtime",
        "TRUNCATE central.airtime",
        "UPDATE central.rollup_day SET plays = 0",
        "INSERT INTO central.rollup_day VALUES ('xa-1', '2021-01-01', 't', 'k', 's', 1, 1, 1)",
        "DELETE FROM central.station_event",
        "UPDATE central.station SET district = 'h-b'",
    ):
        assert "permission denied" in _refused(province["xa-1"], query), query
    assert scalar(province["admin"], "select count(*) from central.airtime") == 180
    assert scalar(province["admin"], "select sum(plays) from central.rollup_day") == 180


def test_a_station_reads_only_its_own_rows(province: dict[str, str]) -> None:
    with connect_as(province["xa-1"]) as conn:
        seen = set(conn.execute("SELECT DISTINCT station FROM central.airtime").fetchall())
        assert seen == {("xa-1",)}
        assert conn.execute("SELECT count(*) FROM central.airtime WHERE station = 'xa-2'"
                            ).fetchone() == (0,)  # fmt: skip
        assert {r[0] for r in conn.execute("SELECT station FROM central.rollup_day")} == {"xa-1"}
        assert [r[0] for r in conn.execute("SELECT id FROM central.station")] == ["xa-1"]
        assert [r[0] for r in conn.execute("SELECT station FROM central.station_report")] == [
            "xa-1"
        ]
    # and what `loa central stations` shows that role
    code, out, _ = loa("central", "--url", province["xa-1"], "stations", "--json")
    assert code == 0 and '"xa-2"' not in out and '"xa-1"' in out


def test_a_station_cannot_report_for_another_nor_call_the_trigger(
    province: dict[str, str],
) -> None:
    # the heartbeat function writes under the caller's own station only
    with connect_as(province["xa-1"]) as conn:
        conn.execute("SELECT central.report_in('{\"forged\": true}', 'x')")
    forged = scalar(province["admin"], "select station from central.station_report "
                    "where schedule ? 'forged'")  # fmt: skip
    assert forged == "xa-1"
    assert "permission denied" in _refused(province["xa-1"], "SELECT central.rollup_insert()")
    # a district role is no station: it may not report in
    assert "permission denied" in _refused(province["h-a"], "SELECT central.report_in('{}', 'x')")


def test_a_district_reads_its_own_district_only_and_writes_nothing(
    province: dict[str, str],
) -> None:
    with connect_as(province["h-a"]) as conn:
        seen = {r[0] for r in conn.execute("SELECT DISTINCT station FROM central.airtime")}
        assert seen == {"xa-1", "xa-2"}
        sums = {r[0] for r in conn.execute("SELECT station FROM central.rollup_day")}
        assert sums == {"xa-1", "xa-2"}
    reason = _refused(province["h-a"], ROW, (61, "fake-2", "xa-1"))
    assert "permission denied" in reason
    assert "permission denied" in _refused(province["h-a"], "DELETE FROM central.airtime")
    code, out, _ = loa("central", "--url", province["h-a"], "stations")
    assert code == 0 and "xa-1" in out and "xa-2" in out and "xa-3" not in out


def test_the_admin_sees_everything_and_a_wrong_password_is_refused(
    province: dict[str, str],
) -> None:
    code, out, _ = loa("central", "--url", province["admin"], "stations")
    assert code == 0 and all(s in out for s in ("xa-1", "xa-2", "xa-3"))
    wrong = province["xa-1"].replace("@", "x@", 1)
    code, _out, err = loa("central", "--url", wrong, "stations")
    assert code == 1 and "password authentication failed" in err
    assert wrong.split(":")[2].split("@")[0] not in err  # never the password


def test_a_push_under_another_station_id_is_refused(
    tmp_path: Path, province: dict[str, str]
) -> None:
    engine = open_database(write_rows(tmp_path / "other.db", "xa-2", 70))
    with engine.connect() as source, pytest.raises(Exception) as info:
        push(source, province["xa-1"], "xa-2")
    assert "refused this station's role" in str(info.value)
    assert (
        scalar(province["admin"], "select count(*) from central.airtime where station='xa-2'") == 60
    )
