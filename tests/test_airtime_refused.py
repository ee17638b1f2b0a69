"""An airtime row the database refuses for a reason other than being down (here a real SQLite
trigger aborting the insert, as a constraint would) is held in memory like a full disk's rows,
reported once as the database outage `loa status` shows, and written once the cause passes.
Before, the error went to the log as a traceback and the row was lost. Real SQLite, the real
runner on a virtual clock, the null output."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

from sqlmodel import Session, select

from airtime.models import Airtime
from loa.db import open_database, station_db
from scheduler.airlog import AirLog
from scheduler.slots import Occurrence
from tests.airlog_engine import engine_of
from tests.test_daemon_virtual import MONDAY, SANG, STATION, runner_at

REFUSE = (
    "CREATE TRIGGER refuse_airtime BEFORE INSERT ON airtime "
    "BEGIN SELECT RAISE(ABORT, 'refused by a test trigger'); END"
)


def stored(airlog: AirLog) -> list[Airtime]:
    with Session(engine_of(airlog)) as session:
        return list(session.exec(select(Airtime).order_by(Airtime.seq)))


def test_a_refused_airtime_row_is_held_reported_and_written_later(tmp_path: Path) -> None:
    airlog = AirLog(station_db(open_database(f"sqlite:///{tmp_path}/loa.db")), STATION.id)
    with engine_of(airlog).begin() as conn:
        conn.exec_driver_sql(REFUSE)
    occ = Occurrence(MONDAY.replace(hour=6), SANG)
    outcome = runner_at(airlog, occ.at - timedelta(seconds=5)).air_slot(occ)
    assert outcome.status == "aired"
    assert stored(airlog) == []  # the database took none of them
    outage = airlog.outage()
    assert outage is not None, "the refusal is not reported"
    assert "refused by a test trigger" in outage["error"]
    assert outage["held"] >= len(outcome.results)
    held = airlog.rows_between(SANG.name, occ.at, occ.end)  # nothing airs twice meanwhile
    assert {r.spot for r in held if r.spot} == {r.key for r in outcome.results}

    with engine_of(airlog).begin() as conn:
        conn.exec_driver_sql("DROP TRIGGER refuse_airtime")
    assert airlog.flush()
    rows = stored(airlog)
    assert [r.spot for r in rows] == [r.key for r in outcome.results]
    assert {r.status for r in rows} == {"completed"}
    assert airlog.outage() is None
    messages = [(e.source, e.message) for e in airlog.events()]
    database = [m for source, m in messages if source == "database"]
    assert len(database) == 2, messages  # once when it began, once when it ended
    assert "refused by a test trigger" in database[-1]  # the older one: the outage began
