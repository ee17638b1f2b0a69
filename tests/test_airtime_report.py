"""The report against a real SQLite log: totals equal the log, every period form, the exports
read back with openpyxl and python-docx carry the same numbers."""

from __future__ import annotations

import csv
import io
import json
from datetime import date
from pathlib import Path

import docx
import openpyxl
import pytest
from click.testing import CliRunner
from lxml import etree

from airtime.periods import parse_period
from airtime.report import build_report
from airtime.store import report_data
from loa.cli import cli
from loa.db import open_database
from tests.airtime_fixtures import PLAYS, STATION, TOPICS, TZ, expected, write_config, write_log


@pytest.fixture(scope="module")
def station(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, str]:
    tmp = tmp_path_factory.mktemp("station")
    url = write_log(tmp / "loa.db")
    return write_config(tmp, url), url


def run(cfg: Path, *args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(cli, ["--config", str(cfg), "airtime", *args])
    return result.exit_code, result.stdout, result.stderr


def report_json(cfg: Path, period: str) -> dict:
    code, out, err = run(cfg, "report", "--period", period, "--format", "json")
    assert code == 0, err
    return json.loads(out)


def by_topic(data: dict) -> dict[str, dict[str, float]]:
    return {t["id"]: {k: t[k] for k in ("plays", "items", "seconds")} for t in data["topics"]}


PERIODS = {
    "2021": (date(2021, 1, 1), date(2021, 12, 31)),
    "2021-H1": (date(2021, 1, 1), date(2021, 6, 30)),
    "2021-H2": (date(2021, 7, 1), date(2021, 12, 31)),
    "2021-Q1": (date(2021, 1, 1), date(2021, 3, 31)),
    "2021-Q2": (date(2021, 4, 1), date(2021, 6, 30)),
    "2021-Q3": (date(2021, 7, 1), date(2021, 9, 30)),
    "2021-Q4": (date(2021, 10, 1), date(2021, 12, 31)),
    "2021-01": (date(2021, 1, 1), date(2021, 1, 31)),
    "2021-04": (date(2021, 4, 1), date(2021, 4, 30)),
    "2021-01-15..2021-04-01": (date(2021, 1, 15), date(2021, 4, 1)),
}


@pytest.mark.parametrize("period", list(PERIODS))
def test_every_period_form_counts_the_plays_that_started_in_it(
    station: tuple[Path, str], period: str
) -> None:
    cfg, _ = station
    data = report_json(cfg, period)
    start, end = PERIODS[period]
    assert data["period"] == {"from": start.isoformat(), "to": end.isoformat()}
    want = expected(start, end)
    assert by_topic(data) == want
    assert data["total"]["plays"] == sum(t["plays"] for t in want.values())
    assert data["total"]["seconds"] == pytest.approx(sum(t["seconds"] for t in want.values()))
    assert sum(m["plays"] for m in data["months"]) == data["total"]["plays"]
    assert sum(m["seconds"] for m in data["months"]) == pytest.approx(data["total"]["seconds"])


def test_report_totals_equal_the_sum_of_the_log(station: tuple[Path, str]) -> None:
    cfg, _ = station
    code, out, err = run(
        cfg, "log", "--from", "2021-01-01", "--to", "2021-12-31", "--format", "json"
    )
    assert code == 0, err
    log = json.loads(out)
    done = [r for r in log if r["status"] == "completed"]
    scheduled = [r for r in done if r["kind"] == "scheduled"]
    data = report_json(cfg, "2021")
    assert data["total"]["plays"] == len(scheduled) == 12
    assert data["total"]["seconds"] == pytest.approx(sum(r["played_s"] for r in scheduled))
    assert data["total"]["items"] == len({r["spot"] or r["path"] for r in scheduled})
    assert data["adhoc"] == {"plays": 1, "items": 1, "seconds": 55.0}
    assert data["emergency"] == {"plays": 1, "items": 1, "seconds": 40.0}
    statuses = {s: sum(1 for r in log if r["status"] == s) for s in
                ("completed", "interrupted", "failed", "missed", "playing")}  # fmt: skip
    assert statuses == {"completed": 14, "interrupted": 1, "failed": 1, "missed": 1, "playing": 1}
    for status, count in statuses.items():
        assert data["reliability"][status] == count
    assert data["reliability"]["success_rate"] == pytest.approx(14 / 17, abs=1e-4)
    assert data["verified"]["ok"] is True and data["verified"]["open"] == 1


def test_q1_plus_q2_equals_h1_and_every_topic_appears(station: tuple[Path, str]) -> None:
    cfg, _ = station
    q1, q2, h1 = (by_topic(report_json(cfg, p)) for p in ("2021-Q1", "2021-Q2", "2021-H1"))
    for tid, _ in TOPICS:
        assert q1[tid]["plays"] + q2[tid]["plays"] == h1[tid]["plays"]
        assert q1[tid]["seconds"] + q2[tid]["seconds"] == pytest.approx(h1[tid]["seconds"])
    assert list(q1) == [t for t, _ in TOPICS]  # configured order, zeros included
    assert q1["duong-day-nong"] == {"plays": 0, "items": 0, "seconds": 0.0}


def test_a_play_crossing_midnight_counts_once_where_it_started(station: tuple[Path, str]) -> None:
    cfg, _ = station
    jan, feb = report_json(cfg, "2021-01"), report_json(cfg, "2021-02")
    assert by_topic(jan)["dich-vu-cong"]["plays"] == 2  # 1 Jan and 31 Jan 23:59:30
    assert by_topic(feb)["dich-vu-cong"]["plays"] == 1
    mar31 = report_json(cfg, "2021-03-31..2021-03-31")
    apr1 = report_json(cfg, "2021-04-01..2021-04-01")
    assert mar31["total"]["plays"] == 1 and apr1["total"]["plays"] == 2


def test_pure_report_matches_the_database_query(station: tuple[Path, str]) -> None:
    _, url = station
    engine = open_database(url)
    period = parse_period("2021")
    with engine.connect() as conn:
        groups, months = report_data(conn, STATION, period, TZ)
    engine.dispose()
    report = build_report(groups, station_id=STATION, station_name="x", period=period,
                          topics=TOPICS, months=months)  # fmt: skip
    assert [m.key for m in report.months] == [f"2021-{m:02d}" for m in range(1, 13)]
    want = expected(date(2021, 1, 1), date(2021, 12, 31))
    assert {t.key: t.plays for t in report.topics} == {k: v["plays"] for k, v in want.items()}


def test_xlsx_reads_back_with_the_right_numbers(station: tuple[Path, str], tmp_path: Path) -> None:
    cfg, _ = station
    out = tmp_path / "bao-cao.xlsx"
    code, _, err = run(
        cfg, "report", "--period", "2021-H1", "--format", "xlsx", "--output", str(out)
    )
    assert code == 0, err
    wb = openpyxl.load_workbook(out)
    first = wb["Báo cáo"]
    text = [str(c.value) for row in first.iter_rows() for c in row if c.value is not None]
    assert "ĐÀI TRUYỀN THANH XÃ THỬ" in text and "BÁO CÁO" in text
    assert "Kết quả tuyên truyền cải cách hành chính 6 tháng đầu năm 2021" in text
    assert any(t.startswith("Thử, ngày ") for t in text)
    assert "- Phòng Văn hóa và Thông tin huyện Thử;" in text and "Nguyễn Văn An" in text
    assert any("toàn vẹn" in t for t in text)
    ws = wb["Chủ đề"]
    cells = [[c.value for c in row] for row in ws.iter_rows()]
    want = expected(date(2021, 1, 1), date(2021, 6, 30))
    names = dict(TOPICS)
    for tid, numbers in want.items():
        row = next(r for r in cells if r[1] == names[tid])
        assert row[2:5] == [numbers["plays"], numbers["items"],
                            pytest.approx(numbers["seconds"] / 60, abs=0.01)]  # fmt: skip
    total = next(r for r in cells if r[1] == "Tổng cộng")
    assert total[2] == sum(v["plays"] for v in want.values())


def test_docx_reads_back_with_tables_and_a_chart(station: tuple[Path, str], tmp_path: Path) -> None:
    cfg, _ = station
    out = tmp_path / "bao-cao.docx"
    code, _, err = run(cfg, "report", "--period", "2021", "--format", "docx", "--output", str(out))
    assert code == 0, err
    document = docx.Document(str(out))
    paragraphs = [p.text for p in document.paragraphs]
    assert "BÁO CÁO" in paragraphs
    assert "Kết quả tuyên truyền cải cách hành chính năm 2021" in paragraphs
    head = document.tables[0]
    assert head.cell(0, 0).text.splitlines()[0] == "ĐÀI TRUYỀN THANH XÃ THỬ"
    assert head.cell(0, 1).text.startswith("CỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM")
    topics = next(t for t in document.tables if t.rows[0].cells[1].text == "Chủ đề")
    want = expected(date(2021, 1, 1), date(2021, 12, 31))
    rows = {r.cells[1].text: [c.text for c in r.cells] for r in topics.rows[1:]}
    for tid, name in TOPICS:
        minutes = f"{want[tid]['seconds'] / 60:.1f}".replace(".", ",")
        assert rows[name][2:5] == [str(want[tid]["plays"]), str(want[tid]["items"]), minutes]
    assert rows["Tổng cộng"][2] == str(sum(v["plays"] for v in want.values()))
    footer = document.tables[-1]
    assert "- Phòng Văn hóa và Thông tin huyện Thử;" in footer.cell(0, 0).text
    assert "Nguyễn Văn An" in footer.cell(0, 1).text
    # the chart: a real chart part, minutes per topic in its cache, Vietnamese labels
    charts = [p for p in document.part.package.iter_parts() if "chart" in str(p.partname)]
    assert len(charts) == 1
    tree = etree.fromstring(charts[0].blob)
    ns = {"c": "http://schemas.openxmlformats.org/drawingml/2006/chart"}
    values = [float(v) for v in tree.xpath("//c:val//c:pt/c:v/text()", namespaces=ns)]
    assert values == pytest.approx([want[t]["seconds"] / 60 for t, _ in TOPICS], abs=0.01)
    labels = tree.xpath("//c:cat//c:pt/c:v/text()", namespaces=ns)
    assert labels == [f"{i}. {name}" for i, (_, name) in enumerate(TOPICS, 1)]
    body = document.element.body
    assert list(body.iter(f"{{{ns['c']}}}chart")), "chart not placed in the body"


def test_text_report_is_the_administrative_layout(station: tuple[Path, str]) -> None:
    cfg, _ = station
    code, out, _ = run(cfg, "report", "--period", "2021-Q4")
    assert code == 0
    lines = [line.strip() for line in out.splitlines()]
    assert lines[0].startswith("ĐÀI TRUYỀN THANH XÃ THỬ")
    assert lines[0].endswith("CỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM")
    assert any(line.endswith("Độc lập - Tự do - Hạnh phúc") for line in lines)
    assert "BÁO CÁO" in lines
    assert "quý IV năm 2021" in out
    assert any("Thử, ngày " in line for line in lines)
    assert "Khẩn cấp: bão số 9" in out and "Thông báo đột xuất của UBND xã" in out
    assert "Nơi nhận:" in out and "- Lưu: VT." in out
    assert max(len(line) for line in out.splitlines()) <= 80


def test_csv_opens_in_excel_and_log_table_fits_80_columns(station: tuple[Path, str]) -> None:
    cfg, _ = station
    result = CliRunner().invoke(cli, ["--config", str(cfg), "airtime", "log", "--format", "csv"])
    raw = result.stdout_bytes
    assert raw.startswith(b"\xef\xbb\xbf")  # UTF-8 BOM
    text = raw.decode("utf-8-sig")
    assert "Khẩn cấp: bão số 9" in text
    assert len(text.strip().splitlines()) == len(PLAYS) + 2  # header + plays + the open one
    code, out, _ = run(cfg, "log")
    assert code == 0
    assert max(len(line) for line in out.splitlines()) <= 80
    assert len(out.splitlines()) == len(PLAYS) + 1 + 2
    code, out, _ = run(cfg, "log", "--topic", "chi-so", "--from", "2021-04-01", "--to", "2021-04-01",
                       "--format", "json")  # fmt: skip
    assert [r["title"] for r in json.loads(out)] == ["Chỉ số PAR Index năm 2020"]
    assert json.loads(out)[0]["started_at"] == "2021-04-01T06:30:00.000+07:00"


def test_report_csv_has_a_bom_the_station_on_every_row_and_minutes(
    station: tuple[Path, str],
) -> None:
    cfg, _ = station
    result = CliRunner().invoke(
        cli, ["--config", str(cfg), "airtime", "report", "--period", "2021", "--format", "csv"]
    )
    assert result.stdout_bytes.startswith(b"\xef\xbb\xbf")
    rows = list(csv.DictReader(io.StringIO(result.stdout_bytes.decode("utf-8-sig"))))
    assert [r["Dòng"] for r in rows] == ["topic"] * len(TOPICS) + [
        "total", "adhoc", "emergency", "combined"]  # fmt: skip
    assert {r["Mã đài"] for r in rows} == {STATION}
    assert {(r["Từ ngày"], r["Đến ngày"]) for r in rows} == {("2021-01-01", "2021-12-31")}
    want = expected(date(2021, 1, 1), date(2021, 12, 31))
    for r in rows[: len(TOPICS)]:
        # a plain number of minutes (not "1:31", which a spreadsheet reads as hours)
        assert float(r["Thời lượng (phút)"]) == pytest.approx(
            want[r["Mã chủ đề"]]["seconds"] / 60, abs=0.01
        )
        assert int(r["Lượt phát"]) == want[r["Mã chủ đề"]]["plays"]
    by_row = {r["Dòng"]: r for r in rows}
    assert float(by_row["adhoc"]["Thời lượng (phút)"]) == pytest.approx(55 / 60, abs=0.01)
    scheduled = sum(v["seconds"] for v in want.values())
    assert float(by_row["combined"]["Giây"]) == pytest.approx(scheduled + 55 + 40)
    assert by_row["total"]["Nhật ký toàn vẹn"] == "yes"


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["report", "--period", "2021-Q5"], '"2021-Q5" is not a report period; use 2021, 2021-H1'),
        (
            ["report", "--period", "2021-13"],
            '"2021-13" is not a report period: month 13 does not exist',
        ),
        (
            ["report", "--period", "2021-03-01..2021-02-01"],
            "the end 2021-02-01 is before the start 2021-03-01",
        ),
        (["log", "--from", "2021-02-30"], '"2021-02-30" is not a valid date'),
        (["log", "--from", "1/3/2021"], '"1/3/2021" is not a date: write YYYY-MM-DD'),
        (
            ["log", "--from", "2021-03-02", "--to", "2021-03-01"],
            "--to 2021-03-01 is before --from 2021-03-02",
        ),
        (["log", "--topic", "khong-co"], 'no topic "khong-co" in config.toml nor in the log'),
    ],
)
def test_bad_input_is_a_clear_usage_error(
    station: tuple[Path, str], args: list[str], message: str
) -> None:
    cfg, _ = station
    code, _, err = run(cfg, *args)
    assert code == 2
    assert message in err
    assert "Traceback" not in err


def test_binary_formats_default_to_a_file_in_the_current_folder(
    station: tuple[Path, str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    cfg, _ = station
    monkeypatch.chdir(tmp_path)
    code, _, err = run(cfg, "report", "--period", "2021-H2", "--format", "docx")
    assert code == 0, err
    assert (tmp_path / f"bao-cao-{STATION}-2021-H2.docx").stat().st_size > 1000
