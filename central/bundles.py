"""`loa central import`: bundles carried on a USB stick, checked whole, then written like a push.

A bundle is refused whole, with the reason, when it cannot be read to its end (truncated),
when its rows do not match its manifest (count, first and last link, SHA-256: tampered), when
its rows do not link one to the next, when it does not meet the central chain (a gap: an
earlier bundle is missing) or when it overlaps the central chain with other content (a fork).
Only then is anything written: the rows after the central head, read again and written as a
push writes them (`central.ingest.write_checked`: each link checked again, each batch in its
own transaction). The same bundle twice changes nothing the second time.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import psycopg

from airtime.bundle import BundleError, open_bundle, read_manifest, read_rows
from airtime.chain import FIELDS, ChainRow
from airtime.push import BATCH
from central import ingest
from central.conn import connect
from central.errors import CentralError, ImportStopped
from central.ingest import Head
from central.schema import check_version


@dataclass(frozen=True)
class Imported:
    path: Path
    station: str
    rows: int  # rows in the bundle
    new: int  # rows written now
    already: int  # rows the central database had


def _check(path: Path, pg: psycopg.Connection, manifest: dict, start: Head) -> None:
    """Pass 1: the whole file against its manifest, its own links and the central chain."""
    name, station = str(path), str(manifest["station"])
    first = int(manifest["first"]["chain_seq"])
    at = Head(first - 1, str(manifest["first"]["prev_hash"]))
    if start.chain_seq < at.chain_seq:
        raise BundleError(
            f"{name}: starts at chain position {first} but the central database holds "
            f"{station} only up to {start.chain_seq}: import the bundle before it first"
        )
    digest, count, expected = hashlib.sha256(), 0, _count(name, manifest)
    broken: list[str] = []  # the first row that does not link (reading goes on for the digest)
    with open_bundle(path) as stream:
        read_manifest(stream, name)
        page: list[ChainRow] = []
        for row in read_rows(stream, name, digest):
            if row.values[1] != station:
                raise BundleError(f"{name}: line {count + 2}: a row of station {row.values[1]!r}")
            if any(isinstance(v, str) and "\x00" in v for v in row.values):
                raise BundleError(_nul(name, count + 2, row))
            page.append(row)
            count += 1
            if count > expected:  # read no further: a file inflating without end is not read
                raise BundleError(
                    f"{name}: more rows than the manifest's {expected}: altered or damaged"
                )
            if len(page) >= BATCH:
                at = _check_page(name, pg, station, at, page, start, broken)
                page = []
        at = _check_page(name, pg, station, at, page, start, broken)
    first_bad = f"; the first row that does not link: {broken[0]}" if broken else ""
    if count != expected:
        raise BundleError(
            f"{name}: {count} rows where the manifest says {manifest['rows']}{first_bad}"
        )
    if digest.hexdigest() != manifest["sha256"]:
        raise BundleError(
            f"{name}: the rows' SHA-256 does not match the manifest: altered{first_bad}"
        )
    if broken:
        raise BundleError(f"{name}: the rows do not link: {broken[0]}")
    last = manifest["last"]
    if at != Head(int(last["chain_seq"]), str(last["hash"])):
        raise BundleError(f"{name}: the last row is not the manifest's last link: altered")


def _nul(name: str, line: int, row: ChainRow) -> str:
    field = next(f for f, v in zip(FIELDS, row.values, strict=True) if "\x00" in str(v or ""))
    return (
        f"{name}: line {line} (id {row.id}, chain position {row.chain_seq}): its {field} holds "
        "a NUL byte (\\x00), which PostgreSQL cannot store in text; nothing of this bundle "
        "is written (see RELIABILITY.md, Known limits)"
    )


def _count(name: str, manifest: dict) -> int:
    try:
        return int(manifest["rows"])
    except (TypeError, ValueError):
        raise BundleError(
            f"{name}: the manifest's row count {manifest['rows']!r} is not a number: altered"
        ) from None


def _check_page(
    name: str,
    pg: psycopg.Connection,
    station: str,
    at: Head,
    page: list[ChainRow],
    start: Head,
    broken: list[str],
) -> Head:
    if not page or broken:
        return at
    overlap = [r for r in page if (r.chain_seq or 0) <= start.chain_seq]
    found = ingest.check_links(at, overlap)
    if found is not None:
        broken.append(found.describe())
        return at
    if overlap:
        theirs = dict(ingest.hashes(pg, station, int(overlap[0].chain_seq or 0), len(overlap)))
        for r in overlap:
            if theirs.get(int(r.chain_seq or 0)) != r.hash:
                raise BundleError(
                    f"{name}: chain position {r.chain_seq} (id {r.id}) differs from the central "
                    f"copy of {station}: another history of this station's log (a fork)"
                )
    if overlap:
        last = overlap[-1]
        at = Head(int(last.chain_seq or 0), str(last.hash))
    fresh = page[len(overlap) :]
    if fresh and at.chain_seq == start.chain_seq and at != start:
        r = fresh[0]
        raise BundleError(
            f"{name}: chain position {r.chain_seq} (id {r.id}) does not link to the last row "
            f"the central database holds of {station}: another history of this station's log "
            "(a fork)"
        )
    found = ingest.check_links(at, fresh)
    if found is not None:
        broken.append(found.describe())
        return at
    last = page[-1]
    return Head(int(last.chain_seq or 0), str(last.hash))


def _fresh(path: Path, start: Head) -> Iterator[list[ChainRow]]:
    """The bundle's rows after the central head, in pages of BATCH."""
    with open_bundle(path) as stream:
        read_manifest(stream, str(path))
        page: list[ChainRow] = []
        for row in read_rows(stream, str(path), hashlib.sha256()):
            if (row.chain_seq or 0) <= start.chain_seq:
                continue
            page.append(row)
            if len(page) >= BATCH:
                yield page
                page = []
        if page:
            yield page


def import_bundle(url: str, path: Path) -> Imported:
    """Check `path` whole, then write what the central database lacks."""
    with open_bundle(path) as stream:
        manifest = read_manifest(stream, str(path))
    station = str(manifest["station"])
    with connect(url, autocommit=True) as pg:
        check_version(pg, url)
        known = pg.execute("SELECT 1 FROM central.station WHERE id = %s", (station,)).fetchone()
        if not known:
            raise CentralError(  # or row-level security hides it from this role
                f"{path}: station {station!r} is not registered here, or this role may not see "
                f"it: `loa central add-station {station} --name ... --district ...` first, or "
                "import with the admin URL (the database's owner) or the station's own URL (a "
                "station's role imports only its own bundles; a district's only reads)"
            )
        start = ingest.head(pg, station)
        _check(path, pg, manifest, start)
        progress = [start]
        try:
            at, broken = ingest.write_checked(
                pg, station, start, _fresh(path, start), written=progress
            )
        except psycopg.errors.InsufficientPrivilege as exc:
            raise CentralError(
                f"{path}: this role may not write {station}'s rows "
                f"({exc.diag.message_primary}; a district's role only reads): import with the "
                "admin URL (the database's owner) or the station's own URL; nothing written"
            ) from None
        except psycopg.Error as exc:  # the server stopped, the network went: batches stand
            went = progress[-1].chain_seq - start.chain_seq
            reason = (str(exc).strip().splitlines() or [type(exc).__name__])[0]
            raise ImportStopped(
                f"{path}: the import stopped ({reason}): {went} rows of {station} went in, each "
                "batch whole; import the same file again to load the rest"
            ) from None
        if broken is not None:  # the file changed since it was checked
            raise BundleError(f"{path}: changed while importing: {broken.describe()}")
        new = at.chain_seq - start.chain_seq
    rows = int(manifest["rows"])
    return Imported(path, station, rows, new, rows - new)
