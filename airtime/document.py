"""The administrative report document (văn bản hành chính, Nghị định 30/2020/NĐ-CP) as data.

One model for every report loa files: the station's own (`airtime.station_document` fills it
from a `Report`) and, later, the district's and the province's (filled from the central
roll-ups, several stations per table). The writers (`export_docx`, `export_xlsx`,
`export_text`, `export_csv`) turn a `Document` into a file and know nothing of airtime: a
table is columns with a kind (text, count, minutes, percent) and rows of plain values, so the
docx writes "1.234,5" where the xlsx keeps the number 1234.5 with a number format.

Also here, pure: the period's wording in the summary line ("6 tháng đầu năm 2021"), numbers
as Vietnamese writes them (decimal comma, dot thousands), giờ/phút, and short chart labels.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Literal

from airtime.periods import Period

NATION = "CỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM"
MOTTO = "Độc lập - Tự do - Hạnh phúc"
ROMAN = ("I", "II", "III", "IV", "V", "VI", "VII", "VIII", "IX", "X")

# text: left-aligned words; count: an integer; minutes/number: a float shown with `decimals`;
# percent: a fraction (0.125) shown as "12,5%"
# "duration": seconds, shown as minutes:seconds ("100:59") in the docx and the text, and as a
# time value with the format [m]:ss in the xlsx (a number a spreadsheet adds up, not text)
Kind = Literal["text", "count", "minutes", "number", "percent", "duration"]
Value = str | int | float | None


@dataclass(frozen=True)
class Column:
    header: str
    kind: Kind = "text"
    width_cm: float = 3.0  # docx column width; xlsx derives its widths from it
    decimals: int = 1
    key: str = ""  # machine name (csv header, tests); defaults to the header

    @property
    def name(self) -> str:
        return self.key or self.header


@dataclass
class Table:
    title: str  # the caption above the table (kept with it on the page)
    columns: list[Column]
    rows: list[list[Value]]
    sheet: str = ""  # the xlsx sheet's name (<= 31 characters)
    total: list[Value] | None = None  # printed last, in bold
    note: str = ""  # a line under the table


@dataclass
class Chart:
    """A horizontal bar chart: one bar per label."""

    title: str
    labels: list[str]
    values: list[float]
    unit: str = "phút"


@dataclass
class Paragraph:
    text: str
    italic: bool = False


@dataclass
class Heading:
    """A sub-heading inside a section ("1. Số buổi phát")."""

    text: str


Block = Paragraph | Heading | Table | Chart


@dataclass
class Section:
    title: str  # without its number: the writer numbers sections I, II, III...
    blocks: list[Block] = field(default_factory=list)


@dataclass
class Letterhead:
    """Who issues the document and who signs it (config.toml's [report], or the district's)."""

    issuer: str  # the issuing body, e.g. "Đài Truyền thanh xã Đại Hải" (printed upper-case)
    parent: str = ""  # its parent body, e.g. "UBND XÃ ĐẠI HẢI"
    symbol: str = ""  # "Số: …/BC-<symbol>"
    place: str = ""  # the date line's place
    authority: list[str] = field(default_factory=list)  # "TM. ỦY BAN NHÂN DÂN", "KT. CHỦ TỊCH"
    title: str = ""  # the signer's title, e.g. "TRƯỞNG ĐÀI"
    signer: str = ""  # the signer's name
    recipients: list[str] = field(default_factory=list)  # "Nơi nhận", one entry a line


@dataclass
class Document:
    letterhead: Letterhead
    issued: date
    kind: str  # "BÁO CÁO"
    summary: str  # the summary line (trích yếu) under the kind
    sections: list[Section]
    author: str  # document properties
    created: datetime
    subject: str = ""

    @property
    def number(self) -> str:
        """ "Số:      /BC-ĐTT": the number itself is left blank for the clerk."""
        return f"Số:        /BC-{self.letterhead.symbol}"

    @property
    def date_line(self) -> str:
        day = self.issued
        place = self.letterhead.place or self.letterhead.issuer
        # the decree: a zero before days under 10 and before months 1 and 2 only
        month = f"{day.month:02d}" if day.month < 3 else str(day.month)
        return f"{place}, ngày {day:%d} tháng {month} năm {day:%Y}"

    def tables(self) -> list[Table]:
        return [b for s in self.sections for b in s.blocks if isinstance(b, Table)]

    def charts(self) -> list[Chart]:
        return [b for s in self.sections for b in s.blocks if isinstance(b, Chart)]


def recipient_lines(entries: list[str]) -> list[str]:
    """ "- X;" for each entry, the last one closed with "." (the decree's Nơi nhận)."""
    out = []
    for i, entry in enumerate(entries):
        text = entry.strip().lstrip("-").strip().rstrip(";.")
        out.append(f"- {text}{'.' if i == len(entries) - 1 else ';'}")
    return out


def numbered(sections: list[Section]) -> list[tuple[str, Section]]:
    return [(f"{ROMAN[i]}. {s.title}", s) for i, s in enumerate(sections)]


# ---------------------------------------------------------------- wording, pure


def vn_date(day: date) -> str:
    return f"{day:%d/%m/%Y}"


def period_phrase(period: Period) -> str:
    """The period as a report's summary line names it: "6 tháng đầu năm 2021", "năm 2021",
    "quý III năm 2021", "tháng 3 năm 2021"; any other range is "đột xuất (từ … đến …)"."""
    s, e = period.start, period.end
    if s.year == e.year and s.day == 1:
        y = s.year
        if (s.month, e.month, e.day) == (1, 12, 31):
            return f"năm {y}"
        if (s.month, e.month, e.day) == (1, 6, 30):
            return f"6 tháng đầu năm {y}"
        if (s.month, e.month, e.day) == (7, 12, 31):
            return f"6 tháng cuối năm {y}"
        month_end = _month_end(e)
        if e == month_end and s.month % 3 == 1 and e.month == s.month + 2:
            return f"quý {ROMAN[(s.month - 1) // 3]} năm {y}"
        if e == month_end and s.month == e.month:
            return f"tháng {s.month} năm {y}"
    return f"đột xuất (từ ngày {vn_date(s)} đến ngày {vn_date(e)})"


def _month_end(day: date) -> date:
    nxt = date(day.year + day.month // 12, day.month % 12 + 1, 1)
    return date.fromordinal(nxt.toordinal() - 1)


def vn_number(value: float, decimals: int = 0) -> str:
    """1234.5 -> "1.234,5": thousands with dots, the decimal comma, as Vietnamese writes."""
    text = f"{value:,.{decimals}f}"
    return text.replace(",", " ").replace(".", ",").replace(" ", ".")


def vn_percent(fraction: float, decimals: int = 1) -> str:
    return f"{vn_number(fraction * 100, decimals)}%"


def hours_minutes(seconds: float) -> str:
    """5415.4 s -> "1 giờ 30 phút" (rounded to the minute); under an hour: "45 phút"."""
    minutes = round(seconds / 60)
    h, m = divmod(minutes, 60)
    if h == 0:
        return f"{m} phút"
    return f"{vn_number(h)} giờ {m} phút" if m else f"{vn_number(h)} giờ"


def cell_text(value: Value, column: Column) -> str:
    """How a text form (docx, plain text) prints a value of `column`."""
    if value is None:
        return ""
    if isinstance(value, str):
        return value
    if column.kind == "percent":
        return vn_percent(float(value), column.decimals)
    if column.kind == "count":
        return vn_number(value, 0)
    if column.kind in ("minutes", "number"):
        return vn_number(float(value), column.decimals)
    if column.kind == "duration":
        whole = round(float(value))
        return f"{whole // 60}:{whole % 60:02d}"
    return str(value)


def short_label(name: str, width: int = 42) -> str:
    """A topic's name short enough for a chart's axis: up to the first ";" (the provincial
    letter's names are whole sentences), then cut at a word with "…"."""
    head = name.split(";")[0].strip()
    if len(head) <= width:
        return head
    cut = head[: width - 1].rsplit(" ", 1)[0].rstrip(",:-– ")
    return cut + "…"
