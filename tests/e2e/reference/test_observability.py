"""What an operator sees of the reference controller: metrics, probes, JSON logs and Events;
and webhook credentials from a Secret, which show up in none of them."""

from __future__ import annotations

import base64
import json
import secrets
import urllib.error
import urllib.request
from collections import Counter
from collections.abc import Callable
from pathlib import Path
from typing import Any

from kubernetes import client, watch
from prometheus_client.parser import text_string_to_metric_families

from conformance.observers.sink.recording import SinkClient
from tests.e2e.reference.conftest import (
    GROUP,
    PLURAL,
    TERMINAL,
    VERSION,
    Controller,
    all_in,
    notification,
    wait_notifications,
    webhook,
)

FAST = {"initialBackoff": "200ms", "maxBackoff": "1s"}


def get(url: str) -> tuple[int, str]:
    try:
        with urllib.request.urlopen(url, timeout=5) as response:
            return response.status, response.read().decode()
    except urllib.error.HTTPError as err:
        return err.code, err.read().decode()


def samples(text: str, name: str) -> dict[tuple[tuple[str, str], ...], float]:
    return {
        tuple(sorted(sample.labels.items())): sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
        if sample.name == name
    }


def test_metrics_logs_events_and_secret_credentials(
    start_controller: Callable[..., Controller],
    custom: client.CustomObjectsApi,
    api_client: client.ApiClient,
    namespace: str,
    sink: SinkClient,
    tmp_path: Path,
) -> None:
    core = client.CoreV1Api(api_client)
    token = secrets.token_urlsafe(24)
    core.create_namespaced_secret(
        namespace,
        client.V1Secret(
            metadata=client.V1ObjectMeta(name="hook-token"),
            data={"token": base64.b64encode(token.encode()).decode()},
        ),
    )
    root, outside = tmp_path / "root", tmp_path / "outside"
    (root / "ok").mkdir(parents=True)
    outside.mkdir()
    (root / "link").symlink_to(outside)

    controller = start_controller(
        "--namespace", namespace, "--metrics-bind-address", "127.0.0.1:0", "--file-root", str(root)
    )
    base = "http://" + controller.wait_log(lambda e: e["msg"] == "serving metrics and probes")["address"]
    assert get(f"{base}/healthz")[0] == 200

    sink.script(f"{namespace}/flaky", [{"status": 503, "times": 2}, {"status": 200}])
    hook = sink.hook_url
    manifests = [
        notification("plain", [webhook("hook", hook(f"{namespace}/plain"))]),
        notification("flaky", [webhook("hook", hook(f"{namespace}/flaky"))], maxAttempts=5, **FAST),
        notification(
            "authed",
            [webhook("hook", hook(f"{namespace}/authed"), secretRef={"name": "hook-token", "key": "token"})],
        ),
        notification(
            "no-secret",
            [webhook("hook", hook(f"{namespace}/no-secret"), secretRef={"name": "missing", "key": "token"})],
            maxAttempts=2,
            **FAST,
        ),
        notification(
            "no-key",
            [webhook("hook", hook(f"{namespace}/no-key"), secretRef={"name": "hook-token", "key": "other"})],
            maxAttempts=2,
            **FAST,
        ),
        notification(
            "files",
            [
                {"name": "inside", "type": "file", "file": {"directory": str(root / "ok")}},
                {"name": "escape", "type": "file", "file": {"directory": str(root / "link")}},
                {"name": "out", "type": "console"},
            ],
        ),
    ]
    for manifest in manifests:
        custom.create_namespaced_custom_object(GROUP, VERSION, namespace, PLURAL, manifest)
    latest = wait_notifications(custom, namespace, all_in(TERMINAL, len(manifests)))
    status = {name: obj["status"] for name, obj in latest.items()}
    assert get(f"{base}/readyz")[0] == 200

    # Webhook credentials: sent as a bearer token; a missing Secret or key is a clear, retryable failure.
    authed = sink.records(f"{namespace}/authed")
    assert [r["headers"].get("Authorization") for r in authed] == [f"Bearer {token}"]
    assert "Authorization" not in sink.records(f"{namespace}/plain")[0]["headers"]
    for name, message in (
        ("no-secret", f"Secret {namespace}/missing does not exist"),
        ("no-key", f"Secret {namespace}/hook-token has no key 'other'"),
    ):
        assert status[name]["phase"] == "Failed"
        assert [(a["retryable"], message in a["error"]) for a in status[name]["deliveryAttempts"]] == [
            (True, True)
        ] * 2
        assert sink.records(f"{namespace}/{name}") == []

    # The file root: the symlinked directory fails at once and for good; the other file is written.
    escape = [a for a in status["files"]["deliveryAttempts"] if a["channel"] == "escape"]
    assert len(escape) == 1 and escape[0]["retryable"] is False and "symbolic link" in escape[0]["error"]
    assert status["files"]["phase"] == "PartiallySent"
    assert list(outside.iterdir()) == [] and len(list((root / "ok").glob("*.json"))) == 1

    # Metrics agree with status: attempts by channel type and outcome, retries scheduled.
    types = {(n, c["name"]): c["type"] for n, obj in latest.items() for c in obj["spec"]["channels"]}
    expected: Counter[tuple[str, str]] = Counter()
    retries: Counter[str] = Counter()
    for name, st in status.items():
        last = {a["channel"]: a["attempt"] for a in st["deliveryAttempts"]}
        for a in st["deliveryAttempts"]:
            kind = types[(name, a["channel"])]
            outcome = (
                "success"
                if a["outcome"] == "Success"
                else "retryable_failure"
                if a["retryable"]
                else "permanent_failure"
            )
            expected[(kind, outcome)] += 1
            if a["outcome"] == "Failure" and a["attempt"] < last[a["channel"]]:
                retries[kind] += 1
    assert expected[("webhook", "success")] == sum(
        1
        for p in ("plain", "flaky", "authed")
        for r in sink.records(f"{namespace}/{p}")
        if r["status"] == 200
    )
    text = get(f"{base}/metrics")[1]
    attempts = samples(text, "notification_controller_delivery_attempts_total")
    assert {(dict(k)["channel_type"], dict(k)["outcome"]): v for k, v in attempts.items()} == expected
    scheduled = samples(text, "notification_controller_retries_scheduled_total")
    assert {dict(k)["channel_type"]: v for k, v in scheduled.items()} == retries
    assert retries["webhook"] == 2 + 1 + 1  # flaky twice; no-secret and no-key before their last attempt
    reconciles = samples(text, "notification_controller_reconcile_duration_seconds_count")
    assert reconciles[(("result", "success"),)] >= len(manifests)
    assert samples(text, "notification_controller_workqueue_depth") == {(): 0.0}
    assert samples(text, "notification_controller_leader") == {(): 1.0}

    # JSON logs: every delivery line names the notification, the channel and the attempt.
    lines = controller.wait_logs(lambda e: e["msg"] == "delivery attempt", sum(expected.values()))
    assert len(lines) == sum(expected.values())
    assert {(e["notification"], e["channel"], e["attempt"]) for e in lines} == {
        (f"{namespace}/{name}", a["channel"], a["attempt"])
        for name, st in status.items()
        for a in st["deliveryAttempts"]
    }

    # Events: one per phase change, reason = the phase, about the notification. The last one
    # is recorded after the status write the watch showed, so wait for it on a watch of Events.
    expected_reasons = {
        name: sorted([*(["Retrying"] if st["totalAttempts"] > st["channelCount"] else []), st["phase"]])
        for name, st in status.items()
    }
    events = watch_events(core, namespace, lambda seen: reasons(seen) == expected_reasons)
    for event in events:
        assert event.involved_object.kind == "NotificationRequest" and event.message.startswith(event.reason)
        assert event.involved_object.uid == latest[event.involved_object.name]["metadata"]["uid"]
        assert event.type == ("Warning" if event.reason in ("Failed", "PartiallySent") else "Normal")
    assert reasons(events) == expected_reasons

    # The credential appears in no log line, no Event and no status.
    controller.stop()  # every line it wrote has been read
    assert controller.output().count('"msg": "delivery attempt"') == sum(expected.values())
    assert token not in controller.output()
    assert token not in json.dumps([e.to_dict() for e in events], default=str)
    assert token not in json.dumps(status)


def reasons(events: list[Any]) -> dict[str, list[str]]:
    by_object: dict[str, list[str]] = {}
    for event in events:
        by_object.setdefault(event.involved_object.name, []).append(event.reason)
    return {name: sorted(found) for name, found in by_object.items()}


def watch_events(
    core: client.CoreV1Api, namespace: str, done: Callable[[list[Any]], bool], timeout: int = 30
) -> list[Any]:
    seen: dict[str, Any] = {}
    for change in watch.Watch().stream(core.list_namespaced_event, namespace, timeout_seconds=timeout):
        seen[change["object"].metadata.name] = change["object"]
        if done(list(seen.values())):
            return list(seen.values())
    raise AssertionError(f"Events in {namespace} never matched: {reasons(list(seen.values()))}")
