"""Launch options that cannot work are refused in one sentence before anything starts."""

from __future__ import annotations

import os
import re
import sys

import pytest

from conformance.environment import launch


@pytest.mark.parametrize(
    ("options", "message"),
    [
        (("cmd", None, "restart", ""), "are for a controller the suite does not launch"),
        (("cmd", None, "", "ns/app=x"), "are for a controller the suite does not launch"),
        (("", "nobody", "", ""), "--nc-controller-user needs --nc-controller-cmd"),
        (("", None, "restart", "ns/app=x"), "not both"),
    ],
)
def test_options_that_would_do_nothing_are_refused(
    options: tuple[str, str | None, str, str], message: str
) -> None:
    with pytest.raises(launch.LaunchError, match=message):
        launch.check_options(*options)


@pytest.mark.parametrize(
    "options", [("cmd", "nobody", "", ""), ("", None, "r", ""), ("", None, "", "n/a=b"), ("", None, "", "")]
)
def test_options_that_fit_a_mode_are_accepted(options: tuple[str, str | None, str, str]) -> None:
    launch.check_options(*options)


@pytest.mark.parametrize(
    ("commands", "message"),
    [
        (("{python} -m x --token {token}", ""), "of --nc-controller-cmd is invalid: 'token'"),
        (("no-such-program {kubeconfig}", ""), "The command ['no-such-program'] of --nc-controller-cmd"),
        (("", "{python} restart.py {namespace}"), "of --nc-controller-restart-cmd is invalid: 'namespace'"),
    ],
)
def test_commands_that_cannot_run_are_refused_before_any_cluster_starts(
    commands: tuple[str, str], message: str
) -> None:
    with pytest.raises(launch.LaunchError, match=re.escape(message)):
        launch.check_commands(*commands)
    launch.check_commands("{python} -m x --kubeconfig {kubeconfig} --namespace {namespace} {workdir}", "")


def test_commands_are_filled_in_and_checked() -> None:
    values = {"kubeconfig": "/tmp/a b/kubeconfig", "python": sys.executable}
    assert launch.command("{python} -m x --kubeconfig {kubeconfig}", values) == [
        sys.executable,
        "-m",
        "x",
        "--kubeconfig",
        "/tmp/a b/kubeconfig",
    ]
    with pytest.raises(launch.LaunchError, match=r"it may use \{kubeconfig\}, \{python\}"):
        launch.command("{python} {nope}", values, "--nc-controller-restart-cmd")
    with pytest.raises(
        launch.LaunchError, match=r"The command \['no-such-restarter'\] of --nc-controller-restart-cmd"
    ):
        launch.command("no-such-restarter now", values, "--nc-controller-restart-cmd")


def test_pod_selectors_need_a_namespace_and_labels() -> None:
    assert launch.PodSelector.parse("notifications/app=nc,tier=x") == launch.PodSelector(
        "notifications", "app=nc,tier=x"
    )
    for wrong in ("app=nc", "ns/", "/app=nc"):
        with pytest.raises(launch.LaunchError, match="must be NAMESPACE/LABELSELECTOR"):
            launch.PodSelector.parse(wrong)


def test_users_must_exist_and_not_be_root() -> None:
    with pytest.raises(launch.LaunchError, match="There is no user 'no-such-user-x'"):
        launch.ControllerUser.resolve("no-such-user-x")
    if os.geteuid() == 0:
        with pytest.raises(launch.LaunchError, match="is root"):
            launch.ControllerUser.resolve("root")
    else:
        with pytest.raises(launch.LaunchError, match="needs the suite to run as root"):
            launch.ControllerUser.resolve("root")


def test_a_failing_restart_command_says_how_it_failed() -> None:
    restart = launch.restart_command([sys.executable, "-c", "import sys; print('no such unit'); sys.exit(3)"])
    with pytest.raises(launch.LaunchError, match="failed with exit code 3: no such unit"):
        restart()
    assert launch.restart_command([sys.executable, "-c", "pass"])() == 0
