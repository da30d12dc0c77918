"""Which files written into a channel's directory are deliveries: those that land under their final
names.

A writer may write a temporary file (``<final>.<pid>.<n>.tmp``, ``<final>.tmp123``,
``.<final>.123``, ...) and rename it into place, or write the final name directly. The kernel
tells which (inotify): a file *arrives* at a name when it is renamed there (``IN_MOVED_TO``) or
opened there and closed after writing (``IN_OPEN``, then ``IN_CLOSE_WRITE``), and *leaves* it
when renamed away (``IN_MOVED_FROM``) or removed (``IN_DELETE``). A file renamed into place while
still open arrives with the rename, not again when it is closed. A file that left its name was a
temporary one and is no delivery; a file still under its name at the end, or replaced there by a
rename, is one delivery per arrival (writing the final name in place twice is two deliveries). No
name is special: the rule never guesses what a temporary name looks like.

A pure state machine over (event, name, time), unit-tested on data.
"""

from __future__ import annotations

from dataclasses import dataclass, field

OPENED, CLOSED, CLOSED_UNWRITTEN = "opened", "closed", "closed-unwritten"
MOVED_IN, MOVED_OUT, REMOVED = "moved-in", "moved-out", "removed"


@dataclass
class _Name:
    current: list[float] = field(default_factory=list)
    """When the file now under this name arrived there (more than once if written in place again)."""
    replaced: list[float] = field(default_factory=list)
    """Arrivals of earlier files that a rename replaced: they had landed."""
    opened: bool = False
    """Opened under this name since its last arrival: a write-close there is a new arrival."""


@dataclass
class Landings:
    names: dict[str, _Name] = field(default_factory=dict)

    def feed(self, event: str, name: str, at: float) -> None:
        entry = self.names.setdefault(name, _Name())
        if event == OPENED:
            entry.opened = True
        elif event == CLOSED_UNWRITTEN:
            entry.opened = False
        elif event == CLOSED:
            if entry.opened:
                entry.current.append(at)
            entry.opened = False
        elif event == MOVED_IN:
            entry.replaced += entry.current
            entry.current, entry.opened = [at], False
        elif event in (MOVED_OUT, REMOVED):
            entry.current, entry.opened = [], False
        else:
            raise ValueError(f"unknown file event {event!r}")

    def times(self) -> list[float]:
        """When each delivery landed, in order."""
        return sorted(t for entry in self.names.values() for t in entry.replaced + entry.current)
