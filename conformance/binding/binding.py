"""A binding maps the suite's scenarios onto one controller's API: how to render a
notification, where its attempts and phase live in status, how they are spelled,
how precise its timestamps are, what jitter it applies, and what it claims.
``docs/bindings.md`` describes the format; ``fixtures/bindings/`` holds examples.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

import jinja2
import yaml

from conformance.contract import durations
from conformance.contract.requirements import FEATURES
from conformance.scenarios.model import Scenario

SUITE_PHASES = ("Sent", "PartiallySent", "Failed")
SUITE_OUTCOMES = ("success", "failure")
ATTEMPT_FIELDS = ("channel", "number", "time", "outcome")


class BindingError(ValueError):
    """The binding is wrong; the message says where in one sentence."""


@dataclass(frozen=True)
class ObservedAttempt:
    channel: str
    number: int
    time: float
    outcome: str
    raw_time: str


def _lookup(obj: Any, path: str) -> Any:
    for part in path.split("."):
        if not isinstance(obj, dict) or part not in obj:
            return None
        obj = obj[part]
    return obj


def _parse_time(text: str) -> float:
    return datetime.fromisoformat(text.replace("Z", "+00:00")).timestamp()


def _percent(text: Any) -> float:
    """``"10%"`` as 0.1; the unit is required, as for durations."""
    value = str(text).strip()
    if not value.endswith("%"):
        raise ValueError(f"jitter {text!r} needs a percent sign, for example '10%'")
    fraction = float(value[:-1]) / 100
    if not 0 <= fraction < 1:
        raise ValueError(f"jitter {text!r} must be at least 0% and below 100%")
    return fraction


def _seconds(text: str) -> float:
    """Template filter: a scenario's duration ("1500ms") in seconds."""
    return durations.parse(text)


def _milliseconds(text: str) -> int:
    """Template filter: a scenario's duration ("1.5s") in whole milliseconds."""
    return round(durations.parse(text) * 1000)


def _environment(directory: Path) -> jinja2.Environment:
    environment = jinja2.Environment(
        loader=jinja2.FileSystemLoader(directory),
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    environment.filters["seconds"] = _seconds
    environment.filters["milliseconds"] = _milliseconds
    return environment


def _yaml_problem(err: yaml.YAMLError) -> str:
    if isinstance(err, yaml.MarkedYAMLError) and err.problem_mark is not None:
        return f"{err.problem} at line {err.problem_mark.line + 1}"
    return str(err).splitlines()[0]


@dataclass(frozen=True)
class Binding:
    name: str
    directory: Path
    group: str
    version: str
    kind: str
    plural: str
    crds: tuple[Path, ...]
    template: jinja2.Template
    status: dict[str, Any]
    phases: dict[str, str]
    outcomes: dict[str, str]
    precision: float
    features: tuple[str, ...]
    jitter: float | None = None
    """The implementation's own jitter (a fraction), used instead of the scenario's."""
    progressing: tuple[str, ...] | None = None
    """The non-terminal phases it writes; when given, any other phase is a binding error."""

    @classmethod
    def load(cls, directory: Path) -> Binding:
        if not directory.exists():
            raise BindingError(f"Binding {directory} does not exist; give a folder that holds binding.yaml.")
        path = directory / "binding.yaml" if directory.is_dir() else directory
        try:
            data = yaml.safe_load(path.read_text())
        except OSError as err:
            raise BindingError(f"Cannot read binding {path}: {err.strerror or err}.") from err
        except yaml.YAMLError as err:
            raise BindingError(f"Binding {path} is not valid YAML: {_yaml_problem(err)}.") from err
        if not isinstance(data, dict):
            raise BindingError(f"Binding {path} must be a mapping of fields such as group, kind and status.")
        try:
            status = data["status"]
            for key in ("phase", "attempts", "attempt"):
                if key not in status:
                    raise KeyError(f"status.{key}")
            for key in ATTEMPT_FIELDS:
                if key not in status["attempt"]:
                    raise KeyError(f"status.attempt.{key}")
            binding = cls(
                name=str(data["name"]),
                directory=path.parent,
                group=str(data["group"]),
                version=str(data["version"]),
                kind=str(data["kind"]),
                plural=str(data["plural"]),
                crds=tuple((path.parent / c).resolve() for c in data.get("crds", [])),
                template=_environment(path.parent).get_template(data["template"]),
                status=status,
                phases={str(k): str(v) for k, v in data["phases"].items()},
                outcomes={str(k): str(v) for k, v in data["outcomes"].items()},
                precision=durations.parse(data.get("timestampPrecision", "1us")),
                features=tuple(data.get("features", ["core"])),
                jitter=_percent(data["jitter"]) if data.get("jitter") is not None else None,
                progressing=(
                    tuple(str(p) for p in data["progressingPhases"]) if "progressingPhases" in data else None
                ),
            )
        except KeyError as err:
            raise BindingError(f"Binding {path} lacks the field {err.args[0]!r}.") from err
        except jinja2.TemplateNotFound as err:
            raise BindingError(f"Binding {path} names a template that does not exist: {err.name}.") from err
        except jinja2.TemplateSyntaxError as err:
            raise BindingError(
                f"Binding {path}'s template {err.name} has a syntax error at line {err.lineno}: "
                f"{err.message}."
            ) from err
        except (jinja2.TemplateError, ValueError, TypeError, AttributeError) as err:
            raise BindingError(f"Binding {path} is invalid: {err}.") from err
        binding.validate(path)
        return binding

    def validate(self, path: Path) -> None:
        if set(self.phases.values()) != set(SUITE_PHASES):
            raise BindingError(f"Binding {path} must map its phases onto each of {', '.join(SUITE_PHASES)}.")
        if set(self.outcomes.values()) != set(SUITE_OUTCOMES):
            raise BindingError(f"Binding {path} must map its outcomes onto each of success, failure.")
        unknown = [f for f in self.features if f not in FEATURES]
        if unknown:
            raise BindingError(
                f"Binding {path} claims the unknown feature {unknown[0]!r}; "
                f"use some of {', '.join(FEATURES)}."
            )
        if "core" not in self.features:
            raise BindingError(f"Binding {path} must claim the core feature.")
        for crd in self.crds:
            if not crd.is_file():
                raise BindingError(f"Binding {path} names a CRD file that does not exist: {crd}.")

    def declarations(self) -> dict[str, Any]:
        """What the binding declares that changes how the suite judges, for the report."""
        return {
            "path": str(self.directory),
            "name": self.name,
            "apiVersion": f"{self.group}/{self.version}",
            "kind": self.kind,
            "timestampPrecisionSeconds": self.precision,
            "jitter": self.jitter,
            "features": list(self.features),
        }

    def adapt(self, scenario: Scenario) -> Scenario:
        """The scenario as this implementation runs it: with its own jitter, if it declares one."""
        if self.jitter is None:
            return scenario
        policy = dataclasses.replace(scenario.retry_policy, jitter=self.jitter)
        return dataclasses.replace(scenario, retry_policy=policy)

    def render(self, **context: Any) -> dict[str, Any]:
        """The notification manifest for a scenario, as a dict."""
        values = dict(group=self.group, version=self.version, kind=self.kind, **context)
        where = f"Binding {self.name}'s template {self.template.name}"
        try:
            text = self.template.render(**values)
        except jinja2.TemplateError as err:
            raise BindingError(f"{where} failed to render: {err}.") from err
        except ValueError as err:  # a filter given something that is not a duration
            raise BindingError(f"{where} failed to render: {err}.") from err
        try:
            manifest = yaml.safe_load(text)
        except yaml.YAMLError as err:
            raise BindingError(f"{where} does not render YAML: {_yaml_problem(err)}.") from err
        if not isinstance(manifest, dict):
            raise BindingError(f"{where} does not render a mapping but {type(manifest).__name__}.")
        if manifest.get("kind") != self.kind or manifest.get("apiVersion") != f"{self.group}/{self.version}":
            raise BindingError(
                f"{where} renders a {manifest.get('apiVersion')} {manifest.get('kind')}, "
                f"not a {self.group}/{self.version} {self.kind}."
            )
        return manifest

    def phase(self, obj: dict[str, Any]) -> str | None:
        """The suite's name for the object's phase when terminal, else the raw phase."""
        raw = _lookup(obj, self.status["phase"])
        return self.phases.get(str(raw), str(raw)) if raw is not None else None

    def check(self, obj: dict[str, Any]) -> None:
        """Say in one sentence when a written status does not fit the binding's paths and spellings."""
        if not obj.get("status"):
            return  # nothing written yet
        raw = _lookup(obj, self.status["phase"])
        if raw is None:
            if self.attempts(obj):  # an early write (say, conditions only) need not have a phase yet
                raise BindingError(
                    f"Binding {self.name}: the status records attempts, but its phase path "
                    f"{self.status['phase']} resolves to nothing."
                )
            return
        if self.progressing is not None and raw not in self.phases and raw not in self.progressing:
            raise BindingError(
                f"Binding {self.name}: the controller wrote the phase {raw!r}, which neither phases "
                "nor progressingPhases name."
            )
        if raw in self.phases and _lookup(obj, self.status["attempts"]) is None:
            raise BindingError(
                f"Binding {self.name}: the object reached the phase {raw!r}, but its attempts path "
                f"{self.status['attempts']} resolves to nothing."
            )
        self.attempts(obj)

    def check_never_terminal(self, obj: dict[str, Any] | None) -> None:
        """No terminal phase came: was it because the phase path never resolved, though status was written?"""
        if obj and obj.get("status") and _lookup(obj, self.status["phase"]) is None:
            raise BindingError(
                f"Binding {self.name}: the controller wrote status, but its phase path "
                f"{self.status['phase']} never resolved to a phase."
            )

    @property
    def exposed(self) -> set[str]:
        """The optional status fields this binding maps."""
        return {
            f
            for f in ("totalAttempts", "observedGeneration", "completionTime", "conditions")
            if f in self.status
        }

    def _optional(self, obj: dict[str, Any], field: str) -> Any:
        path = self.status.get(field)
        return _lookup(obj, path) if path else None

    def total_attempts(self, obj: dict[str, Any]) -> int | None:
        value = self._optional(obj, "totalAttempts")
        return int(value) if value is not None else None

    def observed_generation(self, obj: dict[str, Any]) -> int | None:
        value = self._optional(obj, "observedGeneration")
        return int(value) if value is not None else None

    def completion_time(self, obj: dict[str, Any]) -> float | None:
        value = self._optional(obj, "completionTime")
        return _parse_time(str(value)) if value else None

    def ready(self, obj: dict[str, Any]) -> str | None:
        """The Ready condition's status, or None when absent or not exposed by the binding."""
        conditions = self._optional(obj, "conditions") or []
        wanted = self.status.get("readyCondition", "Ready")
        return next((str(c.get("status")) for c in conditions if c.get("type") == wanted), None)

    def attempts(self, obj: dict[str, Any]) -> list[ObservedAttempt]:
        where = self.status["attempts"]
        items = _lookup(obj, where) or []
        if not isinstance(items, list):
            raise BindingError(f"Binding {self.name}: {where} is not a list.")
        fields = self.status["attempt"]
        result = []
        for item in items:
            values = {key: _lookup(item, path) for key, path in fields.items()}
            missing = [fields[key] for key, value in values.items() if value is None]
            if missing:
                raise BindingError(f"Binding {self.name}: an attempt in {where} has no {missing[0]}.")
            outcome = str(values["outcome"])
            if outcome not in self.outcomes:
                raise BindingError(
                    f"Binding {self.name}: an attempt in {where} has the outcome {outcome!r}, "
                    f"which the binding's outcomes do not name."
                )
            try:
                when = _parse_time(str(values["time"]))
            except ValueError as err:
                raise BindingError(
                    f"Binding {self.name}: an attempt in {where} has the time {values['time']!r}, "
                    "which is not an RFC 3339 timestamp."
                ) from err
            result.append(
                ObservedAttempt(
                    channel=str(values["channel"]),
                    number=int(values["number"]),
                    time=when,
                    outcome=self.outcomes[outcome],
                    raw_time=str(values["time"]),
                )
            )
        return result
