"""The file channels' observer on real directories: a writable channel's deliveries, a failing
channel's attempts, what each covers and how the failing one was made to fail."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from conformance.observers.file_channels import FileChannels, shortest_backoff
from conformance.observers.observation import FILE, FUSE
from conformance.observers.observer import Coverage, Observer
from conformance.observers.refusing_mount import available
from conformance.scenarios.model import ChannelSpec, RetryPolicy

POLICY = RetryPolicy.from_dict(
    {
        "maxAttempts": 4,
        "initialBackoff": "1s",
        "backoffMultiplier": 2,
        "maxBackoff": "2s",
        "jitterPercent": 20,
    }
)


def test_the_shortest_backoff_is_the_first_less_its_jitter() -> None:
    assert shortest_backoff(POLICY) == pytest.approx(0.8)
    shrinking = RetryPolicy.from_dict(
        {"maxAttempts": 3, "initialBackoff": "1s", "backoffMultiplier": 0.5, "maxBackoff": "2s"}
    )
    assert shortest_backoff(shrinking) == pytest.approx(0.5)


@pytest.mark.skipif(available() is not None, reason=f"no FUSE here: {available()}")
def test_deliveries_and_refused_attempts_are_seen_per_channel(tmp_path: Path) -> None:
    files = FileChannels(tmp_path, None, POLICY)
    observer: Observer = files
    try:
        assert observer.provision(ChannelSpec("hook", "webhook")) == {}
        written = Path(observer.provision(ChannelSpec("archive", "file"))["directory"])
        refused = Path(
            observer.provision(ChannelSpec("audit", "file", writable=False, error="EACCES"))["directory"]
        )
        observer.start()
        (written / "x.json.tmp").write_text("{}")
        os.replace(written / "x.json.tmp", written / "x.json")
        for name in ("a.json.tmp", "a.json"):  # one attempt: a temporary name, then the final one
            with pytest.raises(PermissionError):
                (refused / name).write_text("{}")
        seen = observer.stop()
        assert observer.covers() == {"archive": Coverage.SUCCESSES, "audit": Coverage.WRITE_ATTEMPTS}
        assert "EACCES on create a.json.tmp" in observer.diagnostics()["requests refused on audit"]
    finally:
        observer.release(keep=False)
    assert not os.path.ismount(refused)
    assert [(e.channel, e.source, e.succeeded) for e in seen.events] == [
        ("archive", FILE, True),
        ("audit", FUSE, False),
    ]
    assert seen.events[1].detail.endswith("and 1 more requests")
    assert seen.mechanisms == {"audit": "FUSE filesystem (EACCES)"}
    assert observer.stop() == seen
