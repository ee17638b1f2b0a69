"""A hostile or careless user of the central side (`loa central ...`): a mistake is a message
naming what is wrong and what to do, never a traceback, a password or a district's report
broken by one station."""

from __future__ import annotations

import pytest

from tests.central_support import loa

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
