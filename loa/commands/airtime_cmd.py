"""`loa airtime log | report | verify`: the as-played log, the report, the integrity check."""

from __future__ import annotations

import sys
from datetime import date, datetime, timedelta
from pathlib import Path

import click
import sqlalchemy as sa

from airtime.document import Letterhead
from airtime.periods import Period, date_range, day_start
from airtime.relay_report import relay_lines
from airtime.report import Due, Report, build_report, count_sessions
from airtime.report_store import broadcasts, log_began, session_rows
from airtime.station_document import station_document
from airtime.store import T, log_rows, report_data, verify_station
from loa.app import App
from loa.config import Config
from loa.errors import LoaError
from loa.params import DATE, PERIOD, format_option

BINARY = ("xlsx", "docx")


@click.group()
def airtime() -> None:
    """Nhật ký phát sóng và báo cáo (the as-played log and the report)."""


@airtime.command("log")
@click.option("--from", "start", type=DATE, help="Từ ngày, giờ của đài (first day).")
@click.option("--to", "end", type=DATE, help="Đến ngày, tính cả ngày này (last day).")
@click.option("--topic", help="Chỉ một chủ đề (one topic id).")
@format_option("table", "csv", "json")
@click.pass_obj
def log_cmd(app: App, start: date | None, end: date | None, topic: str | None, fmt: str) -> None:
    """Nhật ký phát sóng thực tế, cũ nhất trước (the as-played log, oldest first)."""
    from airtime import export_csv, export_json, export_text

    config = app.config
    try:
        period = date_range(start, end)
    except ValueError as exc:
        raise click.BadParameter(str(exc), param_hint="'--to'") from None
    tz = config.tz
    with app.engine.connect() as conn:
        if topic is not None and topic not in config.topic_ids:
            known = conn.execute(sa.select(T.c.topic).where(T.c.topic == topic).limit(1)).first()
            if known is None:
                raise click.BadParameter(
                    f'no topic "{topic}" in config.toml nor in the log; '
                    f"topics: {', '.join(config.topic_ids)}",
                    param_hint="'--topic'",
                )
        rows = log_rows(conn, config.station.id, period, tz, topic)
        if fmt == "json":
            click.echo(export_json.log_json(rows, tz), nl=False)
        elif fmt == "csv":
            for chunk in export_csv.log_csv(rows, tz):
                click.echo(chunk, nl=False)
        else:
            for line in export_text.log_table(rows, tz):
                click.echo(line)


def due_sessions(config: Config, lo: datetime, hi: datetime) -> list[Due]:
    """The sessions the configured slots made due in [lo, hi), from the same APScheduler
    triggers the daemon fires on (computed here: airtime/ does not import the scheduler)."""
    from scheduler.slots import occurrences
    from scheduler.spec import SlotSpec, StationSpec

    slots = tuple(
        SlotSpec(name=s.name, start=s.start, length_s=s.length, days=s.days) for s in config.slots
    )
    spec = StationSpec(id=config.station.id, name=config.station.name, tz=config.tz,
                       weights={}, slots=slots)  # fmt: skip
    return [Due(o.slot.name, o.at, o.end) for o in occurrences(spec, lo, hi)]


def build(app: App, period: Period, now: datetime | None = None) -> Report:
    config = app.config
    tz = config.tz
    now = now or datetime.now(tz)
    station = config.station.id
    lo, hi = period.bounds(tz)
    with app.engine.connect() as conn:
        groups, months = report_data(conn, station, period, tz)
        verification = verify_station(conn, station)
        began = log_began(conn, station)
        specials = broadcasts(conn, station, lo, hi, tz)
        # Sessions are due from the period's start (or the day the log began, for a station
        # put into service inside the period) up to now when the period is still open.
        since = max(lo, day_start(began.astimezone(tz).date(), tz)) if began else lo
        until = min(hi, now)
        due = due_sessions(config, since, until) if since < until else []
        rows = session_rows(conn, station, since, until) if due else []
    report = build_report(
        groups,
        station_id=station,
        station_name=config.station.name,
        period=period,
        topics=[(t.id, t.name) for t in config.topics],
        months=months,
    )
    report.sessions = count_sessions(
        due,
        rows,
        since=since.astimezone(tz).date() if since < until else None,
        until=(until - timedelta(microseconds=1)).astimezone(tz).date() if since < until else None,
        open_period=now < hi,
    )
    report.weights = {t.id: t.weight for t in config.topics}
    report.broadcasts = specials
    report.relays = relay_lines(groups, [(s.id, s.name) for s in config.sources])
    report.verification = verification
    report.issued = now.date()
    report.place = config.report.place
    report.recipient = config.report.recipient
    report.signer = config.report.signer
    return report


def letterhead(config: Config) -> Letterhead:
    r = config.report
    recipients = list(r.recipients) or [x for x in (r.recipient, "Lưu: VT") if x]
    return Letterhead(
        issuer=config.station.name,
        parent=r.parent,
        symbol=r.symbol,
        place=r.place,
        authority=list(r.authority),
        title=r.title,
        signer=r.signer,
        recipients=recipients,
    )


def _check_output(app: App, output: Path, kind: str) -> None:
    """A usage error when --output names a file of the station or one of another kind."""
    from loa.output_file import refusal

    problem = refusal(app.config, app.config_path, output, kind)
    if problem is not None:
        raise click.BadParameter(problem, param_hint="'--output'")


@airtime.command("report")
@click.option("--period", "period", type=PERIOD, required=True,
              help="2021, 2021-H1, 2021-Q3, 2021-03 hoặc 2021-01-15..2021-02-14.")  # fmt: skip
@format_option("text", "csv", "json", "xlsx", "docx", help="Dạng báo cáo (report format).")
@click.option(
    "--output", type=click.Path(dir_okay=False, path_type=Path),
    help="Tệp kết quả; '-' = stdout (output file; xlsx/docx default: bao-cao-<đài>-<kỳ>.<ext>).",
)  # fmt: skip
@click.pass_obj
def report_cmd(app: App, period: Period, fmt: str, output: Path | None) -> None:
    """Báo cáo kết quả tuyên truyền cho kỳ P (the report for the Department)."""
    from airtime import export_csv, export_json, export_text

    if output is not None and str(output) != "-":
        _check_output(app, output, fmt)
    report = build(app, period)
    document = station_document(
        report, letterhead(app.config), issued=report.issued or date.today(),
        created=datetime.now(app.config.tz),
    )  # fmt: skip
    data: bytes
    if fmt == "xlsx":
        from airtime import export_xlsx  # openpyxl: only for this format

        data = export_xlsx.document_xlsx(document)
    elif fmt == "docx":
        from airtime import export_docx  # python-docx: only for this format

        data = export_docx.document_docx(document)
    elif fmt == "json":
        data = export_json.report_json(report).encode()
    elif fmt == "csv":
        data = export_csv.report_csv(report).encode()
    else:
        data = export_text.document_text(document).encode()
    if output is None and fmt in BINARY:
        output = Path(f"bao-cao-{report.station_id}-{period.label.replace('..', '_')}.{fmt}")
        _check_output(app, output, fmt)
    if output is None or str(output) == "-":
        stream = sys.stdout.buffer
        if fmt in BINARY and sys.stdout.isatty():
            raise LoaError(
                f"{fmt} là tệp nhị phân, không in ra màn hình (a binary file is not written to a "
                "terminal): use --output FILE, or redirect: > bao-cao." + fmt
            )
        stream.write(data)
        stream.flush()
    else:
        try:
            output.write_bytes(data)
        except OSError as exc:
            raise LoaError(f"{output}: cannot write the report: {exc.strerror}") from None
        click.echo(f"đã ghi báo cáo (report written): {output}", err=True)
    verification = report.verification
    if verification is not None and not verification.ok:
        click.echo(
            "cảnh báo (warning): nhật ký phát sóng không toàn vẹn, xem `loa airtime verify`",
            err=True,
        )


@airtime.command("verify")
@click.pass_obj
def verify_cmd(app: App) -> None:
    """Kiểm tra chuỗi toàn vẹn của nhật ký (checks the log's integrity chain)."""
    station = app.config.station.id
    with app.engine.connect() as conn:
        result = verify_station(conn, station)
    for seq, row_id in result.open_rows:
        click.echo(f"đang phát, chưa đóng (open, not an error): seq {seq} id {row_id}")
    if result.ok:
        click.echo(
            f"nhật ký toàn vẹn (log verified): {station}: {result.rows} bản ghi (rows), "
            f"{len(result.open_rows)} đang phát (open), mã băm cuối (head) {result.head or '-'}"
        )
        return
    b = result.broken
    assert b is not None
    click.echo(f"đã kiểm tra đúng (good links before the break): {result.rows} bản ghi")
    raise LoaError(
        f"nhật ký KHÔNG toàn vẹn (log NOT verified): bản ghi lỗi đầu tiên (first broken row): "
        f"seq {b.seq}, id {b.id}, chain position {b.chain_seq if b.chain_seq else '-'}: {b.reason}"
    )


@airtime.command("push")
@click.option(
    "--to", "url", metavar="URL",
    help="CSDL trung tâm (central database; default [central] url), the URL add-station printed.",
)  # fmt: skip
@click.option("--batch", type=click.IntRange(1, 100_000), default=2000, hidden=True)
@click.pass_obj
def push_cmd(app: App, url: str | None, batch: int) -> None:
    """Gửi nhật ký của đài lên CSDL trung tâm, lặp lại an toàn (push the log, resumable)."""
    from central.errors import CentralError
    from central.push import push
    from loa.commands.central import CentralFailure
    from loa.compose import central_report

    config = app.config
    url = url or config.central.url
    if not url:
        raise click.UsageError("give --to URL, or set [central] url in config.toml")
    try:
        with app.engine.connect() as source:
            result = push(source, url, config.station.id, central_report(config), batch)
    except CentralError as exc:
        raise CentralFailure(str(exc), exc.exit_code) from None
    click.echo(
        f"đã gửi (copied) {result.copied} bản ghi, đã có sẵn (already there) {result.already}, "
        f"đang phát chờ lần sau (open, next push) {result.open_rows}"
    )


@airtime.command("export")
@click.option("--period", "period", type=PERIOD, required=True,
              help="2021, 2021-H1, 2021-Q3, 2021-03 hoặc 2021-01-15..2021-02-14.")  # fmt: skip
@click.option(
    "--output", required=True, type=click.Path(dir_okay=False, path_type=Path),
    help="Tệp gói, e.g. nhat-ky-2021-03.loa.gz (the bundle file).",
)  # fmt: skip
@click.pass_obj
def export_cmd(app: App, period: Period, output: Path) -> None:
    """Gói nhật ký một kỳ để mang lên huyện bằng USB (a bundle for `loa central import`)."""
    from airtime.bundle import BundleError, write_bundle

    config = app.config
    _check_output(app, output, "bundle")
    partial = output.with_name(output.name + ".partial")
    try:
        with app.engine.connect() as conn, open(partial, "wb") as out:
            done = write_bundle(conn, config.station.id, period, config.tz, out, output)
        partial.replace(output)
    except BundleError as exc:
        partial.unlink(missing_ok=True)
        raise LoaError(str(exc)) from None
    except OSError as exc:
        partial.unlink(missing_ok=True)
        raise LoaError(f"{output}: cannot write the bundle: {exc.strerror}") from None
    click.echo(
        f"đã ghi gói (bundle written) {output}: {done.rows} bản ghi, "
        f"chain {done.first}..{done.last}, sha256 {done.sha256}"
    )
