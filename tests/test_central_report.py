"""`loa central report` against a real PostgreSQL: stations push real logs (the station's own
chaining), and the district's figures are checked against each station's own `loa airtime
report` on its own log, for halves, the year and a range with edge days."""

from __future__ import annotations

import io
import json
import zipfile
from datetime import UTC, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
import sqlalchemy as sa
from docx import Document as read_docx
from openpyxl import load_workbook

from airtime.chain import BASE
from airtime.store import T
from central.push import StationReport, push
from central.schema import MIGRATIONS, init, latest_version
from loa.db import open_database
from tests.central_support import (
    TOPICS,
    central,
    connect_as,
    loa,
    scalar,
    station_config,
    write_rows,
)

pytestmark = pytest.mark.postgres

SCHEDULE = {"topics": [{"id": t, "name": f"Chủ đề {t}", "weight": w}
                       for t, w in zip(TOPICS, (2, 1, 1), strict=True)], "slots": []}  # fmt: skip
# (station, district, first day, rows): 30 rows a day; xa-1 and xa-2 straddle 30 June
STATIONS = (
    ("xa-1", "h-a", datetime(2021, 6, 20, 6, tzinfo=UTC), 600),
    ("xa-2", "h-a", datetime(2021, 6, 28, 6, tzinfo=UTC), 450),
    ("xa-3", "h-b", datetime(2021, 3, 1, 6, tzinfo=UTC), 300),
)
SILENT = ("xa-4", "h-a")  # registered, never pushed
PERIODS = ("2021-H1", "2021-H2", "2021", "2021-06-25..2021-07-03", "2021-07")


@pytest.fixture
def province(tmp_path: Path, pg_admin_url: str) -> dict[str, object]:
    urls = central(pg_admin_url, *((s, d) for s, d, _, _ in STATIONS), SILENT)
    configs = {}
    for s, _d, start, n in STATIONS:
        db = write_rows(tmp_path / f"{s}.db", s, n, start)
        engine = open_database(db)
        with engine.connect() as source:
            push(source, urls[s], s, StationReport(SCHEDULE, "test"))
        engine.dispose()
        configs[s] = station_config(tmp_path / s, s, db, None)
    code, out, err = loa("central", "--url", pg_admin_url, "add-district", "h-a", "--name",
                         "Huyện A")  # fmt: skip
    assert code == 0, err
    return {"admin": pg_admin_url, "h-a": out.strip(), "configs": configs, "tmp": tmp_path}


def central_json(url: str, *args: str) -> dict:
    code, out, err = loa("central", "--url", url, "report", "--format", "json", *args)
    assert code == 0, err
    return json.loads(out)


def station_json(config: Path, period: str) -> dict:
    code, out, err = loa("--config", str(config), "airtime", "report", "--period", period,
                         "--format", "json")  # fmt: skip
    assert code == 0, err
    return json.loads(out)


def test_district_totals_equal_the_sum_of_the_stations_own_reports(province: dict) -> None:
    configs = province["configs"]
    for period in PERIODS:
        data = central_json(province["admin"], "--period", period, "--district", "h-a")
        (part,) = data["districts"]
        own = {s: station_json(configs[s], period) for s in ("xa-1", "xa-2")}
        assert part["totals"]["plays"] == sum(o["total"]["plays"] for o in own.values()), period
        assert part["totals"]["seconds"] == pytest.approx(
            sum(o["total"]["seconds"] for o in own.values()), abs=1e-6
        )
        by_id = {s["id"]: s for s in part["stations"]}
        for s, o in own.items():
            if o["total"]["plays"] == 0:
                continue
            assert by_id[s]["plays"] == o["total"]["plays"], (period, s)
            assert by_id[s]["seconds"] == pytest.approx(o["total"]["seconds"], abs=1e-6)
            mine = {t["id"]: t["seconds"] for t in o["topics"] if t["seconds"]}
            assert by_id[s]["topics"] == pytest.approx(mine)
        # per topic across the district: the same sums; distinct spots as the logs have them
        for topic in part["topics"]:
            want = sum(t["plays"] for o in own.values() for t in o["topics"]
                       if t["id"] == topic["id"])  # fmt: skip
            assert topic["plays"] == want, (period, topic["id"])


def test_h1_plus_h2_is_the_year_across_stations(province: dict) -> None:
    halves = [central_json(province["admin"], "--period", p) for p in ("2021-H1", "2021-H2")]
    year = central_json(province["admin"], "--period", "2021")
    assert [len(d["districts"]) for d in (*halves, year)] == [2, 2, 2]
    for key in ("plays", "missed", "due"):
        assert halves[0]["totals"][key] + halves[1]["totals"][key] == year["totals"][key], key
    assert halves[0]["totals"]["seconds"] + halves[1]["totals"]["seconds"] == pytest.approx(
        year["totals"]["seconds"]
    )
    assert year["totals"]["plays"] > halves[0]["totals"]["plays"] > 0
    for i, part in enumerate(year["districts"]):
        for j, station in enumerate(part["stations"]):
            h = [d["districts"][i]["stations"][j]["plays"] or 0 for d in halves]
            assert sum(h) == (station["plays"] or 0), station["id"]


def test_a_station_that_did_not_push_is_listed_as_not_reporting_not_zero(province: dict) -> None:
    data = central_json(province["admin"], "--period", "2021", "--district", "h-a")
    silent = {s["id"]: s for s in data["districts"][0]["stations"]}["xa-4"]
    assert silent["reporting"] is False and silent["plays"] is None and silent["seconds"] is None
    assert data["not_reporting"] == ["xa-4"]
    assert data["districts"][0]["totals"]["stations"] == 3
    assert data["districts"][0]["totals"]["reporting"] == 2
    code, out, err = loa("central", "--url", province["admin"], "report", "--period", "2021",
                         "--district", "h-a")  # fmt: skip
    assert code == 0, err
    out = " ".join(out.split())  # the text form wraps at 80 columns
    assert "Đài không gửi số liệu hoặc gửi chậm" in out
    assert "Đài xã xa-4 Huyện A chưa gửi chưa gửi Không gửi số liệu của kỳ" in out
    assert "1/3 đài không gửi số liệu của kỳ báo cáo" in out  # section II names it
    assert "xa-4" in err  # and the command says so on stderr


def test_a_station_silent_for_longer_than_stale_days_is_named(province: dict) -> None:
    admin = province["admin"]
    with connect_as(admin) as conn:  # xa-2 last pushed 20 days ago
        conn.execute("UPDATE central.airtime SET received_at = now() - interval '20 days' "
                     "WHERE station = 'xa-2'")  # fmt: skip
        conn.execute("UPDATE central.station_report SET heartbeat_at = now() - interval '20 days'"
                     " WHERE station = 'xa-2'")  # fmt: skip
    this_year = str(datetime.now(UTC).year)
    data = central_json(admin, "--period", this_year, "--district", "h-a")
    assert data["period"]["provisional"] is True
    assert data["stale"] == []  # xa-2 has nothing this year: it is not reporting
    assert set(data["not_reporting"]) == {"xa-1", "xa-2", "xa-4"}
    # a window ending today: xa-2 is stale at 7 days, not at 30
    today = datetime.now(ZoneInfo("Asia/Ho_Chi_Minh")).date()  # the stations' day
    window = f"2021-01-01..{today.isoformat()}"
    data = central_json(admin, "--period", window, "--district", "h-a")
    assert data["stale"] == ["xa-2"] and data["period"]["provisional"] is True
    data = central_json(admin, "--period", window, "--district", "h-a", "--stale", "30")
    assert data["stale"] == []
    _code, out, _ = loa("central", "--url", admin, "report", "--period", window, "--district",
                       "h-a")  # fmt: skip
    out = " ".join(out.split())
    assert "Quá 7 ngày chưa gửi" in out and "số liệu tạm tính" in out


def test_the_district_role_sees_only_its_district(province: dict) -> None:
    district = province["h-a"]
    data = central_json(district, "--period", "2021")
    assert [p["code"] for p in data["districts"]] == ["h-a"]
    assert {s["id"] for s in data["districts"][0]["stations"]} == {"xa-1", "xa-2", "xa-4"}
    admin = central_json(province["admin"], "--period", "2021", "--district", "h-a")
    assert data["districts"][0]["totals"] == admin["districts"][0]["totals"]
    code, _out, err = loa("central", "--url", district, "report", "--period", "2021",
                          "--district", "h-b")  # fmt: skip
    assert code == 1
    assert "--district h-b: no station of this district" in err and "Traceback" not in err
    # and the roll-ups of h-b are not readable through any table
    for table in ("rollup_month", "rollup_day", "rollup_spot_day", "chain_check"):
        assert scalar(district, f"select count(*) from central.{table} where station = 'xa-3'") == 0
    assert scalar(district, "select count(*) from central.district_spot_month") == scalar(
        province["admin"], "select count(*) from central.district_spot_month where district='h-a'"
    )
    with connect_as(district) as conn:
        seen = conn.execute("SELECT DISTINCT station FROM central.rollup_month").fetchall()
    assert {s for (s,) in seen} == {"xa-1", "xa-2"}


def test_docx_and_xlsx_read_back_carry_the_numbers(province: dict) -> None:
    tmp: Path = province["tmp"]  # type: ignore[assignment]
    data = central_json(province["admin"], "--period", "2021", "--district", "h-a")
    stations = {s["id"]: s for s in data["districts"][0]["stations"]}
    minutes = {s: round(v["seconds"] / 60, 2) for s, v in stations.items() if v["reporting"]}
    for fmt in ("docx", "xlsx"):
        code, _out, err = loa("central", "--url", province["admin"], "report", "--period", "2021",
                              "--district", "h-a", "--format", fmt, "--output",
                              str(tmp / f"r.{fmt}"))  # fmt: skip
        assert code == 0, err
    doc = read_docx(str(tmp / "r.docx"))
    text = "\n".join(p.text for p in doc.paragraphs)
    assert (
        "BÁO CÁO" in text
        and "năm 2021" in text
        and "ĐÀI TRUYỀN THANH HUYỆN A"
        in "\n".join(c.text for t in doc.tables for row in t.rows for c in row.cells)
    )
    cells: dict[str, list[str]] = {}
    for t in doc.tables:
        for row in t.rows:
            cells.setdefault(row.cells[1].text, []).extend(c.text for c in row.cells)
    for s, m in minutes.items():
        row = cells[f"Đài xã {s}"]
        assert f"{m:,.1f}".replace(",", " ").replace(".", ",").replace(" ", ".") in row
    assert "Không gửi số liệu" in cells["Đài xã xa-4"]
    assert doc.core_properties.author == "Đài Truyền thanh huyện A"
    with zipfile.ZipFile(tmp / "r.docx") as z:
        charts = sorted(n for n in z.namelist() if n.startswith("word/charts/"))
        assert len(charts) == 2  # minutes per station, minutes per topic
        per_station = z.read(charts[0]).decode()
    for m in minutes.values():
        assert f"<c:v>{m:.2f}</c:v>" in per_station
    wb = load_workbook(io.BytesIO((tmp / "r.xlsx").read_bytes()))
    ws = wb["Theo đài"]
    found = {ws.cell(r, 2).value: ws.cell(r, 4).value for r in range(5, ws.max_row + 1)}
    for s, m in minutes.items():
        assert found[f"Đài xã {s}"] == m and isinstance(found[f"Đài xã {s}"], float)
    assert found["Đài xã xa-4"] is None
    assert "Chủ đề" in wb.sheetnames and "Chưa gửi số liệu" in wb.sheetnames


def test_csv_has_a_bom_minutes_and_the_station_on_every_station_row(province: dict) -> None:
    code, out, err = loa("central", "--url", province["admin"], "report", "--period", "2021",
                         "--format", "csv")  # fmt: skip
    assert code == 0, err
    assert out.startswith("\ufeffMã huyện,Mã đài")
    lines = [x.split(",") for x in out.lstrip("\ufeff").splitlines()[1:]]
    station_rows = [x for x in lines if x[4] in ("station", "station-topic")]
    assert station_rows and all(x[1] for x in station_rows)
    assert {x[4] for x in lines} >= {"station", "district", "topic", "province", "province-topic"}
    assert ":" not in "".join(x[10] for x in lines)


def test_the_month_roll_up_equals_the_day_roll_up_after_every_push(
    tmp_path: Path, pg_admin_url: str
) -> None:
    urls = central(pg_admin_url, ("xa-m", "h-a"))
    db = tmp_path / "m.db"
    for n in (40, 25, 300):  # pushes that end inside a day: the day's roll-up is updated
        url = write_rows(db, "xa-m", n, datetime(2021, 1, 30, 6, tzinfo=UTC))
        engine = open_database(url)
        with engine.connect() as source:
            push(source, urls["xa-m"], "xa-m", StationReport(SCHEDULE, "test"))
        engine.dispose()
        assert_months_equal_days(pg_admin_url)
    assert scalar(pg_admin_url, "select sum(plays) from central.rollup_month") == 365


def assert_months_equal_days(url: str) -> None:
    with connect_as(url) as conn:
        days = conn.execute(
            "SELECT station, date_trunc('month', day)::date, topic, kind, status, sum(plays), "
            "round(sum(seconds)::numeric, 6) FROM central.rollup_day GROUP BY 1,2,3,4,5 ORDER BY 1,2,3,4,5"
        ).fetchall()
        months = conn.execute(
            "SELECT station, month, topic, kind, status, plays, round(seconds::numeric, 6) "
            "FROM central.rollup_month WHERE plays <> 0 ORDER BY 1,2,3,4,5"
        ).fetchall()
        spots = conn.execute(
            "SELECT DISTINCT s.district, date_trunc('month', r.day)::date, r.topic, r.kind, "
            "r.status, r.spot FROM central.rollup_spot_day r JOIN central.station s "
            "ON s.id = r.station ORDER BY 1,2,3,4,5,6"
        ).fetchall()
        kept = conn.execute("SELECT * FROM central.district_spot_month ORDER BY 1,2,3,4,5,6")
        assert days == months
        assert spots == kept.fetchall()


def test_migration_3_upgrades_a_version_1_database_with_its_rows(
    tmp_path: Path, pg_admin_url: str
) -> None:
    assert init(pg_admin_url, MIGRATIONS[:1]) == (0, 1)
    code, out, err = loa("central", "--url", pg_admin_url, "add-station", "xa-u", "--name",
                         "Đài xã xa-u", "--district", "h-a")  # fmt: skip
    assert code == 0, err
    url = write_rows(tmp_path / "u.db", "xa-u", 200, datetime(2021, 2, 20, 6, tzinfo=UTC))
    # the rows as a loa of version 1's time sent them: its columns only (today's push also
    # sends the bulletin columns of migration 4, which a version 1 schema has not)
    engine = open_database(url)
    cols = ("chain_seq", "hash", *BASE)
    with engine.connect() as source:
        rows = source.execute(sa.select(*(T.c[c] for c in cols)).order_by(T.c.chain_seq)).all()
    engine.dispose()
    with connect_as(pg_admin_url) as pg:
        pg.cursor().executemany(
            f"INSERT INTO central.airtime ({', '.join(cols)}) "
            f"VALUES ({', '.join(['%s'] * len(cols))})",
            [tuple(r) for r in rows],
        )
    code, out, err = loa("central", "--url", pg_admin_url, "init")
    assert code == 0, err
    assert f"1 -> {latest_version()}" in out
    assert_months_equal_days(pg_admin_url)
    assert scalar(pg_admin_url, "select sum(plays) from central.rollup_month") == 200
    data = central_json(pg_admin_url, "--period", "2021-02")
    assert data["totals"]["plays"] + data["totals"]["missed"] <= 9 * 30
    assert data["totals"]["plays"] > 0


def test_verify_records_the_chain_check_the_report_prints(province: dict) -> None:
    admin = province["admin"]
    before = central_json(admin, "--period", "2021", "--district", "h-b")
    assert before["districts"][0]["stations"][0]["verified"] is None
    code, _out, err = loa("central", "--url", admin, "verify")
    assert code == 0, err
    after = central_json(admin, "--period", "2021", "--district", "h-b")
    assert after["districts"][0]["stations"][0]["verified"] is True
    # a district's verify reads only (it may not record)
    assert loa("central", "--url", province["h-a"], "verify")[0] == 0
    checked = scalar(admin, "select count(*) from central.chain_check")
    assert checked == 4


def test_an_unknown_period_or_district_is_a_clear_error(province: dict) -> None:
    code, _out, err = loa("central", "--url", province["admin"], "report", "--period", "2021-H3")
    assert code == 2 and "2021-H3" in err
    code, _out, err = loa("central", "--url", province["admin"], "report", "--period", "2021",
                          "--district", "h-zz")  # fmt: skip
    assert code == 1 and "h-zz" in err and "Traceback" not in err


def test_edges_of_a_range_come_from_days_and_months_from_months(province: dict) -> None:
    # 25 June .. 3 July: only edge days; the whole of July: the month roll-up alone
    edge = central_json(province["admin"], "--period", "2021-06-25..2021-07-03")
    by_day = scalar(province["admin"], "select sum(plays) from central.rollup_day where day "
                    "between '2021-06-25' and '2021-07-03' and status = 'completed'")  # fmt: skip
    assert edge["totals"]["plays"] == by_day
    july = central_json(province["admin"], "--period", "2021-07")
    by_month = scalar(province["admin"], "select sum(plays) from central.rollup_month where "
                      "month = '2021-07-01' and status = 'completed'")  # fmt: skip
    assert july["totals"]["plays"] == by_month > 0


def test_the_province_computes_each_station_as_its_district_does(province: dict) -> None:
    # the province's figures per station come from the database's own coverage and gap
    whole = central_json(province["admin"], "--period", "2021")
    for part in whole["districts"]:
        one = central_json(province["admin"], "--period", "2021", "--district", part["code"])
        assert one["districts"][0]["totals"] == part["totals"]
        mine = {s["id"]: s for s in one["districts"][0]["stations"]}
        for s in part["stations"]:
            d = mine[s["id"]]
            for key in ("plays", "seconds", "topics_covered", "gap_topic", "missed", "due",
                        "adhoc", "emergency", "reporting"):  # fmt: skip
                assert s[key] == d[key], (s["id"], key)
            assert (s["gap"] is None) == (d["gap"] is None)
            if s["gap"] is not None:
                assert s["gap"] == pytest.approx(d["gap"], abs=1e-4)
        assert [t["plays"] for t in part["topics"]] == [
            t["plays"] for t in one["districts"][0]["topics"]
        ]


def test_relayed_time_is_not_counted_as_propaganda_airtime(
    tmp_path: Path, pg_admin_url: str
) -> None:
    """A relay slot's rows (kind `relay`: stretches and drops) stay out of the district's
    plays, minutes and problems, as they stay out of the station's own report."""
    from airtime.log import chain_in_order
    from airtime.models import new_id
    from airtime.store import T

    urls = central(pg_admin_url, ("xa-r", "h-r"))
    db = write_rows(tmp_path / "xa-r.db", "xa-r", 60, datetime(2021, 3, 1, 6, tzinfo=UTC))
    engine = open_database(db)
    at = datetime(2021, 3, 5, 11, tzinfo=UTC)
    relay = [
        dict(id=new_id(), station="xa-r", slot="vov", kind="relay", topic=None, spot="vov1",
             title="VOV1", path="http://127.0.0.1/vov1", scheduled_at=at, started_at=at,
             ended_at=at.replace(minute=30), played_s=1800.0, status=status, error=None)
        for status in ("completed", "failed")
    ]  # fmt: skip
    with engine.begin() as conn:
        chain_in_order(conn, "xa-r", relay)
        conn.execute(T.insert(), relay)
    with engine.connect() as source:
        push(source, urls["xa-r"], "xa-r", StationReport(SCHEDULE, "test"))
    engine.dispose()
    config = station_config(tmp_path / "xa-r", "xa-r", db, None)
    own = station_json(config, "2021-03")
    data = central_json(pg_admin_url, "--period", "2021-03", "--district", "h-r")
    (line,) = data["districts"][0]["stations"]
    assert own["total"]["plays"] == 54  # write_rows: 60 plays, every 11th interrupted
    assert line["plays"] == own["total"]["plays"]
    assert line["seconds"] == pytest.approx(own["total"]["seconds"], abs=1e-6)
