"""What each command imports: `loa status` stays light, `loa run` carries no report writer.

Each command runs in a fresh interpreter that writes its `sys.modules` at exit; the assertions
are about which libraries were loaded, not how long that took (that is bench work).
"""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

# runs `loa ARGS...` and, at exit, writes the top-level names and loa's own modules to OUT
WRAPPER = """
import atexit, json, sys
out = sys.argv.pop(1)
def dump():
    with open(out, "w") as f:
        json.dump(sorted(sys.modules), f)
atexit.register(dump)
from loa.cli import main
sys.argv[0] = "loa"
main()
"""

# the report writers, the central database client, the sound library and the array library
NOT_FOR_STATUS = {"docx", "openpyxl", "lxml", "psycopg", "sounddevice", "numpy"}
# modules of `loa run` only: the daemon, its scheduler, the device, the decoder
RUN_ONLY = {
    "scheduler.daemon",
    "apscheduler.schedulers",
    "scheduler.output.device",
    "scheduler.output.decoder",
}
# the report writers, the central client, and the database stack (issue 17: SQLAlchemy and
# SQLModel were ~17 MB of the daemon; migrations, rescans and pushes run in child processes)
NOT_FOR_RUN = {"docx", "openpyxl", "lxml", "psycopg", "sqlalchemy", "sqlmodel", "loa.db"}
# the playout path moves ffmpeg's bytes as memoryviews: numpy (~15 MB of RSS) stays out of it
NOT_FOR_PLAYOUT = {"numpy"}
# with a daemon running, `loa status` asks it for the whole status: no database or config stack
NOT_FOR_STATUS_WITH_DAEMON = NOT_FOR_STATUS | {
    "sqlalchemy",
    "sqlmodel",
    "pydantic",
    "apscheduler",
    "mutagen",
    "loa.config",
    "loa.db",
    "loa.compose",
    "loa.status_report",
    "scheduler.airlog",
}


def station(tmp_path: Path) -> Path:
    (tmp_path / "lib" / "tin").mkdir(parents=True)
    config = tmp_path / "config.toml"
    config.write_text(
        """
[station]
id = "xa-thu"
name = "Đài xã Thử"
timezone = "Asia/Ho_Chi_Minh"
[library]
root = "lib"
[output]
backend = "null"
[daemon]
socket = "data/loa.sock"
heartbeat = "1s"
[[topics]]
id = "tin"
name = "Tin tức"
[[slots]]
name = "sang"
start = "06:00"
length = "15m"
""",
        "utf-8",
    )
    return config


def loa(config: Path, out: Path, *args: str) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-c", WRAPPER, str(out), "--config", str(config), *args],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )


def loaded(out: Path) -> set[str]:
    return set(json.loads(out.read_text()))


def tops(modules: set[str]) -> set[str]:
    return modules | {m.split(".")[0] for m in modules}


def test_status_imports_neither_the_daemon_nor_report_writers(tmp_path: Path) -> None:
    config, out = station(tmp_path), tmp_path / "modules.json"
    first = loa(config, tmp_path / "first.json", "status")  # creates the database
    assert first.wait(60) == 0
    assert "sqlalchemy" in loaded(tmp_path / "first.json")  # loa.db made it
    proc = loa(config, out, "status")
    text, _ = proc.communicate(timeout=60)
    assert proc.returncode == 0, text
    assert "xa-thu" in text  # it did answer
    mods = tops(loaded(out))
    assert mods & NOT_FOR_STATUS == set()
    assert {m for m in RUN_ONLY if m in mods} == set()
    # no daemon: the database is read with sqlite3 alone (scheduler/sqlite_read.py)
    assert "scheduler.sqlite_read" in mods
    assert mods & {"sqlalchemy", "sqlmodel", "loa.db", "scheduler.airlog", "mutagen"} == set()


def test_status_of_a_station_holding_bulletins_reads_them_with_sqlite3(tmp_path: Path) -> None:
    from tests.bulletin_rows import put_bulletins

    config = station(tmp_path)
    assert loa(config, tmp_path / "first.json", "status").wait(60) == 0  # creates the database
    (database,) = tmp_path.rglob("*.db")
    put_bulletins(database, [(7, "Tin bão khẩn", "uu-tien"), (8, "Lịch tiêm", "thuong")])
    out = tmp_path / "modules.json"
    proc = loa(config, out, "status")
    text, _ = proc.communicate(timeout=60)
    assert proc.returncode == 0, text
    assert "bản tin (bulletin) 7 [uu-tien] Tin bão khẩn" in text  # heads the next slot
    assert "Bản tin chờ duyệt (bulletin waiting): 8 Lịch tiêm" in text
    mods = tops(loaded(out))
    assert "scheduler.sqlite_read" in mods
    assert mods & {"sqlalchemy", "sqlmodel", "loa.db", "scheduler.bulletin_table"} == set()


def test_status_with_a_jingle_probes_it_without_the_database_stack(tmp_path: Path) -> None:
    from tests.audio_media import tone

    config, out = station(tmp_path), tmp_path / "modules.json"
    tone(tmp_path / "intro.wav", 440, 1.0)
    config.write_text(config.read_text("utf-8") + 'intro = "intro.wav"\n', "utf-8")
    first = loa(config, tmp_path / "first.json", "status")  # creates the database
    assert first.wait(60) == 0
    proc = loa(config, out, "status")
    text, _ = proc.communicate(timeout=60)
    assert proc.returncode == 0, text
    mods = tops(loaded(out))
    assert "audio_library.probe" in mods  # the intro was measured for the preview
    assert mods & {"sqlalchemy", "sqlmodel", "loa.db", "audio_library.catalog"} == set()


def start_daemon(config: Path, out: Path) -> subprocess.Popen[str]:
    proc = loa(config, out, "run")
    sock = config.parent / "data" / "loa.sock"
    end = time.monotonic() + 60
    while not sock.exists() and proc.poll() is None and time.monotonic() < end:
        time.sleep(0.1)
    assert sock.exists(), proc.communicate(timeout=10)[0] if proc.poll() is not None else ""
    time.sleep(1.5)  # a heartbeat and the first library scan
    return proc


def status_json(config: Path, out: Path) -> dict:
    proc = loa(config, out, "status", "--json")
    text, _ = proc.communicate(timeout=60)
    assert proc.returncode == 0, text
    return json.loads(text)


def test_status_with_a_daemon_asks_it_and_imports_no_database_stack(tmp_path: Path) -> None:
    config = station(tmp_path)
    daemon = start_daemon(config, tmp_path / "run.json")
    try:
        live = status_json(config, tmp_path / "fast.json")
        proc = loa(config, tmp_path / "text.json", "status")
        text, _ = proc.communicate(timeout=60)
        assert proc.returncode == 0, text
    finally:
        daemon.send_signal(signal.SIGTERM)
        daemon.communicate(timeout=60)
    for dump in ("fast.json", "text.json"):
        mods = tops(loaded(tmp_path / dump))
        assert "scheduler.control" in mods  # it did ask the daemon
        assert mods & NOT_FOR_STATUS_WITH_DAEMON == set(), dump
    assert live["alive"] is True and live["pid"] == daemon.pid
    assert "đang chạy (running), pid " + str(daemon.pid) in text
    # the daemon's answer is the one the command builds from the database itself
    mods_before = tops(loaded(tmp_path / "fast.json"))
    alone = status_json(config, tmp_path / "slow.json")
    assert "scheduler.sqlite_read" in tops(loaded(tmp_path / "slow.json")) - mods_before
    assert "sqlalchemy" not in tops(loaded(tmp_path / "slow.json"))
    assert alone["alive"] is False
    for key in ("station", "next", "problems", "central", "config_error"):
        assert live[key] == alone[key], key


def test_status_reads_the_file_itself_when_it_changed_since_the_daemon_read_it(
    tmp_path: Path,
) -> None:
    config = station(tmp_path)
    daemon = start_daemon(config, tmp_path / "run.json")
    try:
        # a refused edit: the daemon's answer would be about the old config
        config.write_text(config.read_text("utf-8").replace('length = "15m"', 'length = "x"'))
        proc = loa(config, tmp_path / "bad.json", "status")
        text, _ = proc.communicate(timeout=60)
    finally:
        daemon.send_signal(signal.SIGTERM)
        daemon.communicate(timeout=60)
    assert proc.returncode == 3, text  # the config error's exit code, with the problem named
    assert "slots[0].length" in text
    assert "loa.config" in loaded(tmp_path / "bad.json")


def test_run_imports_no_report_writer_nor_central_client(tmp_path: Path) -> None:
    config, out = station(tmp_path), tmp_path / "modules.json"
    proc = start_daemon(config, out)
    proc.send_signal(signal.SIGTERM)
    text, _ = proc.communicate(timeout=60)
    assert proc.returncode == 0, text
    mods = tops(loaded(out))
    assert "scheduler.daemon" in mods  # it was the daemon that ran
    assert mods & NOT_FOR_RUN == set()
    assert mods & NOT_FOR_PLAYOUT == set()


def test_run_airs_rescans_and_pushes_without_the_database_stack(tmp_path: Path) -> None:
    """A whole working day in small: a new database migrated, a slot of two spots aired and
    logged, a spot added and found by the background rescan, a central database that refuses
    the push (a closed port): `loa run` never loads SQLAlchemy or SQLModel."""
    import socket
    import sqlite3
    from datetime import UTC, datetime, timedelta

    from tests.audio_media import tone
    from tests.run_station import write_station

    with socket.socket() as probe:  # a port nobody listens on
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    start = datetime.now(UTC) + timedelta(seconds=6)
    central = f'[output]\nbackend = "null"\n[central]\nurl = "postgresql://loa:pw@127.0.0.1:{port}/loa"\npush_every = "2s"\n'
    config = write_station(tmp_path, [("sang", start, 4.0)], spot_s=1.5, sections=central)
    config.write_text(
        config.read_text("utf-8").replace("[library]", '[library]\nrescan = "1s"'), "utf-8"
    )
    out = tmp_path / "modules.json"
    proc = start_daemon(config, out)
    try:
        tone(tmp_path / "lib" / "b" / "b2.wav", 550.0, 1.5)  # for the rescan to find
        database = tmp_path / "data" / "loa.db"
        end = time.monotonic() + 40
        done: list[tuple[str, str]] = []
        found: list[tuple[str]] = []
        while time.monotonic() < end and (len(done) < 2 or not found):
            time.sleep(0.5)
            with sqlite3.connect(database) as conn:
                done = conn.execute(
                    "SELECT spot, status FROM airtime WHERE status = 'completed'"
                ).fetchall()
                found = conn.execute("SELECT path FROM spot WHERE path = 'b/b2.wav'").fetchall()
                pushes = conn.execute("SELECT failures FROM push_state").fetchall()
    finally:
        proc.send_signal(signal.SIGTERM)
        text, _ = proc.communicate(timeout=60)
    assert proc.returncode == 0, text
    assert len(done) >= 2, text  # the slot aired and was logged
    assert found, text  # the rescan (a child process) catalogued the new file
    assert pushes and pushes[0][0] >= 1, text  # the push (a child process) was tried
    mods = tops(loaded(out))
    assert "scheduler.daemon" in mods and "scheduler.pusher" in mods
    # psycopg: the bulletin fetcher's one LISTEN connection (a khẩn cấp bulletin airs within
    # seconds), the one part of the central client the daemon holds; the push is a child's
    assert "scheduler.bulletin_fetch" in mods
    assert mods & NOT_FOR_RUN == {"psycopg"}


def test_the_device_output_and_its_decoder_do_not_import_numpy() -> None:
    code = (
        "import sys, json\n"
        "import scheduler.output.device, scheduler.output.decoder, scheduler.output.player\n"
        "from scheduler.output import open_output\n"
        "print(json.dumps(sorted(sys.modules)))\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True
    )
    mods = tops(set(json.loads(out.stdout)))
    assert "scheduler.output.device" in mods
    assert mods & NOT_FOR_PLAYOUT == set()
