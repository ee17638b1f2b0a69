"""`loa central import` of another station's bundle with a station's role: row-level security
hides that station from the role, and the refusal says so and what to do (it said only "not
registered here", which sends the operator to register a station that is registered)."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.central_support import central, loa, scalar, station_config, write_rows

pytestmark = pytest.mark.postgres


def test_a_station_role_importing_another_stations_bundle_is_told_why(
    tmp_path: Path, pg_admin_url: str
) -> None:
    urls = central(pg_admin_url, ("xa-a", "h-thu"), ("xa-b", "h-thu"))
    cfg = station_config(tmp_path, "xa-a", write_rows(tmp_path / "a.db", "xa-a", 60), None)
    bundle = tmp_path / "xa-a.loa.gz"
    code, _out, err = loa("--config", str(cfg), "airtime", "export", "--period", "2021-01",
                          "--output", str(bundle))  # fmt: skip
    assert code == 0, err
    code, _out, err = loa("central", "--url", urls["xa-b"], "import", str(bundle))
    assert code == 1
    assert err.startswith(
        f"TỪ CHỐI (refused): {bundle}: station 'xa-a' is not registered here, or this role "
        "may not see it: `loa central add-station xa-a --name ... --district ...` first, or "
        "import with the admin URL (the database's owner) or the station's own URL (a "
        "station's role imports only its own bundles; a district's only reads)\n"
    )
    assert "Traceback" not in err
    assert scalar(pg_admin_url, "select count(*) from central.airtime") == 0
    code, out, err = loa("central", "--url", urls["xa-a"], "import", str(bundle))
    assert code == 0, err  # its own role may import it
    assert "60 bản ghi, mới (new) 60" in out
