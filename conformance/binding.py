"""A binding maps the suite's scenarios onto one controller's API: how to render a
notification, where its attempts and phase live in status, how they are spelled,
and what the implementation claims. Read ``fixtures/bindings/reference`` first.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import jinja2
import yaml

from conformance import durations

SUITE_PHASES = ("Sent", "PartiallySent", "Failed")


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
    from datetime import datetime

    return datetime.fromisoformat(text.replace("Z", "+00:00")).timestamp()


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

    @classmethod
    def load(cls, directory: Path) -> Binding:
        if not directory.exists():
            raise BindingError(f"Binding {directory} does not exist; give a folder that holds binding.yaml.")
        path = directory / "binding.yaml" if directory.is_dir() else directory
        try:
            data = yaml.safe_load(path.read_text())
        except (OSError, yaml.YAMLError) as err:
            raise BindingError(f"Cannot read binding {path}: {err}") from err
        try:
            environment = jinja2.Environment(
                loader=jinja2.FileSystemLoader(path.parent),
                undefined=jinja2.StrictUndefined,
                trim_blocks=True,
                lstrip_blocks=True,
            )
            binding = cls(
                name=data["name"],
                directory=path.parent,
                group=data["group"],
                version=data["version"],
                kind=data["kind"],
                plural=data["plural"],
                crds=tuple((path.parent / c).resolve() for c in data.get("crds", [])),
                template=environment.get_template(data["template"]),
                status=data["status"],
                phases=data["phases"],
                outcomes=data["outcomes"],
                precision=durations.parse(data.get("timestampPrecision", "1us")),
                features=tuple(data.get("features", ["core"])),
            )
        except KeyError as err:
            raise BindingError(f"Binding {path} lacks the field {err.args[0]!r}.") from err
        except (jinja2.TemplateError, ValueError, TypeError) as err:
            raise BindingError(f"Binding {path} is invalid: {err}") from err
        if set(binding.phases.values()) != set(SUITE_PHASES):
            raise BindingError(f"Binding {path} must map its phases onto each of {', '.join(SUITE_PHASES)}.")
        for crd in binding.crds:
            if not crd.is_file():
                raise BindingError(f"Binding {path} names a CRD file that does not exist: {crd}.")
        return binding

    def render(self, **context: Any) -> dict[str, Any]:
        """The notification manifest for a scenario, as a dict."""
        values = dict(group=self.group, version=self.version, kind=self.kind, **context)
        try:
            manifest = yaml.safe_load(self.template.render(**values))
        except (jinja2.TemplateError, yaml.YAMLError) as err:
            raise BindingError(f"Binding {self.name}'s template failed to render: {err}") from err
        if not isinstance(manifest, dict) or manifest.get("kind") != self.kind:
            raise BindingError(f"Binding {self.name}'s template does not render a {self.kind}.")
        return manifest

    def phase(self, obj: dict[str, Any]) -> str | None:
        """The suite's name for the object's phase when terminal, else the raw phase."""
        raw = _lookup(obj, self.status["phase"])
        return self.phases.get(raw, raw) if raw is not None else None

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
        items = _lookup(obj, self.status["attempts"]) or []
        if not isinstance(items, list):
            raise BindingError(f"Binding {self.name}: {self.status['attempts']} is not a list.")
        fields = self.status["attempt"]
        result = []
        for item in items:
            values = {key: _lookup(item, path) for key, path in fields.items()}
            missing = [fields[key] for key, value in values.items() if value is None]
            if missing:
                raise BindingError(
                    f"Binding {self.name}: an attempt in {self.status['attempts']} has no {missing[0]}."
                )
            result.append(
                ObservedAttempt(
                    channel=str(values["channel"]),
                    number=int(values["number"]),
                    time=_parse_time(str(values["time"])),
                    outcome=self.outcomes.get(str(values["outcome"]), str(values["outcome"])),
                    raw_time=str(values["time"]),
                )
            )
        return result
