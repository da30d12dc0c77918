from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from conformance.binding import Binding, BindingError

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
    with pytest.raises(BindingError, match="does not render a NotificationRequest"):
        Binding.load(copy).render(name="n", namespace="ns", subject="s", body="", channels=[], retry={})
