"""`loa library scan | list | check | approve | set`: the spot catalogue from the command line."""

from __future__ import annotations

import csv
import io
import json
import sys
from datetime import date, datetime
from typing import Any

import click

from audio_library.catalog import UNSET, CatalogError, SpotRecord, list_spots, resolve, set_meta
from audio_library.files import discover
from audio_library.safeio import StepTimeout
from loa.app import App
from loa.compose import missing_root, rescan
from loa.errors import LoaError
from loa.params import DATE, DATE_OR_CLEAR, format_option

PROGRESS_MIN_FILES = 5


def _root(app: App) -> Any:
    root = app.config.library.root
    missing = missing_root(root)
    if missing:
        raise LoaError(missing)
    return root


def _today(app: App) -> date:
    return datetime.now(app.config.tz).date()


@click.group()
def library() -> None:
    """Thư viện tin bài (the audio library of spots)."""


@library.command()
@click.option("--json", "as_json", is_flag=True, help="In kết quả dạng JSON (print JSON).")
@click.option(
    "--workers",
    default=2,
    show_default=True,
    type=click.IntRange(1, 16),
    help="Số tệp phân tích cùng lúc (files analysed in parallel).",
)
@click.pass_obj
def scan(app: App, as_json: bool, workers: int) -> None:
    """Quét thư viện, phân tích tệp mới hoặc đã đổi (catalogue new and changed files)."""
    cfg = app.config
    _root(app)  # refuses a missing library folder with a clear message
    bar: Any = None
    tty = sys.stderr.isatty() and not as_json

    def on_total(n: int) -> None:
        nonlocal bar
        if tty and n > PROGRESS_MIN_FILES:
            bar = click.progressbar(length=n, label="Đang quét (scanning)", file=sys.stderr)
            bar.__enter__()

    def on_done(k: int) -> None:
        if bar is not None:
            bar.update(k)

    try:
        report = rescan(cfg, app.engine, workers=workers, on_total=on_total, on_done=on_done)
    except StepTimeout as exc:  # the library folder itself did not answer (a hung mount)
        raise LoaError(f"library.root: {exc.strerror or exc}") from None
    finally:
        if bar is not None:
            bar.__exit__(None, None, None)
    if as_json:
        click.echo(json.dumps(report.as_json(), ensure_ascii=False, indent=2))
        return
    click.echo(
        f"Thêm {report.added}, cập nhật {report.updated}, không đổi {report.unchanged}, "
        f"đã xoá {report.removed} (added, updated, unchanged, removed)"
    )
    if report.rejected:
        click.echo(f"Bị từ chối {len(report.rejected)} (rejected):")
        for item in report.rejected:
            click.echo(f"  {item['path']}: {item['reason']}")


def _fmt(value: float | None, digits: int = 1) -> str:
    return "" if value is None else f"{value:.{digits}f}"


@library.command(name="list")
@click.option("--topic", help="Chỉ một chủ đề (only this topic id).")
@format_option("table", "csv", "json")
@click.pass_obj
def list_cmd(app: App, topic: str | None, fmt: str) -> None:
    """Danh mục tin bài (the catalogue)."""
    from audio_library.verdict import playback_gain, shortfall_reason  # the analysis stack

    cfg = app.config
    if topic is not None and topic not in cfg.topic_ids:
        raise LoaError(
            f'--topic: không có chủ đề "{topic}" (no such topic); '
            f"các mã (ids): {', '.join(cfg.topic_ids)}"
        )
    spots = list_spots(app.engine, cfg.library.root, topic=topic)
    on_disk = _refused_on_disk(app, spots, topic)
    lib = cfg.library

    def gain_of(s: SpotRecord) -> tuple[float | None, str | None]:
        """The gain the spot airs with (the rule the runner applies) and why it airs below
        the target, if it does."""
        g = playback_gain(s.loudness_lufs, s.peak_dbtp, lib.target_loudness, lib.max_boost)
        return g.gain_db, shortfall_reason(g, s.peak_dbtp, lib.max_boost)

    if fmt == "json":
        rows = [s.as_json() for s in spots] + on_disk
        click.echo(json.dumps(rows, ensure_ascii=False, indent=2))
        return
    fields = ["id", "topic", "path", "title", "duration_s", "loudness_lufs", "status", "reason"]
    if fmt == "csv":
        buf = io.StringIO()
        writer = csv.writer(buf, lineterminator="\n")
        writer.writerow(
            [
                *fields,
                "playable_s",
                "gain_db",
                "valid_from",
                "valid_until",
                "approved",
                "peak_dbtp",
                "below_target",
            ]
        )
        for s in spots:
            row = s.as_json()
            gain, short = gain_of(s)
            writer.writerow(
                [
                    *("" if row[k] is None else row[k] for k in fields),
                    s.playable_s,
                    "" if gain is None else gain,
                    s.valid_from or "",
                    s.valid_until or "",
                    "yes" if s.approved else "no",
                    "" if s.peak_dbtp is None else s.peak_dbtp,
                    short or "",
                ]
            )
        for r in on_disk:
            writer.writerow(["" if r[k] is None else r[k] for k in fields])
        click.echo(buf.getvalue(), nl=False)
        return
    if not spots and not on_disk:
        click.echo("Danh mục trống: chạy loa library scan (the catalogue is empty: run a scan)")
        return
    for s in spots:
        window = ""
        if s.valid_from or s.valid_until:
            window = f" [{s.valid_from or '…'}..{s.valid_until or '…'}]"
        mark = "✓" if s.approved else " "
        state = s.status if s.status == "ok" or not s.reason else f"{s.status}: {s.reason}"
        length = f"{s.playable_s:.1f}s" if s.status != "rejected" else "—"
        loud = f"{s.loudness_lufs:.1f} LUFS" if s.loudness_lufs is not None else "—"
        gain, short = gain_of(s) if s.status == "ok" else (None, None)
        shown_gain = f"{gain:+.1f} dB" if gain is not None else "—"
        flag = f"  ⚠ {short}" if short else ""
        click.echo(
            f"{s.id} {mark} {s.topic:<28} {length:>7} {loud:>10} {shown_gain:>8}  {s.path} — "
            f"{s.title}{window}  ({state}){flag}"
        )
    for r in on_disk:
        click.echo(
            f"{'—':<16}   {r['topic'] or '':<28} {'—':>7} {'—':>10} {'—':>8}  "
            f"{r['path']}  (rejected: {r['reason']})"
        )


def _refused_on_disk(app: App, spots: list[SpotRecord], topic: str | None) -> list[dict]:
    """What is in the library folder but cannot be catalogued (not a regular file, unreadable,
    a broken symlink, misplaced), found now, in the shape of `list --format json`. An entry
    the catalogue already shows with the same reason is not repeated."""
    root = app.config.library.root
    if not root.is_dir():
        return []
    try:
        _, refused = discover(root, app.config.topic_ids)
    except StepTimeout as exc:
        click.echo(f"library.root: {exc.strerror or exc}", err=True)
        return []
    shown = {(s.path, s.reason) for s in spots}
    out = []
    for m in refused:
        first = m.path.split("/", 1)[0]
        in_topic = first if "/" in m.path and first in app.config.topic_ids else None
        if topic is not None and in_topic != topic:
            continue
        if (m.path, m.reason) in shown:
            continue
        out.append(
            {
                "id": None,
                "topic": in_topic,
                "path": m.path,
                "title": "",
                "duration_s": None,
                "loudness_lufs": None,
                "status": "rejected",
                "reason": m.reason,
            }
        )
    return out


@library.command()
@click.option("--date", "on", type=DATE, help="Ngày kiểm tra (the day to check; default today).")
@click.option("--json", "as_json", is_flag=True, help="In kết quả dạng JSON (print JSON).")
@click.pass_obj
def check(app: App, on: date | None, as_json: bool) -> None:
    """Kiểm tra thư viện, không ghi gì; mã thoát 1 nếu có lỗi (check; exit 1 on errors)."""
    from audio_library.check import ERROR, check_library

    cfg = app.config
    day = on if isinstance(on, date) else _today(app)
    try:
        findings = check_library(
            app.engine,
            _root(app),
            cfg.topic_ids,
            on=day,
            require_approval=cfg.library.require_approval,
        )
    except StepTimeout as exc:  # the library folder itself did not answer (a hung mount)
        raise LoaError(f"library.root: {exc.strerror or exc}") from None
    errors = sum(f.level == ERROR for f in findings)
    if as_json:
        click.echo(json.dumps([f.as_json() for f in findings], ensure_ascii=False, indent=2))
    else:
        for f in findings:
            label = "lỗi (error)" if f.level == ERROR else "lưu ý (notice)"
            click.echo(f"{label}: {f.path}: {f.message}")
        click.echo(
            f"{errors} lỗi, {len(findings) - errors} lưu ý ({errors} errors, "
            f"{len(findings) - errors} notices)"
        )
    if errors:
        raise click.exceptions.Exit(1)


def _ids(app: App, targets: tuple[str, ...]) -> list[str]:
    try:
        return [resolve(app.engine, app.config.library.root, t) for t in targets]
    except CatalogError as exc:
        raise LoaError(str(exc)) from None


@library.command()
@click.argument("targets", nargs=-1, required=True)
@click.option("--by", "by", help="Người/Ban duyệt (who approved).")
@click.option("--revoke", is_flag=True, help="Bỏ duyệt (withdraw the approval).")
@click.pass_obj
def approve(app: App, targets: tuple[str, ...], by: str | None, revoke: bool) -> None:
    """Đánh dấu tin bài đã được Ban biên tập duyệt (mark spots approved).

    TARGETS: mã tin bài (id, or its first 6+ digits) hoặc đường dẫn tệp."""
    for target, spot in zip(targets, _ids(app, targets), strict=True):
        set_meta(app.engine, spot, approved=not revoke, approved_by=by)
        verb = "bỏ duyệt (revoked)" if revoke else "đã duyệt (approved)"
        click.echo(f"{spot} {verb}: {target}")


@library.command(name="set")
@click.argument("targets", nargs=-1, required=True)
@click.option(
    "--from", "valid_from", type=DATE_OR_CLEAR, help='Phát từ ngày (valid from; "-" clears).'
)
@click.option(
    "--until", "valid_until", type=DATE_OR_CLEAR, help='Phát đến hết ngày (until; "-" clears).'
)
@click.option("--note", help="Ghi chú (a note).")
@click.pass_obj
def set_cmd(
    app: App, targets: tuple[str, ...], valid_from: Any, valid_until: Any, note: str | None
) -> None:
    """Đặt thời hạn phát của tin bài (set a spot's validity window).

    TARGETS: mã tin bài (id, or its first 6+ digits) hoặc đường dẫn tệp."""
    if valid_from is None and valid_until is None and note is None:
        raise click.UsageError("cần ít nhất một trong --from, --until, --note (nothing to set)")

    def value(v: Any) -> Any:
        return UNSET if v is None else (None if v == "-" else v)

    for target, spot in zip(targets, _ids(app, targets), strict=True):
        try:
            meta = set_meta(
                app.engine,
                spot,
                valid_from=value(valid_from),
                valid_until=value(valid_until),
                note=UNSET if note is None else note,
            )
        except CatalogError as exc:
            raise LoaError(f"{target}: {exc}") from None
        click.echo(
            f"{spot}: phát từ {meta.valid_from or '…'} đến {meta.valid_until or '…'} "
            f"(valid from..until): {target}"
        )
