"""Shared pytest fixtures. Keep fixtures in their own modules and import them here."""

from tests.audio_fixture import virtual_audio
from tests.pg_fixture import pg_admin_url, pg_cluster, pg_server
from tests.stream_fixture import stream_server

__all__ = ["pg_admin_url", "pg_cluster", "pg_server", "stream_server", "virtual_audio"]
