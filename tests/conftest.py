"""Shared pytest fixtures. Keep fixtures in their own modules and import them here."""

from tests.audio_fixture import virtual_audio

__all__ = ["virtual_audio"]
