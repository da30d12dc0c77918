"""The ``Observer`` of file channels: a directory for each, and what happened in it.

A writable channel's directory is watched for deliveries landing under their final names
(``files.FileObserver``). A failing channel's directory gets the refusing filesystem when FUSE
is available (``readonly.ReadOnlyDirectory`` says how it was made unwritable): then every
attempt is seen and stamped by the suite, like a webhook's at the sink, and the channel's gaps
are judged from those stamps. With a fallback mechanism nothing is seen, and status is the
only witness.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from conformance.observers.files import FileObserver
from conformance.observers.observation import FILE, FUSE, ExternalEvent
from conformance.observers.observer import Coverage, Seen
from conformance.observers.readonly import ControllerUser, ReadOnlyDirectory
from conformance.observers.refusals import SAME_ATTEMPT_SECONDS, attempts, grouping_horizon
from conformance.scenarios import oracle
from conformance.scenarios.model import ChannelSpec, RetryPolicy


def shortest_backoff(policy: RetryPolicy) -> float:
    """The shortest gap the policy ever asks for between two attempts of one channel."""
    gaps = [oracle.nominal_gap(policy, made) for made in range(1, max(policy.max_attempts, 2))]
    return min(gaps) * (1 - policy.jitter)


class FileChannels:
    """Provisions the scenario's file channels below ``workdir`` and observes them."""

    def __init__(self, workdir: Path, user: ControllerUser | None, policy: RetryPolicy | None = None) -> None:
        """``policy``: the scenario's retry policy, which bounds how close two attempts come;
        without it, requests group by the default horizon (``refusals.SAME_ATTEMPT_SECONDS``)."""
        self.workdir = workdir
        self.user = user
        self.within = grouping_horizon(shortest_backoff(policy)) if policy else SAME_ATTEMPT_SECONDS
        self.writable: dict[str, FileObserver] = {}
        self.failing: dict[str, ReadOnlyDirectory] = {}
        self._seen: Seen | None = None

    def provision(self, channel: ChannelSpec) -> dict[str, Any]:
        if channel.type != "file":
            return {}
        directory = self.workdir / channel.name
        directory.mkdir()
        if self.user is not None:
            self.user.give(directory)
        if channel.writable:
            self.writable[channel.name] = FileObserver(directory)
        else:
            self.failing[channel.name] = ReadOnlyDirectory(directory, self.user, channel.error)
        return {"directory": str(directory)}

    def start(self) -> None:
        for observer in self.writable.values():
            observer.start()

    def stop(self) -> Seen:
        if self._seen is None:
            events = [
                ExternalEvent(name, at, FILE, True, "file written")
                for name, observer in self.writable.items()
                for at in observer.stop()
            ]
            for name, directory in self.failing.items():
                for group in attempts(directory.refusals(), self.within):
                    more = f" and {len(group) - 1} more requests" if len(group) > 1 else ""
                    events.append(ExternalEvent(name, group[0].time, FUSE, False, group[0].describe() + more))
            mechanisms = {name: directory.mechanism for name, directory in self.failing.items()}
            self._seen = Seen(events=tuple(events), mechanisms=mechanisms)
        return self._seen

    def covers(self) -> dict[str, Coverage]:
        coverage = dict.fromkeys(self.writable, Coverage.SUCCESSES)
        for name, directory in self.failing.items():
            coverage[name] = Coverage.WRITE_ATTEMPTS if directory.sees_attempts else Coverage.SUCCESSES
        return coverage

    def diagnostics(self) -> dict[str, str]:
        found = {}
        for name, directory in self.failing.items():
            if directory.sees_attempts:
                refused = [f"{r.time:.6f} {r.describe()}" for r in directory.refusals()]
                found[f"requests refused on {name}"] = "\n".join(refused) or "(none)"
        return found

    def release(self, keep: bool) -> None:
        """Stop watching and make every directory writable again (``keep`` changes nothing here:
        the directories stay with the run's work folder)."""
        self.stop()
        for directory in self.failing.values():
            directory.release()
