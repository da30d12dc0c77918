"""Property: for any valid NotificationRequest, the reference controller never crashes and
brings the notification to the terminal phase its channels' answers call for, with no
more than maxAttempts attempts per channel.

Hypothesis draws whole batches of specs (names, subjects, channel mixes, retry policies,
webhook timeouts and sink scripts, all within the CRD's bounds); each batch is created
against the real API server, which must accept every one of them, and run by the real
controller. A failing batch is shrunk like any other example.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any

import pytest
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st
from kubernetes import client
from kubernetes.client.exceptions import ApiException

from clusters.local.controlplane import LocalControlPlane
from conformance.observers.sink.recording import SinkClient
from tests.e2e.fleet import (
    PERMANENT,
    Controller,
    Fleet,
    Object,
    answered_ok,
    check_sink,
    check_status,
    controller_argv,
    delivered,
    records_of,
    written_files,
)

BATCHES = 4
BATCH_SIZE = 52
TERMINAL_TIMEOUT = 90.0
STATUSES = [200, 201, 204, 400, 404, 408, 410, 429, 500, 502, 503]

LABEL = st.from_regex(r"\A[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?\Z")
SHORT_LABEL = st.from_regex(r"\A[a-z0-9]([-a-z0-9]{0,10}[a-z0-9])?\Z")
FULL_LABEL = SHORT_LABEL.map(lambda label: f"{label}-{'x' * 63}"[:62] + "z")
"""63 characters, the most a label may have; drawn cheaply, so that batches stay small to draw."""
NAME = st.one_of(
    SHORT_LABEL,
    st.lists(LABEL, min_size=1, max_size=4).map(".".join).filter(lambda name: len(name) <= 253),
    st.lists(FULL_LABEL, min_size=3, max_size=4).map(lambda labels: ".".join(labels)[:253].rstrip(".-")),
)


def text(longest: int, min_size: int = 0) -> st.SearchStrategy[str]:
    """Short text mostly, sometimes a short piece repeated to the longest length allowed."""
    short = st.text(min_size=min_size, max_size=40)
    return st.one_of(
        short, short, short, st.text(min_size=1, max_size=4).map(lambda p: (p * longest)[:longest])
    )


def duration(milliseconds: int) -> st.SearchStrategy[str]:
    """The same length of time spelled in the ways the CRD's pattern allows."""
    seconds = milliseconds / 1000
    spellings = [f"{milliseconds}ms", f"{seconds:g}s"]
    if milliseconds >= 1000 and milliseconds % 1000:
        spellings.append(f"{milliseconds // 1000}s{milliseconds % 1000}ms")
    return st.sampled_from(spellings)


@dataclass
class Channel:
    name: str
    kind: str
    script: list[dict[str, Any]] = field(default_factory=list)
    timeout: str | None = None
    hangs: bool = False
    writable: bool = True
    query: str = ""


@dataclass
class Spec:
    name: str
    subject: str
    channels: list[Channel]
    policy: dict[str, Any]
    body: str | None = None
    priority: str | None = None


@st.composite
def steps(draw: st.DrawFn) -> list[dict[str, Any]]:
    """A sink script: some answers a few times each, then the last one for ever."""
    result = []
    for index in range(draw(st.integers(1, 3))):
        status = draw(st.sampled_from(STATUSES))
        step: dict[str, Any] = {"status": status}
        if status in (429, 503) and draw(st.booleans()):
            step["retryAfter"] = draw(st.sampled_from(["0", "1"]))
        if draw(st.integers(0, 5)) == 0:
            step["delaySeconds"] = 0.2
        result.append(step)
        if index < 2:
            step["times"] = draw(st.integers(1, 3))
    result[-1].pop("times", None)
    return result


@st.composite
def channels(draw: st.DrawFn) -> list[Channel]:
    names = draw(st.lists(LABEL, min_size=1, max_size=5, unique=True))
    result = []
    for name in names:
        kind = draw(st.sampled_from(["console", "file", "webhook", "webhook"]))
        channel = Channel(name, kind)
        if kind == "file":
            channel.writable = draw(st.booleans())
        elif kind == "webhook":
            channel.hangs = draw(st.integers(0, 9)) == 0
            if channel.hangs:
                channel.script = [{"status": 200, "delaySeconds": 0.5}]
                channel.timeout = draw(duration(draw(st.sampled_from([100, 200]))))
            else:
                channel.script = draw(steps())
                milliseconds = draw(st.sampled_from([3000, 4500, 10000, 30000, 0]))
                channel.timeout = draw(duration(milliseconds)) if milliseconds else None
            channel.query = draw(st.sampled_from(["", "?token=abc", "?a=1&b=two"]))
        result.append(channel)
    return result


@st.composite
def policies(draw: st.DrawFn) -> dict[str, Any]:
    """Retry policies within the CRD's bounds, short enough to run hundreds at once."""
    initial = draw(st.integers(100, 400))
    policy: dict[str, Any] = {
        "initialBackoff": draw(duration(initial)),
        "maxBackoff": draw(duration(draw(st.integers(initial, 1000)))),
    }
    if draw(st.booleans()):
        policy["maxAttempts"] = draw(st.integers(1, 10))
    if draw(st.booleans()):
        policy["backoffMultiplier"] = draw(
            st.one_of(st.integers(1, 10), st.floats(1, 10, allow_nan=False).map(lambda x: round(x, 2)))
        )
    if draw(st.booleans()):
        policy["jitterPercent"] = draw(st.integers(0, 50))
    return policy


SPECS = st.builds(
    Spec,
    name=NAME,
    subject=text(256, min_size=1),
    channels=channels(),
    policy=policies(),
    body=st.none() | text(65536),
    priority=st.none() | st.sampled_from(["low", "normal", "high", "critical"]),
)


def manifest(fleet: Fleet, spec: Spec) -> Object:
    entries: list[Object] = []
    for channel in spec.channels:
        entry: Object = {"name": channel.name, "type": channel.kind}
        if channel.kind == "file":
            folder = fleet.files if channel.writable else fleet.files / "missing"
            entry["file"] = {"directory": str(folder)}
        elif channel.kind == "webhook":
            entry["webhook"] = {"url": fleet.hook_url(spec.name, channel.name) + channel.query}
            if channel.timeout:
                entry["webhook"]["timeout"] = channel.timeout
        entries.append(entry)
    body: Object = {"subject": spec.subject, "channels": entries, "retryPolicy": spec.policy}
    if spec.body is not None:
        body["body"] = spec.body
    if spec.priority is not None:
        body["priority"] = spec.priority
    return fleet.manifest(spec.name, body)


def answer(script: list[dict[str, Any]], attempt: int) -> int:
    """The status the sink gives the ``attempt``-th request (see ``Script`` in the recording sink)."""
    remaining = attempt - 1
    for step in script:
        times = step.get("times")
        if times is None or remaining < times:
            return int(step["status"])
        remaining -= times
    return int(script[-1]["status"])


def predict(channel: Channel, max_attempts: int) -> tuple[bool, int]:
    """Whether the channel ends delivered, and after how many attempts."""
    if channel.kind == "console" or (channel.kind == "file" and channel.writable):
        return True, 1
    if channel.kind == "file" or channel.hangs:
        return False, max_attempts
    for attempt in range(1, max_attempts + 1):
        status = answer(channel.script, attempt)
        if answered_ok(status):
            return True, attempt
        if status in PERMANENT:
            return False, attempt
    return False, max_attempts


def judge(
    fleet: Fleet, controller: Controller, files: dict[tuple[str, str], Object], spec: Spec, obj: Object
) -> list[str]:
    problems = check_status(obj)
    maximum = spec.policy.get("maxAttempts", 5)
    printed = [
        e["attempt"] for _, e in controller.console if e["notification"] == f"{fleet.namespace}/{spec.name}"
    ]
    for channel in spec.channels:
        label = f"{spec.name}/{channel.name}"
        mine = records_of(obj, channel.name)
        expected = predict(channel, maximum)
        if (delivered(obj, channel.name), len(mine)) != expected:
            problems.append(
                f"{label}: (delivered, attempts) = {delivered(obj, channel.name), len(mine)}, "
                f"expected {expected} from {channel}"
            )
        if channel.kind == "webhook":
            arrivals = fleet.sink.records(fleet.hook_path(spec.name, channel.name))
            if channel.hangs:
                if len(arrivals) > len(mine):
                    problems.append(f"{label}: {len(arrivals)} requests for {len(mine)} attempts")
            else:
                problems += check_sink(
                    obj, channel.name, arrivals, fleet.uids[spec.name], fleet.created[spec.name], kills=[]
                ).problems
        elif channel.kind == "file" and channel.writable:
            written = files.get((f"{fleet.namespace}/{spec.name}", channel.name))
            if written is None or (written["attempt"], written["subject"]) != (1, spec.subject):
                problems.append(f"{label}: its file holds {written}")
    consoles = sum(1 for c in spec.channels if c.kind == "console")
    if len(printed) != consoles:
        problems.append(f"{spec.name}: {len(printed)} console lines for {consoles} console channels")
    return problems


@pytest.mark.timeout(900)  # only a failing run, while hypothesis shrinks the batch, takes this long
@pytest.mark.long
def test_generated_valid_specs_reach_their_terminal_phase(
    local_cluster: LocalControlPlane,
    notification_crds: client.ApiClient,
    sink: SinkClient,
    tmp_path_factory: pytest.TempPathFactory,
) -> None:
    runs: list[int] = []

    @settings(
        max_examples=BATCHES,
        deadline=None,
        database=None,
        phases=[Phase.generate, Phase.shrink],
        suppress_health_check=[
            HealthCheck.too_slow,
            HealthCheck.data_too_large,
            HealthCheck.large_base_example,
        ],
    )
    @given(batch=st.lists(SPECS, min_size=BATCH_SIZE, max_size=BATCH_SIZE, unique_by=lambda s: s.name))
    def run_batch(batch: list[Spec]) -> None:
        started = time.monotonic()
        workdir = tmp_path_factory.mktemp("batch")
        fleet = Fleet(notification_crds, sink, workdir).open()
        controller = Controller(
            controller_argv(local_cluster.kubeconfig_path, fleet.namespace, workdir), workdir
        ).start()
        try:
            for spec in batch:
                for channel in spec.channels:
                    if channel.kind == "webhook":
                        sink.script(fleet.hook_path(spec.name, channel.name), channel.script)
            try:
                fleet.create(manifest(fleet, spec) for spec in batch)
            except ApiException as err:
                pytest.fail(f"the API server refused a generated spec, a bug in the generator: {err.body}")
            final = fleet.wait_terminal(TERMINAL_TIMEOUT)
            alive = controller.running()
        finally:
            controller.stop()
            fleet.close()
        files = written_files(fleet.files)
        problems = [p for spec in batch for p in judge(fleet, controller, files, spec, final[spec.name])]
        assert alive, "the controller exited"
        assert not controller.tracebacks(), controller.tracebacks()[:3]
        assert not problems, "\n".join(problems)
        runs.append(len(batch))
        print(f"batch of {len(batch)}: {time.monotonic() - started:.1f}s")

    run_batch()
    attempts = sum(runs)
    print(f"\nproperty: {attempts} generated specs in {len(runs)} batches, all accepted and terminal")
    assert attempts >= 200
