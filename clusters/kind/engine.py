"""A Docker engine for one command: the one that answers, or a ``dockerd`` of the run's own.

``python -m clusters.kind.engine run -- COMMAND...`` runs COMMAND with ``DOCKER_HOST`` set to an
engine. When the docker client already reaches one (a CI runner's, a developer's), that one is
used and left alone. Otherwise Debian's ``dockerd`` is started with a socket, exec root and
pidfile of its own in a fresh folder, and its data root in the cache (built images survive the
run, so the second run builds nothing); when COMMAND ends, fails or is interrupted, the
containers and networks it left, the engine, and the iptables chains the engine added are
removed again, and the FORWARD policy and IPv4 forwarding it changed are put back.
"""

from __future__ import annotations

import argparse
import fcntl
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from types import FrameType

from clusters.base import ClusterError
from clusters.kind.images import kube
from clusters.local import assets
from clusters.processes import own_session, parent_death_signal

START_TIMEOUT = 60.0
STOP_TIMEOUT = 30.0
INTERRUPT_GRACE = 120.0
"""Seconds an interrupted COMMAND may take to clean up (kind deletes its cluster)."""
KIND_LABEL = "io.x-k8s.kind.cluster"
DOCKER_CHAINS = {
    "filter": ("DOCKER", "DOCKER-ISOLATION-STAGE-1", "DOCKER-ISOLATION-STAGE-2", "DOCKER-USER"),
    "nat": ("DOCKER",),
}
"""The chains dockerd adds at start and leaves behind at exit (removed if the run added them)."""


def _log(message: str) -> None:
    print(f"[engine] {message}", file=sys.stderr, flush=True)


def data_root() -> Path:
    return assets.cache_root() / "docker"


def answers(env: dict[str, str] | None = None) -> bool:
    """Whether the docker client reaches an engine (with ``env``'s DOCKER_HOST)."""
    if shutil.which("docker") is None:
        return False
    completed = subprocess.run(
        ["docker", "version", "--format", "{{.Server.Version}}"],
        env=env,
        stdin=subprocess.DEVNULL,
        capture_output=True,
        check=False,
        timeout=20,
    )
    return completed.returncode == 0


def _chains(table: str) -> set[str]:
    listing = subprocess.run(
        ["iptables", "-t", table, "-S"], capture_output=True, text=True, check=False
    ).stdout
    return {line.split()[1] for line in listing.splitlines() if line.startswith("-N ")}


def _policy(table: str, chain: str) -> str | None:
    """The built-in chain's policy (dockerd sets FORWARD's to DROP)."""
    listing = subprocess.run(
        ["iptables", "-t", table, "-S", chain], capture_output=True, text=True, check=False
    ).stdout
    first = listing.splitlines()[:1]
    return first[0].split()[2] if first and first[0].startswith("-P ") else None


def remove_chains(table: str, chains: set[str]) -> None:
    """Delete ``chains`` of ``table``, and first every rule that jumps to them."""
    if not chains:
        return
    rules = subprocess.run(
        ["iptables", "-t", table, "-S"], capture_output=True, text=True, check=False
    ).stdout
    for rule in rules.splitlines():
        words = rule.split()
        if words[:1] == ["-A"] and "-j" in words and words[words.index("-j") + 1] in chains:
            subprocess.run(["iptables", "-t", table, "-D", *words[1:]], capture_output=True, check=False)
    for chain in chains:
        subprocess.run(["iptables", "-t", table, "-F", chain], capture_output=True, check=False)
    for chain in chains:
        subprocess.run(["iptables", "-t", table, "-X", chain], capture_output=True, check=False)


def _mounts_below(folder: Path) -> list[str]:
    """Mount points inside ``folder``, deepest first."""
    points = [line.split()[1] for line in Path("/proc/self/mounts").read_text().splitlines()]
    return sorted((p for p in points if p.startswith(f"{folder}/")), key=len, reverse=True)


class OwnEngine:
    """A dockerd of the run's own; ``stop()`` leaves the machine as ``start()`` found it."""

    def __init__(self) -> None:
        self.folder = Path(tempfile.mkdtemp(prefix="nc-docker-"))
        self.socket = self.folder / "docker.sock"
        self.env = dict(os.environ, DOCKER_HOST=f"unix://{self.socket}")
        self.process: subprocess.Popen[bytes] | None = None
        self._lock: int | None = None
        self._chains_before = {table: _chains(table) for table in DOCKER_CHAINS}
        self._forwarding = Path("/proc/sys/net/ipv4/ip_forward").read_text().strip()
        self._forward_policy = _policy("filter", "FORWARD")

    def start(self) -> None:
        if shutil.which("dockerd") is None:
            raise ClusterError(
                "No Docker engine answers and dockerd is not installed; run 'make docker-engine' "
                "(Debian's docker.io) or point DOCKER_HOST at an engine."
            )
        root = data_root()
        root.mkdir(parents=True, exist_ok=True)
        lock = os.open(root.with_name("docker.lock"), os.O_CREAT | os.O_RDWR, 0o600)
        try:
            fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError as err:
            os.close(lock)
            raise ClusterError(f"Another run's Docker engine uses {root}; wait for it to finish.") from err
        self._lock = lock
        log = (self.folder / "dockerd.log").open("wb")
        self.process = subprocess.Popen(
            [
                "dockerd",
                f"--host=unix://{self.socket}",
                f"--data-root={root}",
                f"--exec-root={self.folder / 'exec'}",
                f"--pidfile={self.folder / 'docker.pid'}",
                # No default bridge: the builds run without a network, and kind makes its own.
                "--bridge=none",
                # A privileged container (a kind node) gets only the capabilities this machine has.
                f"--add-runtime=capfilter={kube.ensure_capfilter(_log)}",
                "--default-runtime=capfilter",
                "--log-level=warn",
            ],
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
            # Told to stop if this process dies before stop() runs (killed on a test's timeout).
            preexec_fn=own_session(signal.SIGTERM),
        )
        log.close()
        deadline = time.monotonic() + START_TIMEOUT
        while not answers(self.env):
            if self.process.poll() is not None or time.monotonic() > deadline:
                tail = (self.folder / "dockerd.log").read_text(errors="replace").strip().splitlines()[-1:]
                raise ClusterError(f"dockerd did not start: {tail[0] if tail else 'no output'}.")
            time.sleep(0.2)

    def _docker(self, *args: str) -> str:
        return subprocess.run(
            ["docker", *args], env=self.env, capture_output=True, text=True, check=False
        ).stdout

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            containers = self._docker("ps", "-aq", "--filter", f"label={KIND_LABEL}").split()
            if containers:
                self._docker("rm", "--force", "--volumes", *containers)
            networks = self._docker("network", "ls", "-q", "--filter", "type=custom").split()
            if networks:
                self._docker("network", "rm", *networks)
            self.process.terminate()
            try:
                self.process.wait(STOP_TIMEOUT)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait()
        self.process = None
        if self._lock is not None:  # this run's engine ran: undo what it changed
            self._restore_network()
        for mount in _mounts_below(self.folder):  # dockerd leaves its netns/default bind mount
            subprocess.run(["umount", "--lazy", mount], capture_output=True, check=False)
        subprocess.run(["rm", "-rf", "--one-file-system", str(self.folder)], check=False)
        if self._lock is not None:
            os.close(self._lock)
            self._lock = None

    def _restore_network(self) -> None:
        for table, chains in DOCKER_CHAINS.items():
            remove_chains(table, set(chains) & (_chains(table) - self._chains_before[table]))
        if self._forward_policy and _policy("filter", "FORWARD") != self._forward_policy:
            subprocess.run(
                ["iptables", "-P", "FORWARD", self._forward_policy], capture_output=True, check=False
            )
        Path("/proc/sys/net/ipv4/ip_forward").write_text(self._forwarding + "\n")


@contextmanager
def engine() -> Iterator[dict[str, str]]:
    """The environment for docker commands: as it is when an engine answers, else an own engine's."""
    if answers():
        yield dict(os.environ)
        return
    own = OwnEngine()
    try:
        own.start()
        yield own.env
    finally:
        own.stop()


def _interrupted(signum: int, frame: FrameType | None) -> None:
    raise KeyboardInterrupt


def _interruptible() -> None:
    """A ``preexec_fn``: COMMAND stops on SIGINT, as at a terminal, even when this run was started
    with SIGINT ignored (a background job of a shell without job control); it gets SIGTERM when
    the run dies."""
    signal.signal(signal.SIGINT, signal.SIG_DFL)
    parent_death_signal(signal.SIGTERM)()


def run(command: list[str]) -> int:
    """COMMAND's exit status; the engine goes away also when COMMAND fails or is interrupted,
    after COMMAND itself has stopped (it may still be deleting its cluster). A COMMAND that does
    not stop on SIGINT within INTERRUPT_GRACE gets SIGTERM, then SIGKILL."""
    signal.signal(signal.SIGTERM, _interrupted)
    try:
        with engine() as env:
            child = subprocess.Popen(command, env=env, preexec_fn=_interruptible)
            try:
                return child.wait()
            except KeyboardInterrupt:
                _stop(child)
                return 130
    except KeyboardInterrupt:
        return 130


def _stop(child: subprocess.Popen[bytes]) -> None:
    for stop, grace in ((signal.SIGINT, INTERRUPT_GRACE), (signal.SIGTERM, STOP_TIMEOUT)):
        if child.poll() is not None:
            return
        child.send_signal(stop)
        try:
            child.wait(grace)
            return
        except subprocess.TimeoutExpired:
            pass
    child.kill()
    child.wait()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m clusters.kind.engine", description=__doc__)
    parser.add_argument("action", choices=["run"])
    parser.add_argument("command", nargs=argparse.REMAINDER, help="-- COMMAND [ARGS...]")
    args = parser.parse_args(argv)
    command = args.command[1:] if args.command[:1] == ["--"] else args.command
    if not command:
        parser.error("give the command to run after --")
    try:
        return run(command)
    except (ClusterError, OSError) as err:
        print(f"error: {err}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
