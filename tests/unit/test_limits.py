"""A binding's limits: parsed with one-sentence errors, read by type, sampled at both ends, refusals
counted."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import yaml
from kubernetes.client.exceptions import ApiException

from conformance.binding import preflight, refusal
from conformance.binding.binding import Binding, BindingError
from conformance.scenarios.limits import Bound, Limits
from conformance.scenarios.load import load
from tests.e2e.conftest import REPO
from tests.unit import limits_data

REFERENCE = REPO / "fixtures" / "bindings" / "reference"
SCENARIOS = {s.name: s for s in load([REPO / "fixtures" / "scenarios"])}


def binding_with(tmp_path: Path, limits: Any) -> Path:
    data = yaml.safe_load((REFERENCE / "binding.yaml").read_text())
    data |= {"limits": limits, "crds": [], "template": "notification.yaml.j2"}
    (tmp_path / "binding.yaml").write_text(yaml.safe_dump(data))
    (tmp_path / "notification.yaml.j2").write_text((REFERENCE / "notification.yaml.j2").read_text())
    return tmp_path


def test_the_strict_section_parses_with_its_defaults_filled_in() -> None:
    limits = Limits.from_dict(
        {
            "durations": "seconds",
            "retryPolicy": {
                "maxBackoff": {"min": "60s", "max": "1h"},
                "backoffMultiplier": {"min": 1, "max": 10, "integer": True},
            },
            "channelTypes": ["console", "file"],
            "channelIdentity": "type",
        }
    )
    assert limits.granularity == 1.0
    assert limits.bound("maxBackoff") == Bound(60.0, 3600.0)
    assert limits.bound("backoffMultiplier") == Bound(1.0, 10.0, integer=True)
    assert limits.bound("maxAttempts") == Bound()
    assert limits.channel_types == {"console": "console", "file": "file"}
    assert Limits.from_dict(None) == Limits()
    assert Limits().channel_types == {"console": "console", "file": "file", "webhook": "webhook"}


@pytest.mark.parametrize(
    ("limits", "sentence"),
    [
        ({"durations": "minutes"}, "limits.durations is 'minutes'; use one of go, seconds, milliseconds."),
        (
            {"retryPolicy": {"maxBackoff": {"min": "2h", "max": "1h"}}},
            "limits.retryPolicy.maxBackoff has min '2h' above max '1h'.",
        ),
        (
            {"retryPolicy": {"initialBackoff": {"min": 1}}},
            "limits.retryPolicy.initialBackoff.min: duration 1 needs a unit, for example '1s'.",
        ),
        (
            {"retryPolicy": {"maxAttempts": {"min": "one"}}},
            "limits.retryPolicy.maxAttempts.min is 'one', not a number.",
        ),
        (
            {"retryPolicy": {"maxAttempts": {"integer": True}}},
            "limits.retryPolicy.maxAttempts has the unknown field 'integer'; use some of max, min.",
        ),
        (
            {"retryPolicy": {"timeout": {}}},
            "limits.retryPolicy has the unknown field 'timeout'; use some of backoffMultiplier, "
            "initialBackoff, jitterPercent, maxAttempts, maxBackoff.",
        ),
        ({"channelTypes": ["sms"]}, "limits.channelTypes names 'sms'; use some of console, file, webhook."),
        ({"channelIdentity": "index"}, "limits.channelIdentity is 'index'; use name or type."),
        (
            {"durations": "seconds", "granularity": "1500ms"},
            "limits.granularity '1500ms' must be a positive whole number of seconds.",
        ),
        ({"delays": {}}, "limits has the unknown field 'delays'; use some of"),
        ("seconds", "limits must be a mapping of fields such as durations and retryPolicy."),
    ],
)
def test_a_wrong_limits_section_is_one_sentence(tmp_path: Path, limits: Any, sentence: str) -> None:
    with pytest.raises(BindingError) as caught:
        Binding.load(binding_with(tmp_path, limits))
    message = str(caught.value)
    assert message.startswith(f"Binding {tmp_path / 'binding.yaml'} is invalid: ")
    assert sentence.rstrip(".") in message and message.endswith(".") and message.count(". ") == 0, message


def test_attempt_records_named_by_type_are_read_as_the_scenarios_channels(tmp_path: Path) -> None:
    binding = Binding.load(
        binding_with(
            tmp_path, {"channelTypes": {"console": "stdout", "file": "file"}, "channelIdentity": "type"}
        )
    )
    reader = binding.for_scenario(SCENARIOS["readonly-file"])
    obj = {
        "status": {
            "phase": "Retrying",
            "deliveryAttempts": [
                {
                    "channel": "stdout",
                    "attempt": 1,
                    "timestamp": "2026-01-01T00:00:00.5Z",
                    "outcome": "Success",
                },
                {
                    "channel": "file",
                    "attempt": 1,
                    "timestamp": "2026-01-01T00:00:00.5Z",
                    "outcome": "Failure",
                },
                {
                    "channel": "webhook",
                    "attempt": 1,
                    "timestamp": "2026-01-01T00:00:00.5Z",
                    "outcome": "Failure",
                },
            ],
        }
    }
    assert [a.channel for a in reader.attempts(obj)] == ["console", "archive", "webhook"]
    by_name = Binding.load(REFERENCE)
    assert by_name.for_scenario(SCENARIOS["readonly-file"]) is by_name


def test_the_duration_filters_refuse_what_is_not_whole_in_their_unit(tmp_path: Path) -> None:
    directory = binding_with(tmp_path, {})
    (directory / "notification.yaml.j2").write_text(
        (REFERENCE / "notification.yaml.j2")
        .read_text()
        .replace(
            "initialBackoff: {{ retry.initialBackoff | tojson }}",
            "initialBackoff: {{ retry.initialBackoff | seconds }}",
        )
    )
    binding = Binding.load(directory)
    policy = {**SCENARIOS["readonly-file"].retry_policy.written}
    context: dict[str, Any] = {"name": "n", "namespace": "ns", "subject": "s", "body": "", "channels": []}
    assert binding.render(**context, retry=policy)["spec"]["retryPolicy"]["initialBackoff"] == 1
    with pytest.raises(BindingError) as caught:
        binding.render(**context, retry={**policy, "initialBackoff": "1500ms"})
    assert str(caught.value) == (
        "Binding reference's template notification.yaml.j2 failed to render: "
        "'1500ms' is not a whole number of seconds."
    )


def test_the_preflight_samples_both_ends_of_the_declared_limits_and_only_the_declared_channel_types(
    tmp_path: Path,
) -> None:
    limits = {
        "durations": "seconds",
        "retryPolicy": limits_data.STRICT_RETRY,
        "webhookTimeout": {"min": "2s", "max": "30s"},
        "channelTypes": ["console", "webhook"],
    }
    low, high = preflight.samples(Binding.load(binding_with(tmp_path, limits)), "ns")
    assert low["spec"]["retryPolicy"] == {
        "maxAttempts": 1,
        "initialBackoff": "1s",
        "backoffMultiplier": 1,
        "maxBackoff": "60s",
        "jitterPercent": 0,
    }
    assert high["spec"]["retryPolicy"] == {
        "maxAttempts": 20,
        "initialBackoff": "3600s",
        "backoffMultiplier": 10,
        "maxBackoff": "3600s",
        "jitterPercent": 0,
    }
    assert [c["type"] for c in low["spec"]["channels"]] == ["console", "webhook"]
    assert [
        c["webhook"]["timeout"] for s in (low, high) for c in s["spec"]["channels"] if "webhook" in c
    ] == [
        "2s",
        "30s",
    ]
    unbounded = preflight.sample_policy(Limits(), high=False)[0]
    assert unbounded == {
        "maxAttempts": 3,
        "initialBackoff": "1s",
        "backoffMultiplier": 2,
        "maxBackoff": "2s",
        "jitterPercent": 0,
    }


def refused(causes: list[dict[str, str]]) -> ApiException:
    err = ApiException(status=422, reason="Unprocessable Entity")
    err.body = json.dumps({"kind": "Status", "message": "the whole story", "details": {"causes": causes}})
    err.headers = {"Audit-Id": "0f3c"}
    return err


def test_a_refusal_names_the_field_the_rendered_value_and_the_reason_counting_distinct_problems() -> None:
    manifest = {"spec": {"channels": [{"name": "a", "type": "sms"}], "retryPolicy": {"maxBackoff": "2s"}}}
    cause = {"field": "spec.retryPolicy.maxBackoff", "message": "must be at least 60s."}
    err = refused([cause, cause, {"field": "spec.channels[0].type", "message": 'Unsupported value: "sms"'}])
    assert refusal.reason(err, manifest) == (
        'spec.retryPolicy.maxBackoff: rendered as "2s": must be at least 60s (and 1 more problem)'
    )
    three = refused([cause, {"field": "spec.a", "message": "x"}, {"field": "spec.b", "message": "y"}])
    assert refusal.reason(three).endswith("(and 2 more problems)")
    assert refusal.reason(refused([])) == "the whole story"
    not_json = ApiException(status=500, reason="Internal Server Error")
    assert refusal.reason(not_json) == "HTTP 500 Internal Server Error"


def test_a_refused_scenario_is_one_sentence_of_the_binding_without_headers() -> None:
    binding = Binding.load(REFERENCE)
    err = refused(
        [{"field": "spec.retryPolicy.maxAttempts", "message": "Invalid value: 15: must be at most 10"}]
    )
    sentence = refusal.scenario_refusal(binding, "long-schedule", err, {})
    assert sentence == (
        "Binding reference's limits declare scenario 'long-schedule' expressible, but the API server "
        "refuses the NotificationRequest its template renders for it: spec.retryPolicy.maxAttempts: "
        "Invalid value: 15: must be at most 10."
    )
    assert "Audit-Id" not in sentence and "\n" not in sentence


def test_the_first_applicable_scenario_is_rendered_as_fitted_beside_the_samples(tmp_path: Path) -> None:
    limits = {"retryPolicy": limits_data.STRICT_RETRY, "channelTypes": ["console", "file"]}
    binding = Binding.load(binding_with(tmp_path, limits))
    *_, rendered = preflight.samples(binding, "ns", SCENARIOS["readonly-file"])
    assert rendered["spec"]["retryPolicy"]["initialBackoff"] == "30s"
    assert [c["name"] for c in rendered["spec"]["channels"]] == ["console", "archive"]
