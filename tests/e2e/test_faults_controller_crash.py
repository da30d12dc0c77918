"""kill -9 of the reference controller at random points, over and over, with many
notifications in flight: nothing is lost, and only a crash can cause a repeated delivery.

Half of the kills come from the sink the moment a webhook request arrives, before the
controller has its answer: precisely between a delivery and its status write.
"""

from __future__ import annotations

import os
import random
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from kubernetes import client

from clusters.local.controlplane import LocalControlPlane
from conformance.observers.sink.recording import RecordingSink, SinkClient
from tests.e2e.fleet import (
    Controller,
    Fleet,
    Object,
    check_sink,
    check_status,
    controller_argv,
    delivered,
    records_of,
    written_files,
)

KILLS = 22
WAVE = 3
TERMINAL_TIMEOUT = 90.0
ARRIVAL_TIMEOUT = 20.0


@dataclass
class Channel:
    name: str
    kind: str
    script: list[dict[str, Any]] = field(default_factory=list)
    delivers: bool = True


@dataclass
class Plan:
    name: str
    channels: list[Channel]
    max_attempts: int


def plan(index: int, rng: random.Random) -> Plan:
    """One notification of a mix that covers every way a channel ends."""
    ok = [{"status": 200}]
    kind = index % 7
    name = f"n{index:02d}"
    if kind == 0:
        return Plan(name, [Channel("hook", "webhook", ok)], 4)
    if kind == 1:
        failures = rng.randint(1, 3)
        status = rng.choice([500, 503, 429, 408])
        return Plan(name, [Channel("flaky", "webhook", [{"status": status, "times": failures}, *ok])], 5)
    if kind == 2:
        return Plan(name, [Channel("down", "webhook", [{"status": 500}], delivers=False)], 3)
    if kind == 3:
        channels = [Channel("archive", "file"), Channel("log", "console"), Channel("hook", "webhook", ok)]
        return Plan(name, channels, 3)
    if kind == 4:
        return Plan(name, [Channel("log", "console")], 3)
    if kind == 5:
        refused = Channel("refused", "webhook", [{"status": 400}], delivers=False)
        return Plan(name, [refused, Channel("hook", "webhook", ok)], 4)
    slow = [{"status": 200, "delaySeconds": 0.3}]
    return Plan(name, [Channel("slow", "webhook", slow), Channel("log", "console")], 3)


class Trigger:
    """Crashes the controller from the sink's handler when the next request arrives."""

    def __init__(self) -> None:
        self.controller: Controller | None = None
        self.armed = threading.Event()
        self.fired = threading.Event()
        self.hits: list[tuple[str, int, float]] = []
        self._lock = threading.Lock()

    def __call__(self, path: str, record: Object) -> None:
        with self._lock:
            if not self.armed.is_set() or self.controller is None:
                return
            self.armed.clear()
            self.controller.kill()
            self.hits.append((path, int(record["headers"]["X-Notification-Attempt"]), record["time"]))
            self.fired.set()


@pytest.fixture
def trigger() -> Trigger:
    return Trigger()


@pytest.fixture
def sink(trigger: Trigger) -> Iterator[SinkClient]:
    server = RecordingSink(observer=trigger).start()
    yield SinkClient(server.url)
    server.stop()


def spec(fleet: Fleet, item: Plan, rng: random.Random) -> Object:
    channels: list[Object] = []
    for channel in item.channels:
        entry: Object = {"name": channel.name, "type": channel.kind}
        if channel.kind == "webhook":
            fleet.sink.script(fleet.hook_path(item.name, channel.name), channel.script)
            entry["webhook"] = {"url": fleet.hook_url(item.name, channel.name), "timeout": "2s"}
        elif channel.kind == "file":
            entry["file"] = {"directory": str(fleet.files)}
        channels.append(entry)
    return {
        "subject": f"crash test {item.name}",
        "channels": channels,
        "retryPolicy": {
            "maxAttempts": item.max_attempts,
            "initialBackoff": f"{rng.choice([100, 150, 200, 300])}ms",
            "backoffMultiplier": 2,
            "maxBackoff": "800ms",
            "jitterPercent": rng.choice([0, 10]),
        },
    }


def test_kill_nine_at_random_points_loses_nothing(
    local_cluster: LocalControlPlane,
    notification_crds: client.ApiClient,
    sink: SinkClient,
    trigger: Trigger,
    tmp_path: Path,
) -> None:
    seed = int(os.environ.get("NC_FAULT_SEED", random.randrange(1 << 30)))
    rng = random.Random(seed)
    print(f"\nNC_FAULT_SEED={seed}")
    fleet = Fleet(notification_crds, sink, tmp_path).open()
    controller = Controller(
        controller_argv(local_cluster.kubeconfig_path, fleet.namespace, tmp_path), tmp_path
    )
    trigger.controller = controller
    plans: dict[str, Plan] = {}
    started = time.monotonic()
    try:
        controller.start()
        for kill in range(KILLS):
            wave = [plan(len(plans) + i, rng) for i in range(WAVE)]
            plans.update({item.name: item for item in wave})
            fleet.create(fleet.manifest(item.name, spec(fleet, item, rng)) for item in wave)
            if kill % 2 == 0:
                trigger.fired.clear()
                trigger.armed.set()
                assert trigger.fired.wait(ARRIVAL_TIMEOUT), "no webhook request arrived to crash on"
            else:
                time.sleep(rng.uniform(0.0, 1.5))  # a random point in the controller's life
                controller.kill()
            controller.restart()
        final = fleet.wait_terminal(TERMINAL_TIMEOUT)
        elapsed = time.monotonic() - started
    finally:
        controller.stop()
        fleet.close()

    problems: list[str] = []
    duplicates = console_duplicates = 0
    kills = controller.kills
    files = written_files(fleet.files)
    for name, item in plans.items():
        obj = final[name]
        problems += check_status(obj)
        for channel in item.channels:
            label = f"{name}/{channel.name}"
            if delivered(obj, channel.name) != channel.delivers:
                problems.append(f"{label}: delivered={not channel.delivers}, its script says otherwise")
            mine = records_of(obj, channel.name)
            if channel.kind == "webhook":
                arrivals = sink.records(fleet.hook_path(name, channel.name))
                tally = check_sink(obj, channel.name, arrivals, fleet.uids[name], fleet.created[name], kills)
                problems += tally.problems
                duplicates += tally.duplicates
                if channel.script[0]["status"] == 400 and len(mine) != 1:
                    problems.append(f"{label}: a permanent failure was attempted {len(mine)} times")
                if (
                    not channel.delivers
                    and channel.script[0]["status"] == 500
                    and len(mine) != item.max_attempts
                ):
                    problems.append(f"{label}: {len(mine)} attempts of {item.max_attempts}")
            elif channel.kind == "file":
                written = files[(f"{fleet.namespace}/{name}", channel.name)]
                if written["attempt"] != mine[-1]["attempt"]:
                    problems.append(f"{label}: file holds attempt {written['attempt']}, status {mine[-1]}")
            else:
                lines = [
                    (at, entry["attempt"])
                    for at, entry in controller.console
                    if entry["notification"] == f"{fleet.namespace}/{name}"
                    and entry["channel"] == channel.name
                ]
                if sorted({attempt for _, attempt in lines}) != [a["attempt"] for a in mine]:
                    problems.append(f"{label}: console printed attempts {lines}, status has {len(mine)}")
                window = [k for k in kills if fleet.created[name] < k < fleet.terminal_at[name]]
                if len(lines) - len(mine) > len(window):
                    problems.append(
                        f"{label}: {len(lines)} console lines, {len(mine)} attempts, {len(window)} kills"
                    )
                console_duplicates += len(lines) - len(mine)

    resent = [
        hit
        for hit in trigger.hits
        if len([a for a in sink.records(hit[0]) if a["headers"]["X-Notification-Attempt"] == str(hit[1])]) > 1
    ]
    print(
        f"kills={len(kills)} (from the sink on arrival: {len(trigger.hits)}, re-sent after: "
        f"{len(resent)}) notifications={len(plans)} sink duplicates={duplicates} "
        f"console duplicates={console_duplicates} seconds={elapsed:.1f}"
    )
    assert not problems, "\n".join(problems)
    assert len(kills) >= 20
    assert len(plans) >= 40
    assert len(resent) == len(trigger.hits), f"a crash on arrival did not lead to a re-send: {trigger.hits}"
