"""The file channel writes only below its root, on a real file system with real symbolic links."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from reference_controller.channels import Channels, Delivery, DeliveryError
from reference_controller.fileroot import Escape, FileRoot


@pytest.fixture
def tree(tmp_path: Path) -> tuple[Path, Path]:
    root, outside = tmp_path / "root", tmp_path / "outside"
    (root / "inbox" / "deep").mkdir(parents=True)
    outside.mkdir()
    return root, outside


def no_credentials(namespace: str, ref: dict[str, str]) -> str:
    raise AssertionError("no webhook here")


def file_delivery(directory: str) -> Delivery:
    channel = {"name": "audit", "type": "file", "file": {"directory": directory}}
    return Delivery("ns", "note", "uid-1", {"subject": "hi"}, channel, 1)


def test_writes_below_the_root(tree: tuple[Path, Path]) -> None:
    root, _ = tree
    FileRoot(str(root)).write(str(root / "inbox" / "deep"), "a.json", b"{}")
    assert (root / "inbox" / "deep" / "a.json").read_bytes() == b"{}"
    FileRoot(str(root)).write(str(root) + "//inbox/./", "b.json", b"[]")
    assert (root / "inbox" / "b.json").read_bytes() == b"[]"
    assert sorted(p.name for p in (root / "inbox").iterdir()) == ["b.json", "deep"]  # no temporary left


def test_rewrites_an_existing_file_in_place(tree: tuple[Path, Path]) -> None:
    root, _ = tree
    files = FileRoot(str(root))
    files.write(str(root / "inbox"), "a.json", b"1")
    files.write(str(root / "inbox"), "a.json", b"2")  # the repeat at-least-once delivery allows
    assert (root / "inbox" / "a.json").read_bytes() == b"2"


@pytest.mark.parametrize(
    ("relative", "message"),
    [
        ("inbox/../../outside", "contains '..'"),
        ("..", "contains '..'"),
        ("../root-sibling", "contains '..'"),
        ("inbox\0/x", "contains a NUL character"),
    ],
)
def test_refuses_dot_dot_and_nul(tree: tuple[Path, Path], relative: str, message: str) -> None:
    root, outside = tree
    with pytest.raises(Escape, match=message):
        FileRoot(str(root)).write(f"{root}/{relative}", "a.json", b"{}")
    assert list(outside.iterdir()) == []


@pytest.mark.parametrize("directory", ["/etc", "/", "{tmp}/root-but-longer", "{tmp}/outside"])
def test_refuses_directories_outside_the_root(tree: tuple[Path, Path], directory: str) -> None:
    root, _ = tree
    with pytest.raises(Escape, match="outside the file root"):
        FileRoot(str(root)).write(directory.format(tmp=root.parent), "a.json", b"{}")


def test_refuses_a_symlinked_directory_at_any_depth(tree: tuple[Path, Path]) -> None:
    root, outside = tree
    (root / "link").symlink_to(outside)
    (root / "inbox" / "hop").symlink_to(outside)
    (root / "inbox" / "deep" / "back").symlink_to(root / "inbox")  # even one that stays inside
    files = FileRoot(str(root))
    for directory in (
        root / "link",
        root / "inbox" / "hop",
        root / "inbox" / "hop" / "x",
        root / "inbox/deep/back",
    ):
        with pytest.raises(Escape, match="is a symbolic link"):
            files.write(str(directory), "a.json", b"{}")
    assert list(outside.iterdir()) == []


def test_refuses_a_symlink_planted_at_the_file_name(tree: tuple[Path, Path]) -> None:
    root, outside = tree
    victim = outside / "victim"
    victim.write_text("untouched")
    (root / "inbox" / "a.json").symlink_to(victim)
    with pytest.raises(Escape, match="is a symbolic link"):
        FileRoot(str(root)).write(str(root / "inbox"), "a.json", b"{}")
    assert victim.read_text() == "untouched"
    assert (root / "inbox" / "a.json").is_symlink()


def test_a_symlinked_root_is_configuration_and_is_followed(tree: tuple[Path, Path]) -> None:
    root, _ = tree
    alias = root.parent / "alias"
    alias.symlink_to(root)
    FileRoot(str(alias)).write(str(alias / "inbox"), "a.json", b"{}")
    assert (root / "inbox" / "a.json").exists()


def test_file_names_are_plain(tree: tuple[Path, Path]) -> None:
    root, _ = tree
    for name in ("../x", "", "..", "a/b"):
        with pytest.raises(Escape, match="not a plain name"):
            FileRoot(str(root)).write(str(root), name, b"{}")


def test_the_channel_fails_escapes_permanently_and_file_system_errors_retryably(
    tree: tuple[Path, Path],
) -> None:
    root, outside = tree
    (root / "link").symlink_to(outside)
    channels = Channels(FileRoot(str(root)), no_credentials)
    with pytest.raises(DeliveryError) as escape:
        channels.deliver(file_delivery(str(root / "link")))
    assert escape.value.retryable is False and "symbolic link" in str(escape.value)
    with pytest.raises(DeliveryError) as missing:
        channels.deliver(file_delivery(str(root / "not-yet")))
    assert missing.value.retryable is True and "No such file or directory" in str(missing.value)
    channels.deliver(file_delivery(str(root / "inbox")))
    written = json.loads((root / "inbox" / "ns.note.audit.json").read_text())
    assert written["notification"] == "ns/note" and written["attempt"] == 1
