"""File channels: each gets a directory of its own below the scenario's folder, made
read-only when the scenario says the channel cannot be written, and every file that
appears in it is a successful delivery (a failed write leaves nothing to see)."""

from __future__ import annotations

from pathlib import Path
from typing import Any, Protocol

from conformance.observers.files import FileObserver
from conformance.observers.observation import FILE, ExternalEvent
from conformance.observers.observer import Coverage, Seen
from conformance.observers.readonly import ControllerUser as ReadOnlyUser
from conformance.observers.readonly import ReadOnlyDirectory
from conformance.scenarios.model import ChannelSpec

TYPE = "file"


class ControllerUser(ReadOnlyUser, Protocol):
    """The unprivileged user the controller runs as (``conformance.environment.launch``)."""

    def give(self, directory: Path) -> None: ...


class FileChannels:
    """The ``Observer`` of a scenario's file channels."""

    def __init__(self, workdir: Path, user: ControllerUser | None) -> None:
        self._workdir = workdir
        self._user = user
        self._watchers: dict[str, FileObserver] = {}
        self._readonly: dict[str, ReadOnlyDirectory] = {}
        self._seen: Seen | None = None

    def provision(self, channel: ChannelSpec) -> dict[str, Any]:
        if channel.type != TYPE:
            return {}
        directory = self._workdir / channel.name
        directory.mkdir()
        if self._user is not None:
            self._user.give(directory)
        if not channel.writable:
            self._readonly[channel.name] = ReadOnlyDirectory(directory, self._user)
        self._watchers[channel.name] = FileObserver(directory).start()
        return {"directory": str(directory)}

    def start(self) -> None:
        """Each directory is watched from the moment it is made."""

    def stop(self) -> Seen:
        if self._seen is None:
            events = tuple(
                ExternalEvent(name, t, FILE, True, "file written")
                for name, watcher in self._watchers.items()
                for t in watcher.stop()
            )
            mechanisms = {name: read_only.mechanism for name, read_only in self._readonly.items()}
            self._seen = Seen(events=events, mechanisms=mechanisms)
        return self._seen

    def covers(self) -> dict[str, Coverage]:
        return dict.fromkeys(self._watchers, Coverage.SUCCESSES)

    def diagnostics(self) -> dict[str, str]:
        return {}

    def release(self, keep: bool) -> None:
        """Read-only directories are made writable again even when kept, so they can be removed."""
        for read_only in self._readonly.values():
            read_only.release()
