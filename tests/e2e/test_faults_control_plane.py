"""The control plane fails under a running controller: kube-apiserver restarts, etcd
restarts, and a watch expires (410 Gone). The controller reconnects, relists where it
must, and every notification still ends with exactly the attempts the sink saw.

These tests restart processes, so they use a control plane of their own.
"""

from __future__ import annotations

import base64
import json
import time
import urllib.request
from collections.abc import Callable, Iterator
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest
from kubernetes import client, config

from clusters.local.controlplane import LocalControlPlane
from conformance.binding.binding import Binding
from conformance.environment.run_environment import install_crds
from conformance.observers.sink.recording import SinkClient
from tests.e2e.conftest import REPO
from tests.e2e.fleet import Controller, Fleet, Object, check_sink, check_status, controller_argv, delivered

TERMINAL_TIMEOUT = 60.0


@pytest.fixture(scope="module")
def plane(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalControlPlane]:
    plane = LocalControlPlane(workdir=tmp_path_factory.mktemp("restarted-plane"))
    plane.start()
    yield plane
    plane.stop()


@pytest.fixture(scope="module")
def plane_client(plane: LocalControlPlane) -> Iterator[client.ApiClient]:
    api = config.new_client_from_config(str(plane.kubeconfig_path))
    install_crds(api, Binding.load(REPO / "fixtures" / "bindings" / "reference"))
    yield api
    api.close()


@pytest.fixture
def fleet(plane_client: client.ApiClient, sink: SinkClient, tmp_path: Path) -> Iterator[Fleet]:
    fleet = Fleet(plane_client, sink, tmp_path).open()
    yield fleet
    fleet.close()


@pytest.fixture
def controller(plane: LocalControlPlane, fleet: Fleet, tmp_path: Path) -> Iterator[Controller]:
    controller = Controller(controller_argv(plane.kubeconfig_path, fleet.namespace, tmp_path), tmp_path)
    controller.start()
    yield controller
    controller.stop()


SCRIPTS: dict[str, tuple[list[dict[str, Any]], bool]] = {
    "ok": ([{"status": 200}], True),
    "flaky": ([{"status": 503, "times": 3}, {"status": 200}], True),
    "down": ([{"status": 500}], False),
    "slow": ([{"status": 200, "delaySeconds": 1.0}], True),
}
"""Script name -> (sink script, whether the webhook is delivered in the end)."""


def wave(fleet: Fleet, prefix: str, count: int) -> dict[str, str]:
    """``count`` notifications whose retries last a few seconds; returns name -> script."""
    chosen: dict[str, str] = {}
    manifests = []
    for index in range(count):
        name, script = f"{prefix}{index:02d}", list(SCRIPTS)[index % len(SCRIPTS)]
        chosen[name] = script
        fleet.sink.script(fleet.hook_path(name, "hook"), SCRIPTS[script][0])
        spec: Object = {
            "subject": f"control plane faults {name}",
            "channels": [
                {"name": "hook", "type": "webhook", "webhook": {"url": fleet.hook_url(name, "hook")}},
                {"name": "log", "type": "console"},
            ],
            "retryPolicy": {
                "maxAttempts": 5,
                "initialBackoff": "400ms",
                "backoffMultiplier": 1.5,
                "maxBackoff": "1s",
            },
        }
        manifests.append(fleet.manifest(name, spec))
    fleet.create(manifests)
    return chosen


def verify(fleet: Fleet, controller: Controller, chosen: dict[str, str]) -> int:
    """Everything terminal with exactly the attempts the sink saw; returns the attempts made."""
    final = fleet.wait_terminal(TERMINAL_TIMEOUT)
    problems: list[str] = []
    for name, script in chosen.items():
        obj = final[name]
        problems += check_status(obj)
        arrivals = fleet.sink.records(fleet.hook_path(name, "hook"))
        problems += check_sink(
            obj, "hook", arrivals, fleet.uids[name], fleet.created[name], kills=[]
        ).problems
        if delivered(obj, "hook") != SCRIPTS[script][1]:
            problems.append(f"{name}: webhook delivered={not SCRIPTS[script][1]} against script {script}")
    assert not problems, "\n".join(problems)
    assert controller.running(), controller.log_path.read_text()[-3000:]
    return sum(obj["status"]["totalAttempts"] for obj in final.values())


def wait_for_deliveries(fleet: Fleet, names: list[str]) -> None:
    """Return once each of these notifications has reached the sink: the run is under way."""
    for name in names:
        fleet.sink.records(fleet.hook_path(name, "hook"), at_least=1, wait=20)


def attempt_times(fleet: Fleet) -> list[float]:
    return [
        datetime.fromisoformat(a["timestamp"].replace("Z", "+00:00")).timestamp()
        for obj in fleet.latest.values()
        for a in obj["status"]["deliveryAttempts"]
    ]


@pytest.mark.parametrize("restart", ["apiserver", "etcd"])
def test_control_plane_restart_mid_run_loses_nothing(
    plane: LocalControlPlane, fleet: Fleet, controller: Controller, restart: str
) -> None:
    before = wave(fleet, "a", 16)
    # Restart while the slow webhooks hold their answers: their status writes meet the outage.
    wait_for_deliveries(fleet, [name for name, script in before.items() if script == "slow"])
    restarter: Callable[[], None] = plane.restart_apiserver if restart == "apiserver" else plane.restart_etcd
    down = time.time()
    restarter()
    up = time.time()
    after = wave(fleet, "b", 6)
    attempts = verify(fleet, controller, before | after)
    times = attempt_times(fleet)
    earlier, later = sum(t < down for t in times), sum(t > up for t in times)
    log = controller.log()
    reconnects = sum(e["msg"].startswith("watch interrupted") for e in log)
    rewrites = sum(e["msg"] == "status write failed; retrying" for e in log)
    print(
        f"\n{restart} restarted in {up - down:.1f}s: {len(before) + len(after)} notifications, "
        f"{attempts} attempts ({earlier} before, {later} after), {reconnects} watch reconnects, "
        f"{rewrites} status writes retried"
    )
    assert earlier and later, "the restart did not come in the middle of the run"
    if restart == "apiserver":
        assert rewrites, "no status write met the outage"


def etcd_call(plane: LocalControlPlane, path: str, body: Object) -> Any:
    request = urllib.request.Request(
        f"{plane.etcd_url}/v3/{path}", data=json.dumps(body).encode(), method="POST"
    )
    with urllib.request.urlopen(request, timeout=10) as response:
        return json.loads(response.read())


def compact_history(plane: LocalControlPlane) -> None:
    """Move etcd's revision past anything the controller saw, and forget all history before it."""
    key = base64.b64encode(b"/conformance-faults/compaction").decode()
    written = etcd_call(plane, "kv/put", {"key": key, "value": base64.b64encode(b"x").decode()})
    revision = int(written["header"]["revision"])
    etcd_call(plane, "kv/compaction", {"revision": revision, "physical": True})


def test_expired_watch_relists_and_carries_on(
    plane: LocalControlPlane, fleet: Fleet, controller: Controller
) -> None:
    before = wave(fleet, "a", 6)
    fleet.wait_terminal(TERMINAL_TIMEOUT)
    plane.restart_apiserver(while_down=lambda: compact_history(plane))
    after = wave(fleet, "b", 9)
    attempts = verify(fleet, controller, before | after)
    relists = [e for e in controller.log() if e["msg"] == "watch expired; relisting"]
    total = len(before) + len(after)
    print(f"\nwatch expired: {len(relists)} relists, {total} notifications, {attempts} attempts")
    assert relists, "the controller never saw its watch expire"
