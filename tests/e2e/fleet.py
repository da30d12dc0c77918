"""Many notifications run by the real reference controller, and the checks every fault
test makes on them: status records that are complete and consistent, and a sink that
saw each attempt once, or once more for every crash that came between."""

from __future__ import annotations

import contextlib
import json
import secrets
import sys
import threading
import time
from collections.abc import Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

import urllib3
from kubernetes import client, watch
from kubernetes.client.exceptions import ApiException

from clusters.processes import ManagedProcess
from conformance.contract.tolerances import Tolerances
from conformance.observers.sink.recording import SinkClient

GROUP, VERSION, PLURAL = "notifications.conformance.dev", "v1alpha1", "notificationrequests"
TERMINAL = frozenset({"Sent", "PartiallySent", "Failed"})
PERMANENT = frozenset(range(400, 500)) - {408, 429}
EPSILON = Tolerances().epsilon
"""How far the sink's receive time may lie after the request went out: the kernel stamps a
packet as it processes it, which under load can come milliseconds after the send returned
(the suite forgives the same below a gap's lower bound)."""
AGREEMENT = 0.25
"""How far an attempt's time may lie after the sink received it: the suite's NR-STATUS-TRUTHFUL
tolerance. The reference dates an attempt once its request was written, so the sink's receive
time (its first bytes, stamped by the kernel) is never later."""

Object = dict[str, Any]


def controller_argv(kubeconfig: Path, namespace: str, file_root: Path) -> list[str]:
    return [
        *(sys.executable, "-m", "reference_controller", "--kubeconfig", str(kubeconfig)),
        *("--namespace", namespace, "--workers", "8"),
        *("--file-root", str(file_root), "--metrics-bind-address", "0"),
    ]


class Controller:
    """The reference controller as a real process that a test can crash and restart.

    Processes are started from one long-lived thread: a child dies with the thread that
    started it (see clusters.processes), and crashes may come from a sink's handler thread.
    """

    def __init__(self, argv: list[str], workdir: Path) -> None:
        self.argv = argv
        self.log_path = workdir / "controller.log"
        self.kills: list[float] = []
        """When each SIGKILL had taken effect (the process was reaped)."""
        self.console: list[tuple[float, Object]] = []
        """Console deliveries, with the time each line was read."""
        self._launcher = ThreadPoolExecutor(1, thread_name_prefix="controller-launcher")
        self._process: ManagedProcess | None = None
        self._lock = threading.Lock()

    def _on_line(self, line: str) -> None:
        with contextlib.suppress(ValueError):
            entry = json.loads(line)
            if isinstance(entry, dict) and entry.get("delivery") == "console":
                with self._lock:
                    self.console.append((time.time(), entry))

    def _launch(self) -> ManagedProcess:
        if self._process is not None:
            self._process.stop()
        return ManagedProcess("controller", self.argv, self.log_path, on_line=self._on_line)

    def start(self) -> Controller:
        self._process = self._launcher.submit(self._launch).result()
        return self

    def kill(self) -> None:
        """SIGKILL, as a crash would; safe to call from any thread."""
        assert self._process is not None
        self._process.kill()
        self.kills.append(time.time())

    def restart(self) -> None:
        self.start()

    def running(self) -> bool:
        return self._process is not None and self._process.running()

    def stop(self) -> None:
        if self._process is not None:
            self._launcher.submit(self._process.stop).result()
        self._launcher.shutdown()

    def log(self) -> list[Object]:
        """The JSON log entries of every process so far (stdout lines are not JSON logs)."""
        entries = []
        for line in self.log_path.read_text(errors="replace").splitlines():
            with contextlib.suppress(ValueError):
                entry = json.loads(line)
                if isinstance(entry, dict) and "msg" in entry:
                    entries.append(entry)
        return entries

    def tracebacks(self) -> list[str]:
        text = self.log_path.read_text(errors="replace") if self.log_path.exists() else ""
        return [line[:300] for line in text.splitlines() if "Traceback" in line]


@dataclass
class Fleet:
    """The notifications of one test, in a namespace of their own."""

    api_client: client.ApiClient
    sink: SinkClient
    workdir: Path
    namespace: str = field(default_factory=lambda: f"nc-faults-{secrets.token_hex(3)}")
    created: dict[str, float] = field(default_factory=dict)
    uids: dict[str, str] = field(default_factory=dict)
    terminal_at: dict[str, float] = field(default_factory=dict)
    latest: dict[str, Object] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.custom = client.CustomObjectsApi(self.api_client)
        self.core = client.CoreV1Api(self.api_client)
        self.files = self.workdir / "files"
        self.files.mkdir(parents=True, exist_ok=True)

    def open(self) -> Fleet:
        self.core.create_namespace(client.V1Namespace(metadata=client.V1ObjectMeta(name=self.namespace)))
        return self

    def close(self) -> None:
        with contextlib.suppress(ApiException, urllib3.exceptions.HTTPError):
            self.custom.delete_collection_namespaced_custom_object(GROUP, VERSION, self.namespace, PLURAL)
            self.core.delete_namespace(self.namespace)

    def hook_path(self, name: str, channel: str) -> str:
        return f"{self.namespace}/{name}/{channel}"

    def hook_url(self, name: str, channel: str) -> str:
        return self.sink.hook_url(self.hook_path(name, channel))

    def manifest(self, name: str, spec: Object) -> Object:
        return {
            "apiVersion": f"{GROUP}/{VERSION}",
            "kind": "NotificationRequest",
            "metadata": {"name": name, "namespace": self.namespace},
            "spec": spec,
        }

    def create(self, manifests: Iterable[Object]) -> None:
        """Create in parallel, as a busy cluster would see them arrive."""

        def one(manifest: Object) -> None:
            name = manifest["metadata"]["name"]
            self.created[name] = time.time()
            created: Any = self.custom.create_namespaced_custom_object(
                GROUP, VERSION, self.namespace, PLURAL, manifest
            )
            self.uids[name] = created["metadata"]["uid"]

        with ThreadPoolExecutor(8) as pool:
            list(pool.map(one, manifests))

    def _see(self, obj: Object) -> None:
        name = obj["metadata"]["name"]
        self.latest[name] = obj
        if (obj.get("status") or {}).get("phase") in TERMINAL:
            self.terminal_at.setdefault(name, time.time())

    def _pending(self) -> list[str]:
        return [n for n in self.created if n not in self.terminal_at]

    def wait_terminal(self, timeout: float) -> dict[str, Object]:
        """Watch until every created notification is terminal; reconnect and relist when the
        API server goes away (the fault tests restart it)."""
        deadline = time.monotonic() + timeout
        version: str | None = None
        while self._pending():
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                phases = {
                    n: (self.latest.get(n, {}).get("status") or {}).get("phase") for n in self._pending()
                }
                raise AssertionError(f"not terminal after {timeout:.0f}s: {phases}")
            try:
                if version is None:
                    listing: Any = self.custom.list_namespaced_custom_object(
                        GROUP, VERSION, self.namespace, PLURAL
                    )
                    for obj in listing["items"]:
                        self._see(obj)
                    version = str(listing["metadata"]["resourceVersion"])
                    continue
                stream = watch.Watch().stream(
                    self.custom.list_namespaced_custom_object,
                    GROUP,
                    VERSION,
                    self.namespace,
                    PLURAL,
                    resource_version=version,
                    timeout_seconds=max(int(min(remaining, 30)), 1),
                )
                for event in stream:
                    obj = event["object"]
                    version = obj["metadata"]["resourceVersion"]
                    if event["type"] != "DELETED":
                        self._see(obj)
                    if not self._pending():
                        break
            except (ApiException, urllib3.exceptions.HTTPError, OSError):
                version = None
                time.sleep(0.2)  # the API server is away; try again shortly
        return {name: self.latest[name] for name in self.created}


# Checks -------------------------------------------------------------------------------------------


def records_of(obj: Object, channel: str) -> list[Object]:
    return [a for a in obj["status"].get("deliveryAttempts") or [] if a["channel"] == channel]


def delivered(obj: Object, channel: str) -> bool:
    return any(a["outcome"] == "Success" for a in records_of(obj, channel))


def check_status(obj: Object) -> list[str]:
    """What is wrong with a terminal notification's status; empty when it is consistent."""
    name, spec, status = obj["metadata"]["name"], obj["spec"], obj.get("status") or {}
    problems: list[str] = []
    attempts = status.get("deliveryAttempts") or []
    names = [c["name"] for c in spec["channels"]]
    maximum = spec["retryPolicy"]["maxAttempts"]
    if status.get("phase") not in TERMINAL:
        return [f"{name}: phase {status.get('phase')!r} is not terminal"]
    if stray := {a["channel"] for a in attempts} - set(names):
        problems.append(f"{name}: attempts for unknown channels {sorted(stray)}")
    if status.get("totalAttempts") != len(attempts):
        problems.append(f"{name}: totalAttempts {status.get('totalAttempts')} != {len(attempts)} records")
    if status.get("channelCount") != len(names):
        problems.append(f"{name}: channelCount {status.get('channelCount')} != {len(names)}")
    summaries = {c["name"]: c for c in status.get("channels") or []}
    for channel in names:
        mine = records_of(obj, channel)
        numbers = [a["attempt"] for a in mine]
        if numbers != list(range(1, len(mine) + 1)):
            problems.append(f"{name}/{channel}: attempt numbers {numbers} are not 1..{len(mine)}")
        if not 1 <= len(mine) <= maximum:
            problems.append(f"{name}/{channel}: {len(mine)} attempts, allowed 1..{maximum}")
        outcomes = [a["outcome"] for a in mine]
        if "Success" in outcomes[:-1]:
            problems.append(f"{name}/{channel}: attempted again after a success: {outcomes}")
        if mine and outcomes[-1] == "Failure" and len(mine) < maximum and mine[-1].get("retryable", True):
            problems.append(f"{name}/{channel}: gave up after a retryable failure at {len(mine)}/{maximum}")
        summary = summaries.get(channel, {})
        state = "Delivered" if "Success" in outcomes else "Exhausted"
        if (summary.get("attempts"), summary.get("state")) != (len(mine), state):
            problems.append(f"{name}/{channel}: summary {summary} but {len(mine)} records, {state}")
    done = [delivered(obj, c) for c in names]
    phase = "Sent" if all(done) else "PartiallySent" if any(done) else "Failed"
    if status["phase"] != phase:
        problems.append(
            f"{name}: phase {status['phase']} but channels delivered: {dict(zip(names, done, strict=True))}"
        )
    ready = next((c for c in status.get("conditions") or [] if c["type"] == "Ready"), None)
    if ready is None or ready["status"] != ("True" if phase == "Sent" else "False"):
        problems.append(f"{name}: Ready condition {ready} in phase {phase}")
    if not status.get("completionTime"):
        problems.append(f"{name}: no completionTime")
    return problems


def answered_ok(status: int) -> bool:
    return 200 <= status < 300


@dataclass
class SinkTally:
    """What one webhook channel's sink path received, held against its status records."""

    duplicates: int = 0
    problems: list[str] = field(default_factory=list)


def check_sink(
    obj: Object, channel: str, arrivals: list[Object], uid: str, since: float, kills: list[float]
) -> SinkTally:
    """Every request carries the channel's idempotency key and an attempt number that status
    recorded, and status holds the outcome and the time of that number's last send. A number sent more than
    once needs a crash of its own for every repeat: a kill after the notification was created
    (``since``) and before the repeat arrived. (The sink stamps a request when it reads it, which
    may be just after the sender died, so the kill is not required to follow the earlier send.)"""
    label = f"{obj['metadata']['name']}/{channel}"
    tally = SinkTally()
    mine = records_of(obj, channel)
    keys = {a["headers"].get("Idempotency-Key") for a in arrivals}
    if keys != {f"{uid}/{channel}"}:
        tally.problems.append(f"{label}: idempotency keys {keys}, expected only {uid}/{channel}")
    sends: dict[int, list[Object]] = {}
    for arrival in arrivals:
        sends.setdefault(int(arrival["headers"].get("X-Notification-Attempt", 0)), []).append(arrival)
    if sorted(sends) != [a["attempt"] for a in mine]:
        tally.problems.append(f"{label}: sink saw attempts {sorted(sends)}, status has {len(mine)}")
        return tally
    repeats = sorted(a["time"] for same in sends.values() for a in same[1:])
    tally.duplicates = len(repeats)
    crashes = sorted(k for k in kills if k > since)
    unused = list(crashes)
    for repeat in repeats:
        if not unused or unused[0] >= repeat:
            tally.problems.append(
                f"{label}: a repeated send at {repeat:.3f} has no crash of its own since {since:.3f} "
                f"(crashes at {[round(k, 3) for k in crashes]}, repeats at {[round(r, 3) for r in repeats]})"
            )
            break
        unused.pop(0)
    for record in mine:
        last = sends[record["attempt"]][-1]
        if (record["outcome"] == "Success") != answered_ok(last["status"]):
            tally.problems.append(
                f"{label}: attempt {record['attempt']} recorded {record['outcome']} "
                f"({record.get('error')}), sink answered {last['status']}"
            )
        if record["outcome"] == "Failure" and record.get("retryable", True) == (last["status"] in PERMANENT):
            tally.problems.append(
                f"{label}: attempt {record['attempt']} retryable={record.get('retryable')} "
                f"({record.get('error')}) after HTTP {last['status']}"
            )
        sent = _epoch(record["timestamp"])
        if not (since <= last["time"] and last["time"] - EPSILON <= sent <= last["time"] + AGREEMENT):
            tally.problems.append(
                f"{label}: attempt {record['attempt']} recorded as sent at {sent:.6f}, "
                f"but its last send arrived at {last['time']:.6f}"
            )
    return tally


def _epoch(timestamp: str) -> float:
    return datetime.fromisoformat(timestamp.replace("Z", "+00:00")).timestamp()


def written_files(folder: Path) -> dict[tuple[str, str], Object]:
    """What the file channels wrote, by notification and channel, whatever the files are named."""
    payloads = (json.loads(path.read_text()) for path in folder.glob("*.json"))
    return {(p["notification"], p["channel"]): p for p in payloads}
