from __future__ import annotations

import re
import shutil
from pathlib import Path

import pytest

from conformance.binding.binding import Binding, BindingError

REFERENCE = Path(__file__).resolve().parents[2] / "fixtures" / "bindings" / "reference"

STATUS = {
    "status": {
        "phase": "PartiallySent",
        "totalAttempts": 2,
        "deliveryAttempts": [
            {"channel": "c", "attempt": 1, "timestamp": "2026-01-01T00:00:00.250000Z", "outcome": "Success"},
            {"channel": "f", "attempt": 1, "timestamp": "2026-01-01T00:00:00.500000Z", "outcome": "Failure"},
        ],
    }
}


def render_reference() -> dict[str, object]:
    return Binding.load(REFERENCE).render(
        name="n",
        namespace="ns",
        subject="s [ns]",
        body="b",
        channels=[
            {"name": "c", "type": "console"},
            {"name": "f", "type": "file", "directory": "/tmp/x"},
            {"name": "w", "type": "webhook", "url": "http://127.0.0.1:1/hooks/a", "timeout": "5s"},
        ],
        retry={
            "maxAttempts": 4,
            "initialBackoff": "1s",
            "backoffMultiplier": 2,
            "maxBackoff": "2s",
            "jitterPercent": 0,
        },
    )


def test_reference_renders_a_notification() -> None:
    manifest = render_reference()
    assert manifest["apiVersion"] == "notifications.conformance.dev/v1alpha1"
    spec = manifest["spec"]
    assert isinstance(spec, dict)
    assert [c["type"] for c in spec["channels"]] == ["console", "file", "webhook"]
    assert spec["channels"][2]["webhook"]["url"] == "http://127.0.0.1:1/hooks/a"


def test_reference_reads_attempts_and_phase() -> None:
    binding = Binding.load(REFERENCE)
    attempts = binding.attempts(STATUS)
    assert [(a.channel, a.number, a.outcome) for a in attempts] == [("c", 1, "success"), ("f", 1, "failure")]
    assert attempts[1].time - attempts[0].time == pytest.approx(0.25)
    assert binding.phase(STATUS) == "PartiallySent"
    assert binding.total_attempts(STATUS) == 2
    assert binding.precision == pytest.approx(1e-6)


def test_an_attempt_missing_a_field_is_named() -> None:
    broken = {"status": {"deliveryAttempts": [{"channel": "c", "attempt": 1, "outcome": "Success"}]}}
    with pytest.raises(BindingError, match="has no timestamp"):
        Binding.load(REFERENCE).attempts(broken)


def copy_reference(tmp_path: Path) -> Path:
    """A copy laid out like fixtures/, so the binding's relative CRD path resolves."""
    copy = tmp_path / "bindings" / "reference"
    shutil.copytree(REFERENCE, copy)
    shutil.copytree(REFERENCE.parent.parent / "crds", tmp_path / "crds")
    return copy


@pytest.mark.parametrize(
    ("edit", "message"),
    [
        (lambda text: text.replace("plural: notificationrequests\n", ""), "lacks the field 'plural'"),
        (lambda text: text.replace("template: notification.yaml.j2", "template: nope.j2"), "nope.j2"),
        (lambda text: text.replace("  Failed: Failed\n", ""), "must map its phases"),
        (lambda text: text.replace("../../crds/", "../../missing/"), "does not exist"),
        (
            lambda text: text.replace("  attempts: status.deliveryAttempts\n", ""),
            "lacks the field 'status.attempts'",
        ),
        (lambda text: text.replace("    time: timestamp\n", ""), "lacks the field 'status.attempt.time'"),
        (
            lambda text: text.replace("idempotency-key]", "idempotency-keys]"),
            "unknown feature 'idempotency-keys'",
        ),
        (lambda text: text.replace("features: [core, ", "features: ["), "must claim the core feature"),
        (lambda text: text.replace("  Failure: failure\n", ""), "must map its outcomes"),
        (lambda text: text.replace("timestampPrecision: 1us", "timestampPrecision: 1"), "needs a unit"),
        (lambda text: text + "jitter: 10\n", "needs a percent sign"),
        (lambda text: text + "jitter: [\n", "is not valid YAML"),
    ],
)
def test_a_wrong_binding_gets_one_sentence(tmp_path: Path, edit: object, message: str) -> None:
    copy = copy_reference(tmp_path)
    assert Binding.load(copy).name == "reference"
    path = copy / "binding.yaml"
    path.write_text(edit(path.read_text()))  # type: ignore[operator]
    with pytest.raises(BindingError, match=message):
        Binding.load(copy)


def test_a_template_that_renders_something_else(tmp_path: Path) -> None:
    copy = copy_reference(tmp_path)
    (copy / "notification.yaml.j2").write_text("kind: ConfigMap\n")
    with pytest.raises(
        BindingError, match=re.escape("not a notifications.conformance.dev/v1alpha1 NotificationRequest")
    ):
        Binding.load(copy).render(name="n", namespace="ns", subject="s", body="", channels=[], retry={})


ALERTING = REFERENCE.parent / "alerting"
RETRY = {
    "maxAttempts": 4,
    "initialBackoff": "1500ms",
    "backoffMultiplier": 1.5,
    "maxBackoff": "4s",
    "jitterPercent": 0,
}


def test_alerting_renders_its_own_field_names_and_units() -> None:
    manifest = Binding.load(ALERTING).render(
        name="n",
        namespace="ns",
        subject="s [ns]",
        body="b",
        channels=[
            {"name": "c", "type": "console"},
            {"name": "f", "type": "file", "directory": "/tmp/x"},
            {"name": "w", "type": "webhook", "url": "http://127.0.0.1:1/hooks/a", "timeout": "2.5s"},
        ],
        retry=RETRY,
    )
    assert manifest["apiVersion"] == "alerting.example.io/v1beta1"
    spec = manifest["spec"]
    assert spec["receivers"] == [
        {"id": "c", "kind": "stdout"},
        {"id": "f", "kind": "file", "path": "/tmp/x"},
        {"id": "w", "kind": "http", "endpoint": "http://127.0.0.1:1/hooks/a", "timeoutMillis": 2500},
    ]
    assert spec["delivery"] == {
        "attempts": 4,
        "backoff": {"baseMillis": 1500, "factor": 1.5, "ceilingMillis": 4000},
    }


ALERT = {
    "status": {
        "state": "Degraded",
        "tryCount": 2,
        "finishedAt": "2026-01-01T00:00:03Z",
        "history": [
            {"receiver": "c", "try": 1, "at": "2026-01-01T00:00:00Z", "result": "ok"},
            {"receiver": "f", "try": 1, "at": "2026-01-01T00:00:01Z", "result": "error", "message": "EROFS"},
        ],
    }
}


def test_alerting_reads_whole_second_attempts_phases_and_jitter() -> None:
    binding = Binding.load(ALERTING)
    attempts = binding.attempts(ALERT)
    assert [(a.channel, a.number, a.outcome) for a in attempts] == [("c", 1, "success"), ("f", 1, "failure")]
    assert attempts[1].time - attempts[0].time == 1.0
    assert binding.phase(ALERT) == "PartiallySent"
    assert binding.total_attempts(ALERT) == 2
    assert binding.completion_time(ALERT) == attempts[0].time + 3
    assert binding.precision == 1.0
    assert binding.jitter == pytest.approx(0.1)
    assert binding.features == ("core", "idempotency-key")
    assert binding.exposed == {"totalAttempts", "observedGeneration", "completionTime"}
    assert binding.declarations() == {
        "path": str(ALERTING),
        "name": "alerting",
        "apiVersion": "alerting.example.io/v1beta1",
        "kind": "Alert",
        "timestampPrecisionSeconds": 1.0,
        "jitter": pytest.approx(0.1),
        "features": ["core", "idempotency-key"],
    }
    binding.check(ALERT)


def test_a_declared_jitter_replaces_the_scenarios() -> None:
    from conformance.scenarios.model import RetryPolicy, Scenario

    scenario = Scenario("s", "", (), RetryPolicy.from_dict(RETRY), "Sent", ("core",), "test")
    assert Binding.load(ALERTING).adapt(scenario).retry_policy.jitter == pytest.approx(0.1)
    assert Binding.load(REFERENCE).adapt(scenario) is scenario


@pytest.mark.parametrize(
    ("status", "message"),
    [
        ({"state": "Backoff", "tryCount": 1}, None),
        ({"observedGeneration": 1}, None),
        (
            {
                "phase": "Delivered",
                "history": [{"receiver": "c", "try": 1, "at": "2026-01-01T00:00:00Z", "result": "ok"}],
            },
            "the status records attempts, but its phase path status.state resolves to nothing",
        ),
        ({"state": "Delivered", "attempts": []}, "attempts path status.history resolves to nothing"),
        ({"state": "Done", "history": []}, "the phase 'Done', which neither phases nor progressingPhases"),
        (
            {
                "state": "Backoff",
                "history": [{"receiver": "c", "try": 1, "at": "2026-01-01T00:00:00Z", "result": "OK"}],
            },
            "has the outcome 'OK', which the binding's outcomes do not name",
        ),
        (
            {"state": "Backoff", "history": [{"receiver": "c", "try": 1, "at": "yesterday", "result": "ok"}]},
            "has the time 'yesterday', which is not an RFC 3339 timestamp",
        ),
    ],
)
def test_a_status_that_does_not_fit_the_binding_is_one_sentence(
    status: dict[str, object], message: str | None
) -> None:
    binding = Binding.load(ALERTING)
    binding.check({"metadata": {}})  # nothing written yet: nothing to judge
    if message is None:
        binding.check({"status": status})
        return
    with pytest.raises(BindingError, match=re.escape(message)):
        binding.check({"status": status})


def test_a_phase_path_that_never_resolves_is_named_when_no_terminal_phase_came() -> None:
    binding = Binding.load(ALERTING)
    binding.check_never_terminal(None)
    binding.check_never_terminal({"metadata": {}})
    binding.check_never_terminal({"status": {"state": "Backoff"}})
    with pytest.raises(
        BindingError, match=re.escape("its phase path status.state never resolved to a phase")
    ):
        binding.check_never_terminal({"status": {"phase": "Delivered"}})


@pytest.mark.parametrize(
    ("template", "message"),
    [
        ("kind: [\n", "does not render YAML: "),
        ("- a list\n", "does not render a mapping but list"),
        ("apiVersion: v1\nkind: {{ nope }}\n", "failed to render: 'nope' is undefined"),
        ("x: {{ '90' | milliseconds }}\n", "failed to render: '90' is not a duration"),
    ],
)
def test_a_template_that_renders_no_object_is_one_sentence(
    tmp_path: Path, template: str, message: str
) -> None:
    copy = copy_reference(tmp_path)
    (copy / "notification.yaml.j2").write_text(template)
    with pytest.raises(BindingError, match=re.escape(message)):
        Binding.load(copy).render(name="n", namespace="ns", subject="s", body="", channels=[], retry={})
