"""A hostile or careless user of the central side (`loa central ...`): a mistake is a message
naming what is wrong and what to do, never a traceback, a password or a district's report
broken by one station."""

from __future__ import annotations

import gzip
import json
import subprocess
import sys
import time
import zlib
from pathlib import Path

import pytest

from airtime.log import chain_in_order
from airtime.store import T
from loa.db import open_database
from tests.audio_media import tone
from tests.central_support import (
    Relay,
    central,
    connect_as,
    loa,
    scalar,
    station_config,
    via,
    write_rows,
)

pytestmark = pytest.mark.postgres


def _with_password(url: str, password: str) -> str:
    head, _, rest = url.rpartition("@")
    user = head.split("://", 1)[1].split(":", 1)[0]
    return f"postgresql+psycopg://{user}:{password}@{rest}"


@pytest.mark.parametrize("password", ["p@ss@w0rd-Bi-mat", "Sek%ZZr1t-Bi-mat"])
def test_a_password_libpq_cannot_read_is_never_printed(pg_admin_url: str, password: str) -> None:
    """libpq quoted the part after a password's "@" as the host ('ss@w0rd@127.0.0.1') and a
    bad %-escape whole ('invalid percent-encoded token: "Sek%ZZr1t"'): the message now hides
    every piece of it and says how to write such a password."""
    code, out, err = loa("central", "--url", _with_password(pg_admin_url, password), "status")
    assert code == 1
    for piece in (password, password.split("@", 1)[-1], "w0rd-Bi-mat", "ZZr1t"):
        assert piece not in out + err
    assert "cannot connect to the central database" in err
    assert "must be percent-encoded in the URL: @ = %40" in err
    assert "Traceback" not in err


def _bomb(path: Path, station: str, *, manifest_too: bool = False) -> Path:
    """A 256 KiB gzip file that inflates to 256 MiB without a newline (after the manifest)."""
    manifest = {
        "loa_bundle": 1, "station": station, "period": "2021-01", "rows": 1, "sha256": "0" * 64,
        "first": {"chain_seq": 1, "prev_hash": ""}, "last": {"chain_seq": 1, "hash": ""},
    }  # fmt: skip
    with path.open("wb") as f:
        if not manifest_too:
            f.write(gzip.compress((json.dumps(manifest) + "\n").encode()))
        pack = zlib.compressobj(9, zlib.DEFLATED, 31)
        chunk = (b" " if manifest_too else b"a") * (1 << 20)
        for _ in range(256):
            f.write(pack.compress(chunk))
        f.write(pack.flush())
    return path


def _import_measured(url: str, bundle: Path) -> tuple[int, str, int]:
    """`python -m loa central import` as a real process: exit code, stderr, peak RSS in KiB."""
    script = (
        "import resource, subprocess, sys\n"
        "p = subprocess.run([sys.executable, '-m', 'loa', 'central', '--url', sys.argv[1], "
        "'import', sys.argv[2]], capture_output=True, text=True)\n"
        "print(p.returncode, resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)\n"
        "sys.stderr.write(p.stderr)\n"
    )
    done = subprocess.run([sys.executable, "-c", script, url, str(bundle)],
                          capture_output=True, text=True, timeout=300)  # fmt: skip
    code, rss = done.stdout.split()
    return int(code), done.stderr, int(rss)


@pytest.mark.parametrize("manifest_too", [False, True], ids=["row", "manifest"])
def test_a_gzip_bomb_is_refused_without_inflating_it(
    tmp_path: Path, pg_admin_url: str, manifest_too: bool
) -> None:
    """A bundle's lines were read whole: 2 MB on a USB stick that inflate to 2 GB of one line
    held 4.3 GB of memory for 30 s before the refusal (a district PC swaps or is killed). A
    line is now read at most 1 MiB far (the manifest 64 KiB), and no row past the manifest's
    count."""
    urls = central(pg_admin_url, ("xa-a", "h-thu"))
    bundle = _bomb(tmp_path / "bom.loa.gz", "xa-a", manifest_too=manifest_too)
    assert bundle.stat().st_size < 1 << 20
    code, err, rss_kib = _import_measured(urls["xa-a"], bundle)
    assert code == 1
    if manifest_too:
        assert "its first line (the manifest) is longer than 64 KiB" in err
    else:
        assert "line 2 is longer than 1 MiB: not a row of a loa bundle" in err
    assert rss_kib < 200 * 1024, f"peak memory {rss_kib // 1024} MiB"
    assert "Traceback" not in err
    assert scalar(pg_admin_url, "select count(*) from central.airtime") == 0


def test_rows_past_the_manifests_count_are_not_read(tmp_path: Path, pg_admin_url: str) -> None:
    urls = central(pg_admin_url, ("xa-a", "h-thu"))
    cfg = station_config(tmp_path, "xa-a", write_rows(tmp_path / "a.db", "xa-a", 60), None)
    bundle = tmp_path / "xa-a.loa.gz"
    assert loa("--config", str(cfg), "airtime", "export", "--period", "2021-01",
               "--output", str(bundle))[0] == 0  # fmt: skip
    with gzip.open(bundle, "rb") as f:
        manifest, *rows = f.read().splitlines(keepends=True)
    told = json.loads(manifest)
    told["rows"] = 10
    bundle.write_bytes(gzip.compress(json.dumps(told).encode() + b"\n" + b"".join(rows)))
    code, _out, err = loa("central", "--url", urls["xa-a"], "import", str(bundle))
    assert code == 1
    assert f"{bundle}: more rows than the manifest's 10: altered or damaged" in err
    told["rows"] = "zehn"
    bundle.write_bytes(gzip.compress(json.dumps(told).encode() + b"\n" + b"".join(rows)))
    code, _out, err = loa("central", "--url", urls["xa-a"], "import", str(bundle))
    assert code == 1
    assert "the manifest's row count 'zehn' is not a number: altered" in err
    assert "Traceback" not in err and "internal error" not in err
    assert scalar(pg_admin_url, "select count(*) from central.airtime") == 0


def _districts(admin: str, *codes: str) -> dict[str, str]:
    urls = {}
    for code in codes:
        done, out, err = loa("central", "--url", admin, "add-district", code, "--name", code)
        assert done == 0, err
        urls[code] = out.strip()
    return urls


@pytest.mark.parametrize(
    "weight", ['"abc"', "1e999", "-3", "[2]", '{"x": 1}', "null", "true", '"2"'], ids=str
)
def test_a_stations_odd_schedule_does_not_break_the_districts_report(
    tmp_path: Path, pg_admin_url: str, weight: str
) -> None:
    """A station's role may call central.report_in with any JSON: a weight "abc" made every
    report of its district and of the province an internal error (float('abc')), so one
    hostile or broken station silenced the report of all (a dict: a TypeError; 1e999: an
    infinite weight). Its topics now count with weight 1."""
    urls = central(pg_admin_url, ("xa-a", "h-thu"), ("xa-b", "h-thu"))
    district = _districts(pg_admin_url, "h-thu")["h-thu"]
    cfg = station_config(tmp_path, "xa-b", write_rows(tmp_path / "b.db", "xa-b", 60), urls["xa-b"])
    assert loa("--config", str(cfg), "airtime", "push")[0] == 0
    topic = '{"id": "chi-so", "name": "Chỉ số", "weight": ' + weight + "}"
    schedule = '{"topics": [' + topic + ', {"id": "dich-vu-cong", "weight": 2}]}'
    with connect_as(urls["xa-a"]) as pg:
        pg.execute("SELECT central.report_in(%s::jsonb, %s)", (schedule, "hostile"))
    for url in (district, pg_admin_url):
        code, out, err = loa("central", "--url", url, "report", "--period", "2021-01",
                             "--district", "h-thu", "--format", "json")  # fmt: skip
        assert code == 0, err
        report = json.loads(out)
        stations = {s["id"]: s for s in report["districts"][0]["stations"]}
        assert stations["xa-a"]["topics_total"] == 2
        assert stations["xa-b"]["plays"] == report["districts"][0]["totals"]["plays"] > 0
        code, out, err = loa("central", "--url", url, "report", "--period", "2021")
        assert code == 0, err
        code, out, err = loa("central", "--url", url, "status")
        assert code == 0, err


def _exported(tmp_path: Path, station: str, rows: int = 60, **title: str) -> Path:
    """A bundle of January 2021 exported by the station's own `loa airtime export`; `title`
    (at=TEXT) gives the row `at` that title."""
    db = tmp_path / f"{station}.db"
    url = write_rows(db, station, rows)
    if title:
        engine = open_database(url)
        with engine.begin() as conn:
            all_rows = [dict(r._mapping) for r in conn.execute(T.select().order_by(T.c.seq))]
            conn.execute(T.delete())
            for r in all_rows:
                r["title"] = title.get(f"at{r['chain_seq']}", r["title"])
                r.pop("seq", None)
            chain_in_order(conn, station, all_rows)
            conn.execute(T.insert(), all_rows)
        engine.dispose()
    cfg = station_config(tmp_path / station, station, url, None)
    bundle = tmp_path / f"{station}.loa.gz"
    code, _out, err = loa("--config", str(cfg), "airtime", "export", "--period", "2021-01",
                          "--output", str(bundle))  # fmt: skip
    assert code == 0, err
    return bundle


def test_a_districts_role_importing_is_told_to_use_the_admin_or_station_url(
    tmp_path: Path, pg_admin_url: str
) -> None:
    """The district's read-only role was told by the refusal of another station's bundle to
    import "with the URL of its district", and importing its own station's bundle with it was
    an internal error (InsufficientPrivilege: permission denied for table airtime)."""
    urls = central(pg_admin_url, ("xa-a", "h-thu"))
    district = _districts(pg_admin_url, "h-thu")["h-thu"]
    bundle = _exported(tmp_path, "xa-a")
    code, _out, err = loa("central", "--url", district, "import", str(bundle))
    assert code == 1
    assert err.startswith(
        f"TỪ CHỐI (refused): {bundle}: this role may not write xa-a's rows (permission denied "
        "for table airtime; a district's role only reads): import with the admin URL (the "
        "database's owner) or the station's own URL; nothing written\n"
    )
    assert "internal error" not in err and "Traceback" not in err
    assert scalar(pg_admin_url, "select count(*) from central.airtime") == 0
    code, out, err = loa("central", "--url", pg_admin_url, "import", str(bundle))
    assert code == 0, err
    assert "60 bản ghi, mới (new) 60" in out
    del urls


def test_a_nul_byte_in_a_title_refuses_the_bundle_before_anything_is_written(
    tmp_path: Path, pg_admin_url: str
) -> None:
    """PostgreSQL's text cannot hold NUL: a bundle whose row 40 had one in its title was an
    internal error (DataError) after the first batches had gone in. Now the check that reads
    the whole file first names the line, the row and the field."""
    urls = central(pg_admin_url, ("xa-a", "h-thu"))
    bundle = _exported(tmp_path, "xa-a", at40="Tin\x00lỗi")
    for url in (urls["xa-a"], pg_admin_url):
        code, _out, err = loa("central", "--url", url, "import", str(bundle))
        assert code == 1
        assert f"TỪ CHỐI (refused): {bundle}: line 41 (id " in err
        assert "chain position 40): its title holds a NUL byte" in err
        assert "internal error" not in err and "Traceback" not in err
        assert scalar(pg_admin_url, "select count(*) from central.airtime") == 0


def test_the_network_cut_in_the_middle_of_an_import_leaves_whole_batches_then_resumes(
    tmp_path: Path, pg_admin_url: str
) -> None:
    """The server gone in the middle of `loa central import` (network cut, PostgreSQL stopped)
    was an internal error (OperationalError) that said neither what went in nor what to do.
    Now: exit 1, the rows that went in (whole batches, their roll-ups with them), and "run the
    same import again"; the second run loads the rest, nothing doubled."""
    port = int(pg_admin_url.rsplit(":", 1)[1].split("/")[0])
    relay = Relay(port)
    central(pg_admin_url, ("xa-a", "h-thu"))
    rows = 40_000
    db = tmp_path / "a.db"
    cfg = station_config(tmp_path / "a", "xa-a", write_rows(db, "xa-a", rows), None)
    bundle = tmp_path / "xa-a.loa.gz"
    assert loa("--config", str(cfg), "airtime", "export", "--period", "2021-01-01..2025-12-31",
               "--output", str(bundle))[0] == 0  # fmt: skip
    through = via(pg_admin_url, relay.port)
    proc = subprocess.Popen([sys.executable, "-m", "loa", "central", "--url", through, "import",
                             str(bundle)], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True)  # fmt: skip
    count = "select count(*) from central.airtime"
    deadline = time.monotonic() + 120
    while scalar(pg_admin_url, count) == 0 and proc.poll() is None:
        assert time.monotonic() < deadline
        time.sleep(0.02)
    relay.down()
    _out, err = proc.communicate(timeout=60)
    relay.close()
    went = scalar(pg_admin_url, count)
    assert proc.returncode == 1, err
    assert 0 < went < rows, "cut too late: the import was over"  # type: ignore[operator]
    assert "internal error" not in err and "Traceback" not in err
    assert f"DỪNG GIỮA CHỪNG (stopped part way): {bundle}: the import stopped (" in err
    assert f"): {went} rows of xa-a went in, each batch whole; import the same file again" in err
    assert "run the same import again to load the rest" in err
    assert scalar(pg_admin_url, "select sum(plays) from central.rollup_day") == went
    code, out, err = loa("central", "--url", pg_admin_url, "import", str(bundle))
    assert code == 0, err
    assert f"{rows} bản ghi, mới (new) {rows - went}, đã có (already there) {went}" in out
    assert scalar(pg_admin_url, count) == rows
    assert scalar(pg_admin_url, "select sum(plays) from central.rollup_day") == rows
    assert loa("central", "--url", pg_admin_url, "verify")[0] == 0


@pytest.mark.parametrize(
    "title, expected",
    [
        ("Tin " * 150, "the title has 599 characters, at most 500): write a shorter one"),
        ("Tin bão\nsố 9", "the title holds a control character or a line break"),
        ("Tin\x01bão", "the title holds a control character or a line break"),
    ],
    ids=["600 characters", "a line break", "a control character"],
)
def test_a_bulletin_title_the_database_or_the_stations_would_refuse_is_a_usage_error(
    tmp_path: Path, pg_admin_url: str, title: str, expected: str
) -> None:
    """A 600-character title reached the database and came back as "violates check constraint
    bulletin_title_check" (no limit, nothing to do); a line break or a control character was
    sent to every station and broke their one-a-line lists."""
    central(pg_admin_url, ("xa-a", "h-thu"))
    district = _districts(pg_admin_url, "h-thu")["h-thu"]
    audio = tone(tmp_path / "tin.wav", 440.0, 2.0, amp=0.3)
    code, _out, err = loa("central", "--url", district, "send", str(audio), "--title", title,
                          "--priority", "khan-cap")  # fmt: skip
    assert code == 2, err
    assert "Invalid value for --title" in err and expected in err
    assert "check constraint" not in err
    assert scalar(pg_admin_url, "select count(*) from central.bulletin") == 0
    code, _out, err = loa("central", "--url", district, "send", str(audio), "--title",
                          "Tin " * 125, "--priority", "khan-cap")  # fmt: skip
    assert code == 0, err  # 500 characters (stripped: 499) go


@pytest.mark.parametrize("fmt", ["docx", "text", "csv"])
def test_the_districts_report_never_overwrites_a_bundle_or_the_config(
    tmp_path: Path, pg_admin_url: str, fmt: str
) -> None:
    """`loa central report --output` wrote over whatever it named: a bundle waiting to be
    imported became a Word document, the config.toml holding [central] url a csv. Both are
    now refused (exit 2, named), kept byte for byte; an earlier report of the same kind is
    still replaced."""
    central(pg_admin_url, ("xa-a", "h-thu"))
    bundle = _exported(tmp_path, "xa-a")
    cfg = tmp_path / "config.toml"
    cfg.write_text(f'[central]\nurl = "{pg_admin_url}"\n', encoding="utf-8")
    kept = {p: p.read_bytes() for p in (bundle, cfg)}
    for target in kept:
        code, _out, err = loa("--config", str(cfg), "central", "report", "--period", "2021-01",
                              "--format", fmt, "--output", str(target))  # fmt: skip
        assert code == 2, err
        assert f"{target} là " in err and "choose another file name" in err
    assert {p: p.read_bytes() for p in kept} == kept
    earlier = tmp_path / f"bao-cao.{fmt}"
    for _ in range(2):
        code, _out, err = loa("--config", str(cfg), "central", "report", "--period", "2021-01",
                              "--format", fmt, "--output", str(earlier))  # fmt: skip
        assert code == 0, err


@pytest.mark.parametrize(
    "args, expected",
    [
        (["add-station", "Xa A", "--name", "A", "--district", "h-thu"], "'Xa A' không phải mã"),
        (["add-station", "xa\x01", "--name", "A", "--district", "h-thu"], "'xa\\x01' không"),
        (["add-station", "xa-a", "--name", "A", "--district", "H Thu"], "'H Thu' không phải"),
        (["add-district", "h thu", "--name", "H"], "'h thu' không phải mã hợp lệ (is not an id)"),
        (
            [
                "add-station",
                "xa-a",
                "--name",
                "A",
                "--district",
                "h-thu",
                "--timezone",
                "Mars/Base",
            ],
            '"Mars/Base" is not an IANA time zone',
        ),
        (
            [
                "add-station",
                "xa-a",
                "--name",
                "A",
                "--district",
                "h-thu",
                "--timezone",
                "Asia/Ho_Chi_Mihn",
            ],
            'did you mean "Asia/Ho_Chi_Minh"?',
        ),
    ],
    ids=["space", "control", "district", "district code", "zone", "typo"],
)
def test_a_station_or_district_that_could_never_report_is_not_registered(
    pg_admin_url: str, args: list[str], expected: str
) -> None:
    """add-station took any id and any time zone: "Xa A" or "xa\\x01" can never be a
    station's [station] id (so it never pushes, and the report showed "xa"), and with
    --timezone Mars/Base PostgreSQL refused every row the station sent (the roll-up trigger:
    'time zone "Mars/Base" not recognized')."""
    central(pg_admin_url)
    code, out, err = loa("central", "--url", pg_admin_url, *args)
    assert code == 2, err
    assert expected in err
    assert out == ""  # no login URL issued
    assert scalar(pg_admin_url, "select count(*) from central.station") == 0
    assert scalar(pg_admin_url, "select count(*) from central.role_map") == 0


@pytest.mark.parametrize("who", ["district", "station"])
def test_registering_with_a_districts_or_stations_url_says_to_use_the_admins(
    pg_admin_url: str, who: str
) -> None:
    """`loa central add-station` / `add-district` with the district's (or a station's) URL
    was an internal error: 'InsufficientPrivilege: permission denied for table district'."""
    urls = central(pg_admin_url, ("xa-a", "h-thu"))
    url = _districts(pg_admin_url, "h-thu")["h-thu"] if who == "district" else urls["xa-a"]
    for args, what in (
        (["add-station", "xa-z", "--name", "Z", "--district", "h-thu"], "register stations"),
        (["add-district", "h-moi", "--name", "Huyện Mới"], "register districts"),
    ):
        code, out, err = loa("central", "--url", url, *args)
        assert code == 1
        assert f"this role may not {what} (permission denied for table district): use the " in err
        assert "admin URL (the database's owner, with CREATEROLE)" in err
        assert "internal error" not in err and out == ""
        password = url.rpartition("@")[0].rpartition(":")[2]
        assert password not in err
    assert scalar(pg_admin_url, "select count(*) from central.station") == 1
