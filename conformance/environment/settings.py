"""The suite's options, in one table. The pytest options and ini keys
(``conformance.plugin``), the ``notification-conformance`` command's flags
(``conformance.cli``) and the run's ``Settings`` all come from it, and a unit test
holds the README's option table to it: adding an option is one row here.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from conformance.contract import durations
from conformance.contract.tolerances import Tolerances

PACKAGE_ROOT = Path(__file__).resolve().parents[2]
DEFAULT_BINDING = PACKAGE_ROOT / "fixtures" / "bindings" / "reference"
DEFAULT_SCENARIOS = PACKAGE_ROOT / "fixtures" / "scenarios"
DEFAULT_CONTROLLER = (
    "{python} -m reference_controller --kubeconfig {kubeconfig} --namespace {namespace} "
    "--file-root {workdir} --metrics-bind-address 0"
)

WHERE, LAUNCH, OUTPUT, TIMING = (
    "where and what to test",
    "how the controller runs",
    "implementation and reports",
    "timing (loosening either makes the run no certification)",
)
"""The command's groups of flags, in the order its help shows them."""


@dataclass(frozen=True)
class Flag:
    """How the ``run`` and ``certify`` commands offer an option."""

    group: str
    help: str
    metavar: str = ""
    certify: bool = True
    """Offered by ``certify`` too; a certification cannot change the others."""
    required_to_certify: bool = False
    choices: tuple[str, ...] = ()


@dataclass(frozen=True)
class Option:
    name: str
    """``--nc-NAME`` for pytest, ini key ``nc_NAME`` (dashes as underscores), ``--NAME`` for the command."""
    help: str
    default: str | None = None
    switch: bool = False
    """An on/off pytest flag, with no value and no ini key."""
    ini: bool = True
    flag: Flag | None = None
    """How the command offers it; None: pytest only."""

    @property
    def dest(self) -> str:
        return "nc_" + self.name.replace("-", "_")


OPTIONS: tuple[Option, ...] = (
    Option(
        "controller-cmd",
        "command that runs the controller under test; may use {kubeconfig}, {context}, {python}, "
        "{workdir} (the run's work folder, below which file channels write) and {namespace} (the "
        "namespaces to watch, comma-separated: with it, each disruptive scenario gets an instance "
        "of its own); empty when the controller is already running",
        DEFAULT_CONTROLLER,
        flag=Flag(
            WHERE, "command that runs the controller under test (default: the reference controller)", "CMD"
        ),
    ),
    Option(
        "binding",
        "binding folder that maps scenarios onto the controller's API",
        str(DEFAULT_BINDING),
        flag=Flag(WHERE, "binding folder mapping scenarios onto your API (default: reference)", "DIR"),
    ),
    Option(
        "cluster",
        "where to run: 'local' (kube-apiserver + etcd started for the run), 'existing', or 'kind' "
        "(a kind cluster with the reference controller deployed in it; see make conformance-kind)",
        "local",
        flag=Flag(
            WHERE,
            "'local' (default) starts kube-apiserver + etcd; 'kind' a kind cluster with the reference "
            "controller deployed",
            choices=("local", "existing", "kind"),
        ),
    ),
    Option(
        "kubeconfig",
        "kubeconfig for --nc-cluster=existing (default: $KUBECONFIG or ~/.kube/config)",
        flag=Flag(WHERE, "kubeconfig for --cluster existing", "FILE"),
    ),
    Option(
        "context",
        "kubeconfig context for --nc-cluster=existing",
        flag=Flag(WHERE, "kubeconfig context for --cluster existing", "NAME"),
    ),
    Option(
        "controller-user",
        "run the controller command as this unprivileged user, e.g. nobody (the suite must be root)",
        flag=Flag(LAUNCH, "run the controller command as this unprivileged user", "USER"),
    ),
    Option(
        "controller-rbac",
        "ServiceAccount and RBAC manifests (files or folders, comma-separated, e.g. deploy): the suite "
        "applies them and gives the controller command a {kubeconfig} for that ServiceAccount only",
        "",
        flag=Flag(
            LAUNCH,
            "ServiceAccount and RBAC manifests; the controller gets a kubeconfig for that account only",
            "PATHS",
        ),
    ),
    Option(
        "controller-restart-cmd",
        "with an external controller: command that restarts it and returns once it is back, "
        "for disruptive tests; may use {kubeconfig}, {context} and {python}",
        "",
        flag=Flag(LAUNCH, "with an external controller: how disruptive tests restart it", "CMD"),
    ),
    Option(
        "controller-pod-selector",
        "with an external controller in the cluster: NAMESPACE/LABELSELECTOR of its pods; disruptive "
        "tests delete them and wait for a new Ready one",
        "",
        flag=Flag(
            LAUNCH,
            "with an in-cluster controller: disruptive tests delete these pods and wait for a new one",
            "NS/LABELS",
        ),
    ),
    Option(
        "sink-address",
        "address the recording sink listens on and gives the controller (default 127.0.0.1, or one "
        "the cluster's pods reach)",
        flag=Flag(LAUNCH, "where the recording sink listens (default 127.0.0.1)", "ADDRESS"),
    ),
    Option(
        "scenarios",
        "scenario files or folders (YAML + jinja2), separated by commas",
        str(DEFAULT_SCENARIOS),
        flag=Flag(WHERE, "scenario files or folders, comma-separated", "PATHS", certify=False),
    ),
    Option(
        "epsilon",
        "measurement error forgiven below a gap's lower bound, e.g. 50ms",
        "50ms",
        flag=Flag(TIMING, "forgiven below a lower bound (default 50ms)", "DURATION", certify=False),
    ),
    Option(
        "slack",
        "latency allowed above a gap's upper bound, e.g. 750ms",
        "750ms",
        flag=Flag(TIMING, "allowed above an upper bound (default 750ms)", "DURATION", certify=False),
    ),
    Option(
        "implementation",
        "YAML file describing the controller under test: organization, project, url, version, contact",
        flag=Flag(
            OUTPUT,
            "YAML describing the implementation: organization, project, url, version, contact",
            "FILE",
            required_to_certify=True,
        ),
    ),
    Option(
        "implementation-version",
        "the implementation's version (a tag or commit); overrides the implementation file's",
        ini=False,
        flag=Flag(OUTPUT, "its version, a tag or a commit (overrides the file)", "VERSION"),
    ),
    Option(
        "report-dir",
        "folder for the conformance report",
        "reports",
        flag=Flag(OUTPUT, "where the reports go (default: reports)", "DIR"),
    ),
    Option(
        "keep-on-failure",
        "keep a failed scenario's namespace and objects (a local cluster still goes at the end)",
        switch=True,
    ),
    Option(
        "certify",
        "certification mode: every core test once, default tolerances, a described implementation; "
        "refuses re-runs, subsets and loosened bounds",
        switch=True,
    ),
)


class SettingsError(ValueError):
    """An option's value is unusable; the message is one sentence that names the option."""


@dataclass
class Settings:
    cluster: str
    kubeconfig: Path | None
    kube_context: str | None
    binding: Path
    controller_cmd: str
    tolerances: Tolerances
    keep_on_failure: bool = False
    controller_rbac: tuple[Path, ...] = ()
    sink_address: str | None = None
    controller_user: str | None = None
    restart_cmd: str = ""
    pod_selector: str = ""


def _duration(value: Callable[[str], Any], name: str) -> float:
    try:
        return durations.parse(value(name))
    except ValueError as err:
        raise SettingsError(f"--nc-{name}: {err}.") from err


def paths(text: str) -> list[Path]:
    """A comma-separated option's paths."""
    return [Path(p.strip()) for p in str(text).split(",") if p.strip()]


def settings(value: Callable[[str], Any]) -> Settings:
    """The run's settings from ``value(name)``, each option's value or its default."""
    kubeconfig = value("kubeconfig")
    return Settings(
        cluster=value("cluster"),
        kubeconfig=Path(kubeconfig) if kubeconfig else None,
        kube_context=value("context"),
        binding=Path(value("binding")),
        controller_cmd=value("controller-cmd").strip(),
        tolerances=Tolerances(epsilon=_duration(value, "epsilon"), slack=_duration(value, "slack")),
        keep_on_failure=value("keep-on-failure"),
        controller_rbac=tuple(paths(value("controller-rbac"))),
        sink_address=value("sink-address"),
        controller_user=value("controller-user") or None,
        restart_cmd=str(value("controller-restart-cmd")).strip(),
        pod_selector=str(value("controller-pod-selector")).strip(),
    )
