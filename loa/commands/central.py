"""`loa central ...`: the district's (or province's) central PostgreSQL.

The URL is `--url`, else $LOA_CENTRAL_URL, else `[central] url` of config.toml (read alone,
so a district's machine needs no station config). `init`, `add-district` and `add-station`
need the admin URL (the owner of the database, with CREATEROLE); `stations`, `verify` work
with any role, and show what that role may see.
"""

from __future__ import annotations

import json
import os
import sys
import tomllib
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import click

from loa.app import App
from loa.errors import LoaError
from loa.params import DATE, PERIOD, InputFile


class CentralFailure(LoaError):
    def __init__(self, message: str, exit_code: int = 1) -> None:
        super().__init__(message)
        self.exit_code = exit_code


@contextmanager
def failures() -> Iterator[None]:
    """CentralError and BundleError become loa errors with their exit codes. The bundle code
    is not imported for this (it loads SQLAlchemy: a second of `loa central send`'s start on a
    loaded PC): a BundleError can only come from where it was imported already."""
    from central.errors import CentralError

    try:
        yield
    except CentralError as exc:
        raise CentralFailure(str(exc), exc.exit_code) from None
    except Exception as exc:
        bundle = sys.modules.get("airtime.bundle")
        if bundle is not None and isinstance(exc, bundle.BundleError):
            raise CentralFailure(str(exc)) from None
        raise


def central_url(app: App, given: str | None) -> str:
    if given:
        return given
    if os.environ.get("LOA_CENTRAL_URL"):
        return os.environ["LOA_CENTRAL_URL"]
    try:
        raw = tomllib.loads(Path(app.config_path).read_text("utf-8"))
        url = raw.get("central", {}).get("url")
    except (OSError, ValueError, AttributeError):
        url = None
    if not url:
        raise click.UsageError(
            "no central database: give --url postgresql+psycopg://USER:PASSWORD@HOST/DB, "
            f"or set [central] url in {app.config_path}"
        )
    return str(url)


URL_HELP = "CSDL trung tâm (central database; else $LOA_CENTRAL_URL, else [central] url)."


def _keep_url(ctx: click.Context, _param: click.Parameter, value: str | None) -> None:
    if value is not None:
        ctx.meta["central_url"] = value


def url_option(command: Any) -> Any:
    """`--url` after the command's name too (`loa central init --url URL`), as before it."""
    return click.option(
        "--url", metavar="URL", expose_value=False, callback=_keep_url, help=URL_HELP
    )(command)


@click.group()
@url_option
def central() -> None:
    """CSDL trung tâm của huyện/tỉnh (the district's or province's central database)."""


def _url(ctx: click.Context) -> str:
    return central_url(ctx.obj, ctx.meta.get("central_url"))


@central.command("init")
@url_option
@click.pass_context
def init_cmd(ctx: click.Context) -> None:
    """Tạo hoặc nâng cấp lược đồ trung tâm (create or migrate the schema; idempotent)."""
    from central.conn import redact
    from central.schema import init

    url = _url(ctx)
    with failures():
        before, now = init(url)
    what = "đã có sẵn (already up to date)" if before == now else f"{before} -> {now}"
    click.echo(f"lược đồ trung tâm (central schema) {redact(url)}: phiên bản {now}, {what}")


def _code(_ctx: click.Context, param: click.Parameter, value: str | None) -> str | None:
    """A station id or a district code as a station's own config.toml takes it: a station
    registered as "Xa A" or with a control character could never push (its [station] id
    cannot be that), and showed in the reports as another name."""
    from loa.config import SLUG

    if value is not None and not SLUG.fullmatch(value):
        raise click.BadParameter(
            f"{value!r} không phải mã hợp lệ (is not an id): use lower-case ASCII letters, "
            "digits and '-' (at most 64), as [station] id of the station's config.toml, "
            'e.g. "xa-an-binh"'
        )
    return value


def _zone(_ctx: click.Context, _param: click.Parameter, value: str) -> str:
    """An IANA time zone the station's config would take: the central roll-ups place each
    row in its station's day with it, and PostgreSQL refused every row of a station whose
    zone it did not know ('time zone "Mars/Base" not recognized': nothing of it arrived)."""
    from loa.config.schema import _timezone

    try:
        return _timezone(value)
    except ValueError as exc:
        raise click.BadParameter(str(exc)) from None


HOST = click.option(
    "--host", help="Máy chủ trong URL cấp cho xã (host the commune connects to; default: --url's)."
)


@central.command("add-district")
@url_option
@click.argument("code", callback=_code)
@click.option("--name", required=True, help="Tên huyện (district name).")
@click.option("--province", help="Mã tỉnh (province code).")
@HOST
@click.pass_context
def add_district_cmd(
    ctx: click.Context, code: str, name: str, province: str | None, host: str | None
) -> None:
    """Đăng ký huyện và cấp tài khoản chỉ-đọc (a district and its read-only login)."""
    from central.roles import add_district

    with failures():
        issued = add_district(_url(ctx), code, name, province, host)
    click.echo(f"huyện (district) {code}: tài khoản (role) {issued.role}", err=True)
    click.echo("URL chỉ hiện một lần, hãy lưu lại (shown once, keep it):", err=True)
    click.echo(issued.url)


@central.command("add-station")
@url_option
@click.argument("station_id", metavar="ID", callback=_code)
@click.option("--name", required=True, help="Tên đài (station name).")
@click.option("--district", required=True, callback=_code, help="Mã huyện (district code).")
@click.option("--province", help="Mã tỉnh (province code).")
@click.option(
    "--timezone", default="Asia/Ho_Chi_Minh", show_default=True, callback=_zone,
    help="Múi giờ của đài.",
)  # fmt: skip
@HOST
@click.pass_context
def add_station_cmd(
    ctx: click.Context,
    station_id: str,
    name: str,
    district: str,
    province: str | None,
    timezone: str,
    host: str | None,
) -> None:
    """Đăng ký đài xã và cấp tài khoản riêng (a station and its own login role)."""
    from central.roles import add_station

    with failures():
        issued = add_station(_url(ctx), station_id, name, district, province, timezone, host)
    click.echo(
        f"đài (station) {station_id}: tài khoản (role) {issued.role}; đặt URL dưới đây vào "
        "[central] url của config.toml ở đài xã (put this URL in the commune's config.toml). "
        "Chỉ hiện một lần (shown once; add-station again issues a new one):",
        err=True,
    )
    click.echo(issued.url)


def _shown(value: Any) -> Any:
    return value.isoformat(timespec="seconds") if hasattr(value, "isoformat") else value


@central.command("stations")
@url_option
@click.option("--json", "as_json", is_flag=True, help="JSON thay cho bảng (JSON output).")
@click.pass_context
def stations_cmd(ctx: click.Context, as_json: bool) -> None:
    """Danh sách đài, nhịp sống và số bản ghi đã gửi (stations, heartbeats, rows)."""
    from central.roles import stations

    with failures():
        rows = stations(_url(ctx))
    if as_json:
        data = [{k: _shown(v) for k, v in r.items()} for r in rows]
        click.echo(json.dumps(data, ensure_ascii=False, indent=1))
        return
    if not rows:
        click.echo("chưa có đài nào (no stations): `loa central add-station`")
    for r in rows:
        beat = _shown(r["heartbeat_at"]) or "chưa (never)"
        click.echo(
            f"{r['district']}  {r['id']}  {r['name']}: {r['rows'] or 0} bản ghi (rows), "
            f"nhịp cuối (last heartbeat) {beat}, loa {r['loa_version'] or '-'}"
        )


@central.command("import")
@url_option
@click.argument("files", nargs=-1, required=True, type=InputFile())
@click.pass_context
def import_cmd(ctx: click.Context, files: tuple[Path, ...]) -> None:
    """Nạp gói nhật ký mang bằng USB (load bundles; the same bundle twice changes nothing)."""
    from airtime.bundle import BundleError
    from central.bundles import import_bundle
    from central.errors import CentralError, ImportStopped

    url, refused, stopped = _url(ctx), [], []
    for path in files:
        try:
            done = import_bundle(url, path)
        except ImportStopped as exc:
            stopped.append(path)
            click.echo(f"DỪNG GIỮA CHỪNG (stopped part way): {exc}", err=True)
            continue
        except (BundleError, CentralError, OSError) as exc:
            refused.append(path)
            click.echo(f"TỪ CHỐI (refused): {exc}", err=True)
            continue
        click.echo(
            f"{path}: {done.station}: {done.rows} bản ghi, mới (new) {done.new}, "
            f"đã có (already there) {done.already}"
        )
    if stopped:
        raise LoaError(
            f"{len(stopped)} of {len(files)} bundles stopped part way (what went in is whole): "
            "chạy lại cùng lệnh để nạp phần còn lại (run the same import again to load the rest)"
            + (f"; {len(refused)} refused, nothing of them written" if refused else "")
        )
    if refused:
        raise LoaError(f"{len(refused)} of {len(files)} bundles refused, nothing of them written")


@central.command("verify")
@url_option
@click.option("--station", "station", metavar="ID", help="Chỉ một đài (one station).")
@click.pass_context
def verify_cmd(ctx: click.Context, station: str | None) -> None:
    """Kiểm tra chuỗi toàn vẹn của từng đài ở trung tâm (each station's chain, centrally)."""
    from central.verify import verify_central

    with failures():
        results = verify_central(_url(ctx), station)
    bad = 0
    for r in results:
        if r.ok:
            click.echo(f"{r.station}: toàn vẹn (verified), {r.rows} bản ghi, head {r.head or '-'}")
            continue
        bad += 1
        b = r.broken
        assert b is not None
        click.echo(
            f"{r.station}: KHÔNG toàn vẹn (NOT verified) after {r.rows} good rows: "
            f"first broken row: id {b.id}, chain position {b.chain_seq or '-'}: {b.reason}"
        )
    if bad:
        raise LoaError(f"{bad} of {len(results)} stations' chains are broken")


# ---------------------------------------------------------------- the district's report


def report_letterhead(report: Any, given: dict[str, Any]) -> Any:
    """The letterhead: what the options give, else the district station's (a district's
    report) or the Department's (the province's)."""
    from airtime.document import Letterhead
    from central.document import PREFIXES, lower_first

    if report.district is not None and report.parts:
        name = lower_first(report.parts[0].name)
        head, _, rest = report.parts[0].name.partition(" ")
        defaults: dict[str, Any] = {
            "issuer": f"Đài Truyền thanh {name}",
            "place": rest if head in PREFIXES and rest else report.parts[0].name,
            "parent": f"UBND {name}",
            "symbol": "ĐTT",
            "title": "TRƯỞNG ĐÀI",
            "recipients": ["Sở Thông tin và Truyền thông", f"UBND {name}", "Lưu: VT"],
        }
    else:
        defaults = {
            "issuer": "Sở Thông tin và Truyền thông",
            "parent": "UBND TỈNH",
            "place": "……………",
            "symbol": "STTTT",
            "title": "GIÁM ĐỐC",
            "recipients": ["UBND tỉnh", "Lưu: VT"],
        }
    values = {**defaults, **{k: v for k, v in given.items() if v not in (None, ())}}
    return Letterhead(
        issuer=values["issuer"],
        parent=values.get("parent", ""),
        symbol=values.get("symbol", ""),
        place=values.get("place", ""),
        authority=list(values.get("authority", [])),
        title=values.get("title", ""),
        signer=values.get("signer", ""),
        recipients=list(values["recipients"]),
    )


def _output_refusal(output: Path, fmt: str, config_path: Path) -> str | None:
    """Why `--output` must not be written: the config.toml the URL may come from, or an
    existing file of another kind (a bundle, a spreadsheet for a csv, a database)."""
    from loa.output_file import kind_refusal

    advice = "chọn tên tệp khác cho --output (choose another file name)"
    if output.resolve() == Path(config_path).resolve():
        return f"{output} là tệp cấu hình (the config, {config_path}): {advice}"
    return kind_refusal(output, fmt, advice)


def _write_out(
    data: bytes, fmt: str, output: Path | None, default_name: str, config_path: Path
) -> None:
    import sys

    if output is None and fmt in ("xlsx", "docx"):
        output = Path(default_name)
    if output is not None and str(output) != "-":
        problem = _output_refusal(output, fmt, config_path)
        if problem is not None:
            raise click.UsageError(problem)
    if output is None or str(output) == "-":
        if fmt in ("xlsx", "docx") and sys.stdout.isatty():
            raise LoaError(
                f"{fmt} là tệp nhị phân, không in ra màn hình (a binary file is not written to a "
                "terminal): use --output FILE"
            )
        sys.stdout.buffer.write(data)
        sys.stdout.buffer.flush()
        return
    try:
        output.write_bytes(data)
    except OSError as exc:
        raise LoaError(f"{output}: cannot write the report: {exc.strerror}") from None
    click.echo(f"đã ghi báo cáo (report written): {output}", err=True)


@central.command("report")
@url_option
@click.option("--period", "period", type=PERIOD, required=True,
              help="2021, 2021-H1, 2021-Q3, 2021-03 hoặc 2021-01-15..2021-02-14.")  # fmt: skip
@click.option("--district", metavar="CODE", help="Một huyện; bỏ trống = báo cáo toàn tỉnh.")
@click.option(
    "--stale", "stale_days", type=click.IntRange(1, 366), default=7, show_default=True,
    help="Quá bấy nhiêu ngày chưa gửi thì nêu tên (days of silence named as late).",
)  # fmt: skip
@click.option(
    "--format", "fmt", type=click.Choice(["text", "csv", "json", "xlsx", "docx"]),
    default="text", show_default=True, help="Dạng báo cáo (report format).",
)  # fmt: skip
@click.option(
    "--output", type=click.Path(dir_okay=False, path_type=Path),
    help="Tệp kết quả; '-' = stdout (xlsx/docx default: bao-cao-<huyện>-<kỳ>.<ext>).",
)  # fmt: skip
@click.option("--issuer", help="Cơ quan ban hành (issuing body).")
@click.option("--parent", help="Cơ quan chủ quản (its parent body).")
@click.option("--symbol", help='Chữ viết tắt sau "Số: .../BC-".')
@click.option("--place", help="Địa danh ở dòng ngày tháng (place of the date line).")
@click.option("--authority", multiple=True, help="Thẩm quyền ký, mỗi dòng một lần (repeatable).")
@click.option("--title", help="Chức vụ người ký (signer's title).")
@click.option("--signer", help="Người ký (signer's name).")
@click.option("--recipient", "recipients", multiple=True, help="Nơi nhận, mỗi mục một lần.")
@click.pass_context
def report_cmd(
    ctx: click.Context,
    period: Any,
    district: str | None,
    stale_days: int,
    fmt: str,
    output: Path | None,
    **letter: Any,
) -> None:
    """Báo cáo của huyện/tỉnh cho kỳ P (the district's or the province's report)."""
    from datetime import datetime

    from central.document import central_document
    from central.report_forms import report_csv, report_json
    from central.report_queries import central_report

    with failures():
        report = central_report(_url(ctx), period, district, stale_days=stale_days)
    created = datetime.now().astimezone()
    document = central_document(report, report_letterhead(report, letter),
                                issued=created.date(), created=created)  # fmt: skip
    if fmt == "xlsx":
        from airtime.export_xlsx import document_xlsx

        data = document_xlsx(document)
    elif fmt == "docx":
        from airtime.export_docx import document_docx

        data = document_docx(document)
    elif fmt == "json":
        data = report_json(report).encode()
    elif fmt == "csv":
        data = report_csv(report).encode()
    else:
        from airtime.export_text import document_text

        data = document_text(document).encode()
    scope = district or "tinh"
    name = f"bao-cao-{scope}-{period.label.replace('..', '_')}.{fmt}"
    _write_out(data, fmt, output, name, ctx.obj.config_path)
    if report.not_reporting:
        click.echo(
            f"{len(report.not_reporting)} đài không gửi số liệu của kỳ (stations sent nothing "
            "for the period): "
            + ", ".join(s.id for s in report.not_reporting[:20])
            + (" …" if len(report.not_reporting) > 20 else ""),
            err=True,
        )


@central.command("status")
@url_option
@click.option("--json", "as_json", is_flag=True, help="JSON thay cho bảng (JSON output).")
@click.pass_context
def status_cmd(ctx: click.Context, as_json: bool) -> None:
    """Tình trạng từng đài: nhịp sống, lần gửi cuối, sự cố 24 giờ qua (each station's status)."""
    from datetime import UTC, datetime

    from central.status import read_status, status_dict, status_lines

    now = datetime.now(UTC)
    with failures():
        stations = read_status(_url(ctx), now=now)
    if as_json:
        click.echo(json.dumps([status_dict(s) for s in stations], ensure_ascii=False, indent=1))
        return
    if not stations:
        click.echo("chưa có đài nào (no stations): `loa central add-station`")
        return
    for line in status_lines(stations, now):
        click.echo(line)


# ---------------------------------------------------------------- bulletins (issue 13)

PRIORITY_CHOICE = click.Choice(["thuong", "uu-tien", "khan-cap"])
MAX_TITLE = 500  # central.bulletin's CHECK (length(title) BETWEEN 1 AND 500)


def _measure(path: Path) -> Any:
    """The file measured exactly as the station library measures a spot: refused with the
    library's own reason."""
    from audio_library.probe import probe
    from central.bulletins import Audio

    try:
        info = probe(path.expanduser().resolve(), target_lufs=-16.0)
        data = path.read_bytes()
    except ValueError as exc:
        raise LoaError(
            f"{path}: thư viện sẽ từ chối tệp này (the library refuses it): {exc}"
        ) from None
    except OSError as exc:
        raise LoaError(f"{path}: cannot read: {exc.strerror or exc}") from None
    return Audio(path.name, data, info.playable_s)


@central.command("send")
@url_option
@click.argument("file", type=click.Path(dir_okay=False, path_type=Path))
@click.option("--title", required=True, help="Tiêu đề bản tin (the bulletin's title).")
@click.option(
    "--priority", required=True, type=PRIORITY_CHOICE,
    help="Độ ưu tiên theo TT 39/2020 (thuong: the commune decides; uu-tien: heads the next "
    "slot; khan-cap: at once, cutting in).",
)  # fmt: skip
@click.option("--topic", metavar="ID", help="Chủ đề để xoay vòng (thuong: its topic's rotation).")
@click.option(
    "--stations", default="all", show_default=True, metavar="all|district:CODE|ID,ID",
    help="Gửi đến đài nào (which stations).",
)  # fmt: skip
@click.option("--from", "valid_from", type=DATE, help="Hiệu lực từ ngày (valid from, inclusive).")
@click.option(
    "--until", "valid_until", type=DATE, help="Hiệu lực đến ngày (valid until, inclusive)."
)
@click.option(
    "--times", type=click.IntRange(min=1), help="Phát tối đa N lần (airs at most N times)."
)
@click.pass_context
def send_cmd(
    ctx: click.Context,
    file: Path,
    title: str,
    priority: str,
    topic: str | None,
    stations: str,
    valid_from: Any,
    valid_until: Any,
    times: int | None,
) -> None:
    """Gửi bản tin xuống các đài xã (send a bulletin down to the commune stations)."""
    from central.bulletins import send

    if not title.strip():
        raise click.BadParameter("the title is empty", param_hint="--title")
    if len(title.strip()) > MAX_TITLE:
        raise click.BadParameter(
            f"tiêu đề dài {len(title.strip())} ký tự, tối đa {MAX_TITLE} (the title has "
            f"{len(title.strip())} characters, at most {MAX_TITLE}): write a shorter one",
            param_hint="--title",
        )
    if any(ord(c) < 32 or ord(c) == 127 for c in title.strip()):
        raise click.BadParameter(
            "tiêu đề có ký tự điều khiển hoặc xuống dòng (the title holds a control character "
            "or a line break; the stations list bulletins one a line): write it on one line",
            param_hint="--title",
        )
    audio = _measure(file)
    with failures():
        try:
            sent = send(
                _url(ctx), audio, title=title.strip(), priority=priority, topic=topic,
                stations=stations, valid_from=valid_from, valid_until=valid_until, times=times,
            )  # fmt: skip
        except ValueError as exc:
            raise click.BadParameter(str(exc), param_hint="--stations") from None
    click.echo(
        f"bản tin (bulletin) {sent.id}: {title.strip()} [{priority}], {audio.duration_s:.1f} s, "
        f"gửi đến {len(sent.stations)} đài (sent to {len(sent.stations)} stations): "
        + ", ".join(sent.stations)
    )


def _bulletin_json(row: dict[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for k, v in row.items():
        if isinstance(v, list):
            out[k] = [_bulletin_json(x) if isinstance(x, dict) else x for x in v]
        elif hasattr(v, "isoformat"):
            out[k] = v.isoformat()
        else:
            out[k] = v
    return out


@central.command("bulletins")
@url_option
@click.option("--json", "as_json", is_flag=True, help="JSON thay cho bảng (JSON output).")
@click.pass_context
def bulletins_cmd(ctx: click.Context, as_json: bool) -> None:
    """Danh sách bản tin đã gửi (the bulletins sent: delivered, accepted, aired)."""
    from central.bulletins import listing

    with failures():
        rows = listing(_url(ctx))
    if as_json:
        click.echo(json.dumps([_bulletin_json(r) for r in rows], ensure_ascii=False, indent=1))
        return
    if not rows:
        click.echo("chưa gửi bản tin nào (no bulletins): `loa central send`")
    for r in rows:
        gone = f", THU HỒI (withdrawn) {_shown(r['withdrawn_at'])}" if r["withdrawn_at"] else ""
        click.echo(
            f"{r['id']}  [{r['priority']}]  {r['title']}: {r['stations']} đài (stations), "
            f"nhận (delivered) {r['delivered']}, duyệt (accepted) {r['accepted']}, "
            f"từ chối (refused) {r['refused']}, lượt phát (airings) {r['aired']}{gone}"
        )


@central.command("bulletin")
@url_option
@click.argument("bulletin_id", metavar="ID", type=int)
@click.option("--json", "as_json", is_flag=True, help="JSON thay cho bảng (JSON output).")
@click.pass_context
def bulletin_cmd(ctx: click.Context, bulletin_id: int, as_json: bool) -> None:
    """Bản tin ở từng đài: nhận, duyệt, mỗi lượt phát đo được (per station: what became of it)."""
    from central.bulletins import detail

    with failures():
        b = detail(_url(ctx), bulletin_id)
    if as_json:
        click.echo(json.dumps(_bulletin_json(b), ensure_ascii=False, indent=1))
        return
    window = f"{b['valid_from'] or '…'}..{b['valid_until'] or '…'}"
    click.echo(
        f"bản tin (bulletin) {b['id']}: {b['title']} [{b['priority']}] chủ đề (topic) "
        f"{b['topic'] or '-'}, hiệu lực (valid) {window}, tối đa (times) {b['times'] or '-'}, "
        f"gửi bởi (sent by) {b['sender']} lúc {_shown(b['created_at'])}"
        + (f", THU HỒI (withdrawn) {_shown(b['withdrawn_at'])}" if b["withdrawn_at"] else "")
    )
    for s in b["stations"]:
        click.echo(
            f"  {s['station']}: nhận (delivered) {_shown(s['delivered_at']) or '-'}, "
            f"duyệt (accepted) {_shown(s['accepted_at']) or '-'}"
        )
        for a in s["airings"]:
            click.echo(
                f"    phát (aired) {_shown(a['started_at']) or '-'} {a['kind']} "
                f"{a['slot'] or ''} {a['played_s']:.1f} s {a['status']}"
            )
        if s["why_not"]:
            click.echo(f"    {s['why_not']}")


@central.command("withdraw")
@url_option
@click.argument("bulletin_id", metavar="ID", type=int)
@click.pass_context
def withdraw_cmd(ctx: click.Context, bulletin_id: int) -> None:
    """Thu hồi bản tin: đài chưa phát sẽ không phát (withdraw: not aired once a station knows)."""
    from central.bulletins import withdraw

    with failures():
        at = withdraw(_url(ctx), bulletin_id)
    click.echo(f"bản tin (bulletin) {bulletin_id}: đã thu hồi (withdrawn) {_shown(at)}")
