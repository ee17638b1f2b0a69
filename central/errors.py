"""Errors of the central side, each with a message for the district's IT officer.

`exit_code` follows loa's codes (loa/errors.py): 1 failed, 4 database newer than this loa.
The `loa` command turns them into its own errors; `central` never imports `loa`.
"""

from __future__ import annotations


class CentralError(Exception):
    exit_code = 1


class SchemaTooNew(CentralError):
    exit_code = 4


class ForkError(CentralError):
    """The rows offered do not extend the station's chain as the central database holds it."""


class HeadMoved(CentralError):
    """Someone else extended the station's chain between reading the head and writing."""


class ImportStopped(CentralError):
    """An import cut off part way (the server stopped, the network went): the batches before
    stand, each whole; the same file again loads the rest."""
