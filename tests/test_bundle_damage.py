"""A damaged bundle file (USB stick, e-mail) is refused with a BundleError naming it, never a
traceback: every single flipped byte of a real gzip bundle is tried, and other rows' shapes."""

from __future__ import annotations

import gzip
import hashlib
import json
from pathlib import Path

import pytest

from airtime.bundle import FORMAT, BundleError, open_bundle, read_manifest, read_rows
from airtime.chain import FIELDS


def _bundle_bytes(rows: int = 8) -> bytes:
    lines = [
        json.dumps(
            [n, hashlib.sha256(str(n).encode()).hexdigest(), f"id-{n}", "xa-a"]
            + [f"giá trị {n} {i} " * (n % 5 + 1) for i in range(len(FIELDS) - 2)]
        )
        for n in range(1, rows + 1)
    ]
    body = "".join(line + "\n" for line in lines).encode()
    manifest = {
        "loa_bundle": FORMAT,
        "station": "xa-a",
        "rows": rows,
        "sha256": hashlib.sha256(body).hexdigest(),
        "first": {"chain_seq": 1, "prev_hash": "0" * 64},
        "last": {"chain_seq": rows, "hash": "f" * 64},
    }
    return gzip.compress(json.dumps(manifest).encode() + b"\n" + body)


def _read_whole(path: Path) -> None:
    with open_bundle(path) as stream:
        read_manifest(stream, str(path))
        for _ in read_rows(stream, str(path), hashlib.sha256()):
            pass


def test_every_flipped_byte_of_a_bundle_is_a_bundle_error_or_reads(tmp_path: Path) -> None:
    data = _bundle_bytes()
    path = tmp_path / "goi.loa"
    others: list[str] = []
    for pos in range(len(data)):
        damaged = bytearray(data)
        damaged[pos] ^= 0x10
        path.write_bytes(bytes(damaged))
        try:
            _read_whole(path)
        except BundleError as exc:
            assert str(path) in str(exc)
        except Exception as exc:  # what the test looks for
            others.append(f"byte {pos}: {type(exc).__name__}: {exc}")
    assert others == []


@pytest.mark.parametrize(
    "row",
    [
        [{"a": 1}, "h"] + [None] * len(FIELDS),  # a table where the chain position is
        [[1], "h"] + [None] * len(FIELDS),
        ["x", "h"] + [None] * len(FIELDS),
    ],
)
def test_a_row_of_the_wrong_shape_names_its_line(tmp_path: Path, row: list[object]) -> None:
    manifest = {
        "loa_bundle": FORMAT,
        "station": "xa-a",
        "rows": 1,
        "sha256": "0" * 64,
        "first": {"chain_seq": 1, "prev_hash": "0" * 64},
        "last": {"chain_seq": 1, "hash": "f" * 64},
    }
    path = tmp_path / "goi.loa"
    path.write_bytes(gzip.compress((json.dumps(manifest) + "\n" + json.dumps(row) + "\n").encode()))
    with pytest.raises(BundleError, match=r"goi\.loa: line 2: "):
        _read_whole(path)


def test_a_manifest_of_the_wrong_shape_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "goi.loa"
    bad = {"loa_bundle": FORMAT, "station": "x", "rows": 1, "sha256": "", "first": [], "last": 1}
    path.write_bytes(gzip.compress((json.dumps(bad) + "\n").encode()))
    with pytest.raises(BundleError, match="the manifest lacks"):
        _read_whole(path)
