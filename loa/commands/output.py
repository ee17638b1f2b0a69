"""`loa output list` and `loa output test`: the station's sound devices and a test signal."""

from __future__ import annotations

import json
from pathlib import Path

import click

from loa.app import App
from loa.errors import LoaError
from scheduler.output import BACKENDS, OutputError, list_devices
from scheduler.output.testsignal import TONE_HZ, TONE_S

HINT = "Xem tên thiết bị bằng `loa output list` rồi sửa khóa [output] device trong config.toml."

output = click.Group(
    "output", help="Thiết bị âm thanh của đài: liệt kê, phát thử (sound output: list, test)."
)


@output.command("list")
@click.option("--json", "as_json", is_flag=True, help="In dạng JSON (print JSON).")
def list_command(as_json: bool) -> None:
    """Liệt kê các thiết bị phát âm thanh (list the sound output devices)."""
    try:
        devices = list_devices()
    except OSError as e:
        raise click.ClickException(
            f"Không tải được PortAudio (PortAudio library missing): {e}. "
            "Trên Debian/Ubuntu: apt-get install libportaudio2 libasound2-plugins."
        ) from e
    if as_json:
        click.echo(json.dumps([d.__dict__ for d in devices], ensure_ascii=False, indent=2))
        return
    if not devices:
        click.echo("Không tìm thấy thiết bị phát âm thanh nào (no output device found).")
        return
    click.echo(f"{'':2}{'#':>3}  {'Tên (name)':<32} {'Kênh':>4} {'Tần số':>8}  Hệ (host API)")
    for d in devices:
        mark = "*" if d.is_default else " "
        rate = f"{d.samplerate:.0f}Hz"
        click.echo(f"{mark:2}{d.index:>3}  {d.name:<32} {d.channels:>4} {rate:>8}  {d.hostapi}")
    click.echo("* = mặc định (default). Ghi tên vào [output] device trong config.toml.")


@output.command("test")
@click.option(
    "--device", default=None, help="Tên thiết bị; mặc định [output] device (device name)."
)
@click.option(
    "--backend",
    type=click.Choice(BACKENDS),
    default=None,
    help="Nơi phát; mặc định [output] backend (output backend).",
)
@click.option(
    "--path",
    type=click.Path(dir_okay=False, path_type=Path),
    default=None,
    help="Tệp WAV cho backend file (WAV file for the file backend).",
)
@click.pass_obj
def test_command(app: App, device: str | None, backend: str | None, path: Path | None) -> None:
    """Phát tín hiệu thử: tiếng bíp 1 kHz rồi một câu tiếng Việt (play a test signal)."""
    try:
        configured = app.config.output
    except LoaError:  # no usable config.toml: test the system's default device
        configured = None
    backend = backend or (configured.backend if configured else "device")
    device = device or (configured.device if configured else "default")
    if path is None and backend == "file" and configured is not None:
        path = configured.path
    if backend == "file" and path is None:
        raise click.UsageError("backend file cần --path TỆP.wav (the file backend needs --path).")
    if backend == "file" and configured is not None and path is not None:
        from loa.output_file import refusal  # never over a spot, loa.db, config.toml, the socket

        problem = refusal(app.config, app.config_path, path, "wav", "--path")
        if problem is not None:
            raise click.ClickException(f"Cấu hình đầu ra sai (bad output setting): {problem}")
    where = {"device": f"thiết bị '{device}'", "file": f"tệp {path}", "null": "null"}[backend]
    click.echo(f"Phát thử trên {where}: tiếng bíp {TONE_HZ} Hz trong {TONE_S:.0f} giây...")
    try:
        from scheduler.output.testsignal import play_test_signal  # numpy, the decoder

        result = play_test_signal(backend, device=device, path=path)
    except OutputError as e:
        raise click.ClickException(f"Cấu hình đầu ra sai (bad output setting): {e}") from e
    except OSError as e:
        raise click.ClickException(f"Không phát được (cannot play): {e}. {HINT}") from e
    if not result.signal.speech:
        click.echo(
            f"Chỉ có tiếng bíp, không có câu nói thử ({result.signal.note}); "
            "cài espeak-ng để nghe thêm câu tiếng Việt (apt-get install espeak-ng)."
        )
    names = {"tone": f"tiếng bíp {TONE_HZ} Hz", "speech": "câu nói tiếng Việt"}
    for r in result.results:
        name = names.get(r.key, r.key)
        if r.status == "completed":
            click.echo(f"  ✓ {name}: đã phát {r.played_s:.2f} giây")
        else:
            click.echo(f"  ✗ {name}: {r.status} — {r.error or ''}")
    if not result.ok:
        raise click.ClickException(f"Phát thử không thành công (test failed). {HINT}")
    click.echo("Xong. Nếu loa không kêu, kiểm tra dây nối và bộ khuếch đại (amplifier).")
