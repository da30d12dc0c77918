"""Scenario files: YAML rendered with jinja2, one list of scenarios per file, validated
against the specification's requirements and features and cross-checked with the oracle:
the scenario's ``expect`` states in words what the oracle derives, and must agree.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import jinja2
import yaml

from conformance.contract import durations
from conformance.contract.requirements import FEATURES, REQUIREMENTS
from conformance.scenarios import oracle
from conformance.scenarios.model import (
    CHANNEL_TYPES,
    DELAY_SECONDS,
    FILE_ERRORS,
    FLAGS,
    PHASES,
    RETRY_AFTER_FORMS,
    SECRETS,
    Actions,
    ChannelSpec,
    RetryPolicy,
    Scenario,
    ScenarioError,
    SinkStep,
)

_NAME = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$")


def _channel(data: dict[str, Any]) -> ChannelSpec:
    name, kind = data.get("name"), data.get("type")
    if not isinstance(name, str) or not _NAME.match(name):
        raise ValueError(f"channel name {name!r} must be a DNS label such as 'audit-log'")
    if kind not in CHANNEL_TYPES:
        raise ValueError(f"channel {name!r} has type {kind!r}; use one of {', '.join(CHANNEL_TYPES)}")
    if kind == "file":
        file = data.get("file", {})
        writable, error = bool(file.get("writable", True)), file.get("error", FILE_ERRORS[0])
        if error not in FILE_ERRORS or ("error" in file and writable):
            choices = ", ".join(FILE_ERRORS)
            raise ValueError(
                f"channel {name!r}: file.error {error!r} needs writable: false and one of {choices}"
            )
        return ChannelSpec(name, kind, writable=writable, error=error)
    if kind == "webhook":
        hook = data.get("webhook", {})
        steps = tuple(
            SinkStep(
                status=int(step.get("status", 200)),
                times=step.get("times"),
                retry_after=step.get("retryAfter"),
                retry_after_as=_retry_after_form(name, step),
                delay=durations.parse(step["delay"]) if "delay" in step else 0.0,
                hang_up=_hangs_up(name, step),
            )
            for step in hook.get("respond", [{"status": 200}])
        )
        timeout = durations.parse(hook.get("timeout", "5s"))
        secret = hook.get("secret")
        if secret is not None and secret not in SECRETS:
            raise ValueError(
                f"channel {name!r} has webhook.secret {secret!r}; use one of {', '.join(SECRETS)}"
            )
        return ChannelSpec(name, kind, responses=steps, timeout=timeout, secret=secret)
    return ChannelSpec(name, kind)


def _hangs_up(channel: str, step: dict[str, Any]) -> bool:
    hang_up = bool(step.get("hangUp", False))
    answer = sorted({"status", "retryAfter", "retryAfterAs", "delay"} & set(step))
    if hang_up and answer:
        raise ValueError(
            f"channel {channel!r}: a step that hangs up answers nothing, so it takes no {answer[0]}"
        )
    return hang_up


def _retry_after_form(channel: str, step: dict[str, Any]) -> str:
    form = str(step.get("retryAfterAs", DELAY_SECONDS))
    if form not in RETRY_AFTER_FORMS or ("retryAfterAs" in step and "retryAfter" not in step):
        raise ValueError(
            f"channel {channel!r}: retryAfterAs {form!r} needs retryAfter and one of "
            + ", ".join(RETRY_AFTER_FORMS)
        )
    return form


def _actions(data: dict[str, Any], channels: tuple[ChannelSpec, ...]) -> Actions:
    known = ("touchEvery", "deleteAfter", "restartAfter", "companions")
    unknown = set(data) - set(known)
    if unknown:
        raise ValueError(f"unknown action {sorted(unknown)[0]!r}; use one of {', '.join(known)}")

    def after(action: str) -> tuple[str, int] | None:
        if action not in data:
            return None
        target = data[action]
        if target.get("channel") not in {c.name for c in channels}:
            raise ValueError(f"actions.{action} names no channel of this scenario: {target.get('channel')!r}")
        return (str(target["channel"]), int(target.get("attempt", 1)))

    touch = durations.parse(data["touchEvery"]) if "touchEvery" in data else None
    delay = data.get("restartAfter", {}).get("delay")
    return Actions(
        touch_every=touch,
        delete_after=after("deleteAfter"),
        restart_after=after("restartAfter"),
        restart_delay=durations.parse(delay) if delay is not None else 0.0,
        companions=int(data.get("companions", 0)),
    )


def _scenario(data: dict[str, Any], source: str) -> Scenario:
    missing = {"name", "channels", "retryPolicy", "expect", "requirements"} - set(data)
    if missing:
        raise ValueError(f"missing {', '.join(sorted(missing))}")
    channels = tuple(_channel(c) for c in data["channels"])
    names = [c.name for c in channels]
    if len(set(names)) != len(names):
        raise ValueError("channel names must be unique")
    expect = data["expect"]
    scenario = Scenario(
        name=str(data["name"]),
        description=str(data.get("description", "")).strip(),
        channels=channels,
        retry_policy=RetryPolicy.from_dict(data["retryPolicy"]),
        expected_phase=None if expect.get("deleted") else str(expect.get("phase")),
        features=tuple(data.get("features", ["core"])),
        source=source,
        requirements=tuple(data["requirements"]),
        flags=tuple(data.get("flags", [])),
        actions=_actions(data.get("actions", {}), channels),
    )
    for requirement in scenario.requirements:
        if requirement not in REQUIREMENTS:
            raise ValueError(f"requirement {requirement!r} is not in the specification")
    for feature in scenario.features:
        if feature not in FEATURES:
            raise ValueError(f"feature {feature!r} is unknown; use one of {', '.join(FEATURES)}")
    for flag in scenario.flags:
        if flag not in FLAGS:
            raise ValueError(f"flag {flag!r} is unknown; use one of {', '.join(FLAGS)}")
    if scenario.actions.restart_after and "disruptive" not in scenario.flags:
        raise ValueError("a scenario that restarts the controller must be flagged disruptive")
    if scenario.actions.delete_after:
        if scenario.expected_phase is not None:
            raise ValueError("a scenario that deletes the object expects {deleted: true}")
        return scenario
    if scenario.expected_phase not in PHASES:
        raise ValueError(f"expect.phase must be one of {', '.join(PHASES)}")
    derived = oracle.expect(scenario).phase
    if derived != scenario.expected_phase:
        raise ValueError(
            f"expect.phase is {scenario.expected_phase} but the channels as described end {derived}"
        )
    return scenario


def load_file(path: Path, context: dict[str, Any] | None = None) -> list[Scenario]:
    environment = jinja2.Environment(undefined=jinja2.StrictUndefined, keep_trailing_newline=True)
    try:
        rendered = environment.from_string(path.read_text()).render(**(context or {}))
        documents = yaml.load(rendered, Loader=yaml.CSafeLoader) or []  # libyaml: each run reads them all
    except (OSError, jinja2.TemplateError, yaml.YAMLError) as err:
        raise ScenarioError(f"{path}: {err}") from err
    if not isinstance(documents, list):
        raise ScenarioError(f"{path}: expected a list of scenarios")
    scenarios = []
    for index, data in enumerate(documents):
        label = data.get("name", f"#{index + 1}") if isinstance(data, dict) else f"#{index + 1}"
        try:
            if not isinstance(data, dict):
                raise ValueError("a scenario must be a mapping")
            scenarios.append(_scenario(data, str(path)))
        except (ValueError, KeyError, TypeError) as err:
            raise ScenarioError(f"{path}: scenario {label}: {err}") from err
    return scenarios


def load(paths: list[Path]) -> list[Scenario]:
    scenarios: list[Scenario] = []
    for path in paths:
        files = sorted(path.glob("*.yaml*")) if path.is_dir() else [path]
        for file in files:
            scenarios += load_file(file)
    seen: set[str] = set()
    for scenario in scenarios:
        if scenario.name in seen:
            raise ScenarioError(f"{scenario.source}: scenario name {scenario.name!r} is used twice")
        seen.add(scenario.name)
    return scenarios
