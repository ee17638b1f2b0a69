"""The station's report as an administrative document (Nghị định 30/2020/NĐ-CP), against a
real SQLite log with a schedule: sessions due by the slots' triggers counted against the log
(days the station was off count as not aired), H1 + H2 = the year, and the docx, xlsx and csv
read back (python-docx, openpyxl, csv) with the header, the print properties and the numbers."""

from __future__ import annotations

import csv
import io
import json
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import docx
import openpyxl
import pytest
from click.testing import CliRunner
from docx.shared import Pt

from airtime.document import hours_minutes, period_phrase, short_label, vn_number
from airtime.periods import parse_period
from airtime.report import Due, SessionRow, count_sessions, day_ranges
from loa.cli import cli
from tests.airtime_station_year import STATION, TOPICS, TZ, write_station_config, write_station_log

W = "{http://schemas.openxmlformats.org/wordprocessingml/2006/main}"
START, END = date(2021, 6, 20), date(2021, 7, 16)
OFF = (date(2021, 6, 25), date(2021, 6, 27))


@pytest.fixture(scope="module")
def station(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, object]:
    tmp = tmp_path_factory.mktemp("station-year")
    url, year = write_station_log(tmp / "loa.db", START, END, off=OFF, first=95)
    return write_station_config(tmp, url), year


def run(cfg: Path, *args: str) -> tuple[int, bytes, str]:
    result = CliRunner().invoke(cli, ["--config", str(cfg), "airtime", *args])
    return result.exit_code, result.stdout_bytes, result.stderr


def report(cfg: Path, period: str) -> dict:
    code, out, err = run(cfg, "report", "--period", period, "--format", "json")
    assert code == 0, err
    return json.loads(out)


def days(a: date, b: date) -> int:
    return (b - a).days + 1


# ---------------------------------------------------------------- sessions


def test_days_the_station_was_off_count_as_sessions_not_aired(station: tuple[Path, object]) -> None:
    cfg, year = station
    h1 = report(cfg, "2021-H1")["sessions"]
    # due from the day the log began (20 June) to 30 June, two slots a day
    assert h1["from"] == "2021-06-20" and h1["to"] == "2021-06-30"
    assert h1["due"] == 2 * days(date(2021, 6, 20), date(2021, 6, 30)) == 22
    outcomes = [o for o in year.outcomes if o[0] <= date(2021, 6, 30)]  # type: ignore[attr-defined]
    assert h1["aired"] == sum(1 for o in outcomes if o[2] == "aired")
    assert h1["logged_not_aired"] == sum(1 for o in outcomes if o[2] == "logged") == 1
    assert h1["no_record"] == 2 * days(*OFF) == 6
    assert h1["silent_days"] == ["2021-06-25", "2021-06-26", "2021-06-27"]
    assert h1["not_aired"] == h1["due"] - h1["aired"] == 7
    assert h1["provisional"] is False


def test_a_silent_half_year_is_not_nothing_due(station: tuple[Path, object]) -> None:
    cfg, _ = station
    data = report(cfg, "2021-10-01..2021-12-31")
    assert data["total"]["plays"] == 0
    s = data["sessions"]
    assert s["due"] == 2 * 92 and s["aired"] == 0 and s["no_record"] == 184
    assert len(s["silent_days"]) == 92


def test_h1_plus_h2_equals_the_year(station: tuple[Path, object]) -> None:
    cfg, year = station
    h1, h2, whole = (report(cfg, p) for p in ("2021-H1", "2021-H2", "2021"))
    for key in ("due", "aired", "logged_not_aired", "no_record", "not_aired"):
        assert h1["sessions"][key] + h2["sessions"][key] == whole["sessions"][key], key
    assert whole["sessions"]["aired"] == year.sessions_aired  # type: ignore[attr-defined]
    for a, b, c in zip(h1["topics"], h2["topics"], whole["topics"], strict=True):
        assert a["plays"] + b["plays"] == c["plays"]
        assert a["seconds"] + b["seconds"] == pytest.approx(c["seconds"])
    assert whole["total"]["seconds"] == pytest.approx(sum(year.seconds.values()))  # type: ignore[attr-defined]
    assert h1["combined"]["seconds"] + h2["combined"]["seconds"] == pytest.approx(
        whole["combined"]["seconds"]
    )
    # the ad hoc broadcast of 15 July: one line, in H2, added to the combined total
    assert [b["title"] for b in h2["broadcasts"]] == ["Thông báo lịch tiếp công dân của UBND xã"]
    assert h2["broadcasts"][0]["at"] == "2021-07-15T09:30:00+07:00"
    assert h2["combined"]["seconds"] == pytest.approx(h2["total"]["seconds"] + 83.0)


def test_shares_sit_beside_weight_shares(station: tuple[Path, object]) -> None:
    cfg, year = station
    data = report(cfg, "2021")
    weights = {tid: w for tid, _, w in TOPICS}
    total = sum(year.seconds.values())  # type: ignore[attr-defined]
    for t in data["topics"]:
        assert t["weight"] == weights[t["id"]]
        assert t["weight_share"] == pytest.approx(weights[t["id"]] / sum(weights.values()))
        assert t["share"] == pytest.approx(year.seconds[t["id"]] / total, abs=1e-4)  # type: ignore[attr-defined]


def test_an_open_period_counts_only_the_sessions_already_due(
    station: tuple[Path, object],
) -> None:
    cfg, _ = station
    today = datetime.now(TZ).date()
    data = report(cfg, f"{today - timedelta(days=2)}..{today + timedelta(days=5)}")
    s = data["sessions"]
    assert s["provisional"] is True and s["to"] == today.isoformat()
    assert 4 <= s["due"] <= 6  # two slots on each of the two past days, and today's so far


@pytest.mark.parametrize(
    ("rows", "want"),
    [
        ([], (1, 0, 0, 1)),
        ([("sang", 0, "completed")], (1, 1, 0, 0)),
        ([("sang", 0, "failed"), ("sang", 90, "completed")], (1, 1, 0, 0)),
        ([("sang", 0, "missed")], (1, 0, 1, 0)),
        ([("sang", 600, "completed")], (1, 0, 0, 1)),  # at the slot's end: the next one's
        ([("chieu", 0, "completed")], (1, 0, 0, 1)),  # another slot's row
        ([("sang", -1, "completed")], (1, 0, 0, 1)),
    ],
)
def test_count_sessions_matches_rows_inside_the_slot(
    rows: list[tuple[str, int, str]], want: tuple[int, int, int, int]
) -> None:
    at = datetime(2021, 3, 1, 6, 0, tzinfo=TZ)
    due = [Due("sang", at, at + timedelta(seconds=600))]
    found = [SessionRow(s, (at + timedelta(seconds=o)).astimezone(UTC), st) for s, o, st in rows]
    got = count_sessions(due, found)
    assert (got.due, got.aired, got.recorded, got.no_record) == want
    assert got.silent_days == ([date(2021, 3, 1)] if not rows or want[3] else [])


def test_day_ranges_collapse_consecutive_days() -> None:
    d = [date(2021, 3, n) for n in (1, 2, 3, 7, 9, 10)]
    assert day_ranges(d) == [(d[0], d[2]), (d[3], d[3]), (d[4], d[5])]


# ---------------------------------------------------------------- wording


@pytest.mark.parametrize(
    ("period", "phrase"),
    [
        ("2021", "năm 2021"),
        ("2021-H1", "6 tháng đầu năm 2021"),
        ("2021-H2", "6 tháng cuối năm 2021"),
        ("2021-Q3", "quý III năm 2021"),
        ("2021-Q1", "quý I năm 2021"),
        ("2021-03", "tháng 3 năm 2021"),
        ("2021-01-15..2021-02-14", "đột xuất (từ ngày 15/01/2021 đến ngày 14/02/2021)"),
        ("2021-03-01..2021-03-30", "đột xuất (từ ngày 01/03/2021 đến ngày 30/03/2021)"),
    ],
)
def test_the_summary_line_names_the_period(period: str, phrase: str) -> None:
    assert period_phrase(parse_period(period)) == phrase


def test_numbers_as_vietnamese_writes_them() -> None:
    assert vn_number(1234.56, 1) == "1.234,6"
    assert vn_number(1234567) == "1.234.567"
    assert vn_number(0.5, 2) == "0,50"
    assert hours_minutes(5415.4) == "1 giờ 30 phút"
    assert hours_minutes(2700) == "45 phút"
    assert hours_minutes(7200) == "2 giờ"
    name = TOPICS[0][1]
    assert short_label(name).endswith("…") and len(short_label(name)) <= 42
    assert short_label("Đường dây nóng") == "Đường dây nóng"


# ---------------------------------------------------------------- the docx, as printed


@pytest.fixture(scope="module")
def h1_docx(station: tuple[Path, object], tmp_path_factory: pytest.TempPathFactory) -> Path:
    cfg, _ = station
    out = tmp_path_factory.mktemp("docx") / "h1.docx"
    code, _, err = run(cfg, "report", "--period", "2021-H1", "--format", "docx",
                       "--output", str(out))  # fmt: skip
    assert code == 0, err
    return out


def test_docx_header_follows_the_decree(h1_docx: Path) -> None:
    document = docx.Document(str(h1_docx))
    head = document.tables[0]
    left = head.cell(0, 0).paragraphs
    right = head.cell(0, 1).paragraphs
    assert [p.text for p in left[:2]] == ["UBND XÃ ĐẠI HẢI", "ĐÀI TRUYỀN THANH XÃ ĐẠI HẢI"]
    assert left[0].runs[0].bold is not True and left[1].runs[0].bold is True
    assert [p.text for p in right[:2]] == ["CỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM",
                                          "Độc lập - Tự do - Hạnh phúc"]  # fmt: skip
    # each rule: a bordered empty paragraph under the issuing body and under the Tiêu ngữ
    for rule in (left[2], right[2]):
        assert rule.text == "" and rule._p.find(f"{W}pPr/{W}pBdr/{W}top") is not None
    number = head.cell(1, 0).paragraphs[0]
    assert number.text.startswith("Số:") and number.text.endswith("/BC-ĐTT")
    date_line = head.cell(1, 1).paragraphs[0]
    assert date_line.text.startswith("Đại Hải, ngày ") and date_line.runs[0].italic
    assert date_line.alignment == 1  # centred under the Tiêu ngữ
    texts = [p.text for p in document.paragraphs]
    i = texts.index("BÁO CÁO")
    assert texts[i + 1] == ("Kết quả tuyên truyền cải cách hành chính 6 tháng đầu năm 2021")


def test_docx_page_fonts_and_page_numbers(h1_docx: Path) -> None:
    document = docx.Document(str(h1_docx))
    section = document.sections[0]
    assert (section.page_width.mm, section.page_height.mm) == pytest.approx((210, 297), abs=0.1)
    margins = {"top": (20, 25), "bottom": (20, 25), "left": (30, 35), "right": (15, 20)}
    for side, (lo, hi) in margins.items():
        assert lo - 0.1 <= getattr(section, f"{side}_margin").mm <= hi + 0.1, side
    normal = document.styles["Normal"]
    assert normal.font.name == "Times New Roman" and Pt(13) <= normal.font.size <= Pt(14)
    # page numbers from page 2: the first page has its own (empty) header
    assert section.different_first_page_header_footer
    assert section.first_page_header.paragraphs[0].text == ""
    header = section.header.paragraphs[0]
    assert header.alignment == 1
    assert "PAGE" in "".join(t.text or "" for t in header._p.iter(f"{W}instrText"))
    props = document.core_properties
    assert props.author == "Đài Truyền thanh xã Đại Hải"
    assert abs((props.created.replace(tzinfo=UTC) - datetime.now(UTC)).total_seconds()) < 120


def test_docx_tables_print_with_their_headers(h1_docx: Path) -> None:
    document = docx.Document(str(h1_docx))
    data_tables = document.tables[1:-1]
    assert len(data_tables) >= 5
    for table in data_tables:
        first = table.rows[0]._tr
        assert first.find(f"{W}trPr/{W}tblHeader") is not None  # repeated on every page
        for cell in table.rows[0].cells:  # kept with the first row: never alone at a foot
            assert cell.paragraphs[0].paragraph_format.keep_with_next
        for row in table.rows:
            assert row._tr.find(f"{W}trPr/{W}cantSplit") is not None
    body = [p for p in document.paragraphs if p.text.startswith("Đài Truyền thanh xã Đại Hải báo")]
    assert body and body[0].alignment == 3 and body[0].paragraph_format.first_line_indent > 0


def test_docx_numbers_sessions_and_sections(h1_docx: Path, station: tuple[Path, object]) -> None:
    cfg, _ = station
    data = report(cfg, "2021-H1")
    document = docx.Document(str(h1_docx))
    texts = [p.text for p in document.paragraphs]
    for title in ("I. Kết quả thực hiện", "II. Tồn tại, hạn chế", "III. Đề xuất, kiến nghị"):
        assert title in texts
    s = data["sessions"]
    assert any(f"đài phải phát {s['due']} buổi; đã phát {s['aired']} buổi" in t for t in texts)
    shortcomings = texts[texts.index("II. Tồn tại, hạn chế") + 1 : texts.index(
        "III. Đề xuất, kiến nghị")]  # fmt: skip
    assert any("25/06/2021 - 27/06/2021" in t for t in shortcomings)
    sessions = next(t for t in document.tables if t.rows[0].cells[0].text == "Nội dung")
    cells = {r.cells[0].text: r.cells[1].text for r in sessions.rows[1:]}
    assert cells["Theo lịch phải phát"] == str(s["due"])
    assert cells["Không phát: đài không hoạt động (không có bản ghi)"] == str(s["no_record"])
    topics = next(t for t in document.tables if t.rows[0].cells[1].text == "Chủ đề")
    total = [c.text for c in topics.rows[-1].cells]
    minutes = vn_number(data["total"]["seconds"] / 60, 1)
    assert total[1] == "Tổng cộng" and total[4] == minutes and "," in minutes
    foot = document.tables[-1]
    left = foot.cell(0, 0).paragraphs
    assert left[0].text == "Nơi nhận:"
    assert left[0].runs[0].bold and left[0].runs[0].italic and left[0].runs[0].font.size == Pt(12)
    assert [p.text for p in left[1:]] == [
        "- Phòng Văn hóa và Thông tin huyện Trần Đề;", "- Thường trực Đảng ủy xã;",
        "- Chủ tịch, các Phó Chủ tịch UBND xã;", "- Lưu: VT."]  # fmt: skip
    assert all(p.runs[0].font.size == Pt(11) for p in left[1:])
    right = [p.text for p in foot.cell(0, 1).paragraphs]
    assert right[0] == "TRƯỞNG ĐÀI" and right[-1] == "Nguyễn Văn An"
    assert right[1:-1] == [""] * (len(right) - 2) and len(right) >= 5  # room to sign and seal


def test_signature_authority_lines_come_from_config(tmp_path: Path) -> None:
    url, _ = write_station_log(tmp_path / "loa.db", date(2021, 1, 1), date(2021, 1, 3))
    cfg = write_station_config(tmp_path, url)
    text = cfg.read_text(encoding="utf-8").replace(
        'title = "TRƯỞNG ĐÀI"',
        'title = "PHÓ CHỦ TỊCH"\nauthority = ["TM. ỦY BAN NHÂN DÂN", "KT. CHỦ TỊCH"]',
    )
    cfg.write_text(text, encoding="utf-8")
    out = tmp_path / "r.docx"
    code, _, err = run(cfg, "report", "--period", "2021-01", "--format", "docx",
                       "--output", str(out))  # fmt: skip
    assert code == 0, err
    right = [p.text for p in docx.Document(str(out)).tables[-1].cell(0, 1).paragraphs]
    assert right[:3] == ["TM. ỦY BAN NHÂN DÂN", "KT. CHỦ TỊCH", "PHÓ CHỦ TỊCH"]
    code, text_out, _ = run(cfg, "report", "--period", "2021-01")
    assert "KT. CHỦ TỊCH" in text_out.decode() and "tháng 1 năm 2021" in text_out.decode()


# ---------------------------------------------------------------- xlsx and csv


def test_xlsx_one_sheet_per_table_numbers_as_minutes(
    station: tuple[Path, object], tmp_path: Path
) -> None:
    cfg, year = station
    out = tmp_path / "r.xlsx"
    code, _, err = run(cfg, "report", "--period", "2021", "--format", "xlsx", "--output", str(out))
    assert code == 0, err
    wb = openpyxl.load_workbook(out)
    assert wb.sheetnames == ["Báo cáo", "Buổi phát", "Chủ đề", "Theo tháng", "Đột xuất",
                             "Tổng thời lượng", "Độ tin cậy"]  # fmt: skip
    ws = wb["Chủ đề"]
    header = [c.value for c in ws[4]]
    assert header[:5] == ["TT", "Chủ đề", "Lượt phát", "Số tin, bài", "Thời lượng (phút)"]
    assert ws.print_title_rows == "$4:$4"  # the header row repeats on every printed page
    assert int(ws.page_setup.paperSize) == 9 and int(ws.page_setup.fitToWidth) == 1  # A4
    names = {n: tid for tid, n, _ in TOPICS}
    for row in ws.iter_rows(min_row=5, max_row=4 + len(TOPICS)):
        tid = names[row[1].value]
        minutes = row[4]
        assert isinstance(minutes.value, float)
        assert minutes.value == pytest.approx(year.seconds[tid] / 60, abs=0.01)  # type: ignore[attr-defined]
        assert "#,##0.0" in minutes.number_format and minutes.alignment.horizontal == "right"
        assert row[2].value == year.plays[tid]  # type: ignore[attr-defined]
        assert "%" in row[5].number_format and 0 < row[5].value < 1
    sessions = wb["Buổi phát"]
    total = [c.value for c in sessions[sessions.max_row]]
    assert total[0] == "Theo lịch phải phát" and isinstance(total[1], int)
    assert wb.properties.creator == "Đài Truyền thanh xã Đại Hải"
    assert wb.properties.created is not None


def test_csv_durations_are_minutes_with_the_station_on_every_row(
    station: tuple[Path, object],
) -> None:
    cfg, year = station
    code, out, _ = run(cfg, "report", "--period", "2021", "--format", "csv")
    assert code == 0 and out.startswith(b"\xef\xbb\xbf")
    rows = list(csv.DictReader(io.StringIO(out.decode("utf-8-sig"))))
    assert {r["Mã đài"] for r in rows} == {STATION}
    for r in rows:
        assert ":" not in r["Thời lượng (phút)"]
        float(r["Thời lượng (phút)"])
    topic = {r["Mã chủ đề"]: r for r in rows if r["Dòng"] == "topic"}
    for tid, seconds in year.seconds.items():  # type: ignore[attr-defined]
        assert float(topic[tid]["Thời lượng (phút)"]) == pytest.approx(seconds / 60, abs=0.01)
