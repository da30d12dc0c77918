"""The file channel's file names: one per channel, and never too long for the file system."""

from __future__ import annotations

import json
from pathlib import Path

from reference_controller.api import Object
from reference_controller.channels import MAX_FILE_NAME, Channels, Delivery, file_name
from reference_controller.fileroot import FileRoot


def delivery(directory: Path, name: str, channel: str = "archive") -> Delivery:
    spec = {"subject": "s", "channels": []}
    target = {"name": channel, "type": "file", "file": {"directory": str(directory)}}
    return Delivery("team-a", name, "uid-1", spec, target, 1)


def no_credentials(namespace: str, ref: Object) -> str:
    raise AssertionError("a file channel reads no Secret")


def test_a_short_name_says_whose_file_it_is(tmp_path: Path) -> None:
    assert file_name(delivery(tmp_path, "weekly")) == "team-a.weekly.archive.json"


def test_the_longest_names_still_make_a_file(tmp_path: Path) -> None:
    """A notification's name may have 253 characters and a channel's 63."""
    longest = ".".join(["a" * 63] * 4)[:253]
    Channels(FileRoot(str(tmp_path)), no_credentials).deliver(delivery(tmp_path, longest, "c" * 63))
    [written] = list(tmp_path.glob("*.json"))
    assert len(written.name) == MAX_FILE_NAME
    assert json.loads(written.read_text())["notification"] == f"team-a/{longest}"


def test_long_names_that_share_a_start_get_files_of_their_own(tmp_path: Path) -> None:
    first, second = "a" * 250 + "xyz", "a" * 250 + "xyw"
    assert file_name(delivery(tmp_path, first)) != file_name(delivery(tmp_path, second))
