"""`loa source test ID`: a relay source (tiếp sóng) connected, heard and measured."""

from __future__ import annotations

import difflib

import click

from loa.app import App
from scheduler.spec import RelaySpec, shown_url


@click.group("source", help="Nguồn tiếp sóng: kiểm tra (relay sources: test).")
def source() -> None:
    pass


@source.command("test")
@click.argument("source_id")
@click.option(
    "--seconds", type=click.FloatRange(1, 600), default=10.0, show_default=True,
    help="Phát thử bấy nhiêu giây (play this long).",
)  # fmt: skip
@click.pass_obj
def test_command(app: App, source_id: str, seconds: float) -> None:
    """Kết nối, phát thử 10 giây ra loa, báo mã hóa, bitrate, độ lớn (connect, play, measure)."""
    from loa.commands.station import open_output
    from scheduler.source_check import check_source

    config = app.config
    found = next((s for s in config.sources if s.id == source_id), None)
    if found is None:
        ids = [s.id for s in config.sources]
        close = difflib.get_close_matches(source_id, ids, n=1, cutoff=0.6)
        hint = f'did you mean "{close[0]}"?' if close else (
            f"the sources are: {', '.join(ids)}" if ids else "add one under [[sources]]"
        )  # fmt: skip
        raise click.ClickException(f'sources: no source "{source_id}"; {hint}')
    relay = RelaySpec(found.id, found.name, found.url, "silence", 10.0)
    click.echo(f"Kết nối {found.name} ({shown_url(found.url)}), phát thử {seconds:g} giây...")
    output = open_output(app)
    try:
        result = check_source(
            output, relay, seconds=seconds, target_lufs=config.library.target_loudness
        )
    finally:
        output.close()
    if not result.connected:
        raise click.ClickException(
            f"sources: {found.id}: không kết nối được (cannot connect to the stream): "
            f"{result.error}; check sources.url and the network"
        )
    loud = "?" if result.loudness_lufs is None else f"{result.loudness_lufs:.1f} LUFS"
    click.echo(f"  mã hóa (codec): {result.codec or '?'}")
    click.echo(f"  bitrate: {result.bitrate_kbps or '?'} kb/s")
    click.echo(
        f"  độ lớn (loudness, running measure): {loud}; chỉnh {result.gain_db:+.1f} dB "
        f"về {config.library.target_loudness:g} LUFS (gain to the station's target)"
    )
    click.echo(f"  đã phát (played): {result.played_s:.2f} s; mất tín hiệu (drops): {result.drops}")
