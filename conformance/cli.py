"""``notification-conformance``: the one command for running, certifying and reporting.

Everything it does is also a pytest option (``pytest conformance/suite --nc-...``);
this command picks the defaults a user would, and writes all three reports.
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path
from typing import Any

from conformance.environment.settings import LAUNCH, OPTIONS, OUTPUT, TIMING, WHERE

REPORT_DIR = next(option for option in OPTIONS if option.name == "report-dir")

SUITE = Path(__file__).resolve().parent / "suite"

DESCRIPTION = """\
Check a Kubernetes notification controller against the notification-conformance
contract, on a local kube-apiserver + etcd started for the run or on a cluster you
already have, and write what happened to reports a person and a CI system can read:

  REPORT_DIR/conformance-report.yaml   the machine-readable report (validated against its schema)
  REPORT_DIR/conformance-report.html   a page with each scenario's timeline against its allowed windows
  REPORT_DIR/junit.xml                 JUnit XML, including failures of set-up and clean-up
  REPORT_DIR/controller.log            what the controller under test printed
"""

EPILOG = """\
examples:
  notification-conformance run
  notification-conformance run --controller-cmd "./bin/manager --kubeconfig {kubeconfig}" -k backoff
  notification-conformance run --cluster existing --kubeconfig ~/.kube/config --controller-cmd ""
  notification-conformance certify --implementation implementation.yaml --implementation-version v1.2.0 \\
      --controller-cmd "./bin/manager --kubeconfig {kubeconfig}" --binding my-binding/
  notification-conformance cluster up --detach
  notification-conformance report reports/conformance-report.yaml

Run '%(prog)s COMMAND --help' for a command's options.
"""

RUN_EPILOG = """\
Arguments the command does not know are passed to pytest, for example
  -k readonly-file       run the scenarios whose name matches
  -m "not disruptive"    leave out tests by marker
  -x                     stop at the first failure
  --nc-keep-on-failure   keep a failed scenario's namespace and objects

The controller command may use {kubeconfig}, {context}, {python} and {workdir} (the
run's work folder, below which file channels write); an empty one means the
controller is already running. Exit status is pytest's: 0 when every
test passed, 1 when a test failed, 4 when the run could not be set up.
"""

CERTIFY_EPILOG = """\
A certification runs every core test exactly once with the default tolerances
(epsilon 50ms, slack 750ms) against a described implementation. It refuses,
with one sentence and before starting anything:
  re-runs (--reruns, --count, --lf, --ff, --sw), stopping early (-x, --maxfail),
  leaving tests out (-k, -m, --deselect, node ids, scenario files without the core
  scenarios), loosened tolerances, and an implementation without organization,
  project, url, version or contact.

The implementation file is YAML:
  organization: Example Corp
  project: example-notifier
  url: https://example.com/notifier
  version: v1.2.0          # a tag or a commit; --implementation-version overrides it
  contact: platform-team@example.com
"""

REPORT_EPILOG = """\
examples:
  notification-conformance report reports/conformance-report.yaml            # check, write the HTML beside it
  notification-conformance report reports/conformance-report.yaml --check    # check only
  notification-conformance report run.yaml --html /tmp/run.html
"""


class _Formatter(argparse.RawDescriptionHelpFormatter):
    def __init__(self, prog: str) -> None:
        super().__init__(prog, max_help_position=32, width=100)


def _suite_options(parser: argparse.ArgumentParser, certify: bool) -> None:
    """The command's flags for the suite's options (``conformance.environment.settings``)."""
    offered = [(o, o.flag) for o in OPTIONS if o.flag is not None and (o.flag.certify or not certify)]
    used = {flag.group for _, flag in offered} | {OUTPUT}
    groups = {
        name: parser.add_argument_group(name) for name in (WHERE, LAUNCH, OUTPUT, TIMING) if name in used
    }
    for option, flag in offered:
        extra: dict[str, Any] = {"choices": list(flag.choices)} if flag.choices else {"metavar": flag.metavar}
        if flag.required_to_certify and certify:
            extra["required"] = True
        groups[flag.group].add_argument(f"--{option.name}", dest=option.dest, help=flag.help, **extra)
    groups[OUTPUT].add_argument(
        "-n",
        "--workers",
        metavar="N",
        default="0",
        help="pytest-xdist workers; scenarios run concurrently without any, in the process that "
        "sets the run up (default: 0)",
    )


def parser() -> argparse.ArgumentParser:
    main = argparse.ArgumentParser(
        prog="notification-conformance",
        description=DESCRIPTION,
        epilog=EPILOG,
        formatter_class=_Formatter,
    )
    commands = main.add_subparsers(title="commands", dest="command", metavar="COMMAND", required=True)
    run = commands.add_parser(
        "run",
        help="run the suite; arguments it does not know go to pytest (-k, -m, -x, ...)",
        description="Run the conformance suite against a controller and write the reports.",
        epilog=RUN_EPILOG,
        formatter_class=_Formatter,
        allow_abbrev=False,
    )
    _suite_options(run, certify=False)
    certify = commands.add_parser(
        "certify",
        help="run the suite in certification mode: every core test once, default tolerances",
        description="Certify a controller: the whole suite, once, with the default tolerances, "
        "and a report that names the implementation.",
        epilog=CERTIFY_EPILOG,
        formatter_class=_Formatter,
        allow_abbrev=False,
    )
    _suite_options(certify, certify=True)
    cluster = commands.add_parser(
        "cluster",
        help="start or stop a local kube-apiserver + etcd on its own (up, down)",
        description="A local kube-apiserver + etcd on its own, for kubectl and for running a controller "
        "by hand. 'up' runs until Ctrl-C, or in the background with --detach; 'down' stops it.",
        formatter_class=_Formatter,
    )
    cluster.add_argument("action", choices=["up", "down"], help="up or down")
    cluster.add_argument("--kubeconfig", metavar="FILE", help="where 'up' writes the kubeconfig")
    cluster.add_argument("--detach", action="store_true", help="'up' leaves it running in the background")
    cluster.add_argument("--name", metavar="NAME", help="name of a detached cluster (default: default)")
    report = commands.add_parser(
        "report",
        help="check a conformance report against its schema and render its HTML page again",
        description="Check a conformance report against its schema and render its HTML page again.",
        epilog=REPORT_EPILOG,
        formatter_class=_Formatter,
    )
    report.add_argument("path", type=Path, metavar="REPORT", help="a conformance-report.yaml")
    report.add_argument(
        "--html", type=Path, metavar="FILE", help="where to write the page (default: beside it)"
    )
    report.add_argument("--check", action="store_true", help="only check the report; write nothing")
    return main


def pytest_args(args: argparse.Namespace, extra: list[str]) -> list[str]:
    """The pytest command line a ``run`` or ``certify`` stands for."""
    report_dir = Path(args.nc_report_dir or str(REPORT_DIR.default))
    argv = [str(SUITE), "-n", str(args.workers), f"--junitxml={report_dir / 'junit.xml'}"]
    argv.append(f"--nc-report-dir={report_dir}")
    for option in OPTIONS:
        value = getattr(args, option.dest, None)
        if option is not REPORT_DIR and value is not None:
            argv.append(f"--nc-{option.name}={value}")
    if args.command == "certify":
        argv.append("--nc-certify")
    return argv + extra


def cluster_args(args: argparse.Namespace) -> list[str]:
    argv = [args.action]
    if args.action == "up" and args.kubeconfig:
        argv += ["--kubeconfig", args.kubeconfig]
    if args.action == "up" and args.detach:
        argv.append("--detach")
    if args.name:
        argv += ["--name", args.name]
    return argv


def _report(args: argparse.Namespace) -> int:
    from conformance.reports import document, html_page

    try:
        data = document.load(args.path)
    except document.ReportError as err:
        print(f"error: {err}", file=sys.stderr)
        return 1
    print(f"{args.path}: a valid conformance report, result {data['result']}")
    if not args.check:
        html = args.html or args.path.with_name(html_page.FILENAME)
        html.parent.mkdir(parents=True, exist_ok=True)
        html.write_text(html_page.render(data))
        print(f"wrote {html}")
    return 0


def main(argv: list[str] | None = None) -> int:
    args, extra = parser().parse_known_args(argv)
    if args.command in ("run", "certify"):
        # pytest in a process of its own, so that it imports the suite's modules itself and can
        # rewrite their asserts (this process has imported the package already)
        os.execv(sys.executable, [sys.executable, "-m", "pytest", *pytest_args(args, extra)])
    if extra:
        parser().error(f"unrecognized arguments: {' '.join(extra)}")
    if args.command == "cluster":
        from clusters.__main__ import main as clusters_main

        return clusters_main(cluster_args(args))
    return _report(args)


if __name__ == "__main__":
    sys.exit(main())
