"""A symlink loop in a topic folder is refused as a wrong link, not as a permission problem
(the advice "give loa read permission" would send the operator the wrong way)."""

from __future__ import annotations

from pathlib import Path

from audio_library.files import discover

LOOP = "liên kết vòng, trỏ về chính nó (symlink loop): sửa hoặc xoá liên kết"


def test_a_symlink_loop_is_refused_as_a_link_to_fix(tmp_path: Path) -> None:
    topic = tmp_path / "chi-so"
    topic.mkdir()
    (topic / "vong-1.mp3").symlink_to("vong-2.mp3")
    (topic / "vong-2.mp3").symlink_to("vong-1.mp3")
    found, bad = discover(tmp_path, ["chi-so"])
    assert found == []
    assert [(b.path, b.reason, b.problem) for b in bad] == [
        ("chi-so/vong-1.mp3", LOOP, "broken_link"),
        ("chi-so/vong-2.mp3", LOOP, "broken_link"),
    ]
