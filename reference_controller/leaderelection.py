"""Leader election through a coordination.k8s.io/v1 Lease, after client-go's leaderelection.

A candidate takes the Lease when it is free (no holder, or released) or when its record
has not changed for a whole lease duration, measured on this process's own clock from
the moment the record was last seen to change (so clocks of different machines never
meet). The leader renews every retry period; when it cannot renew within the renew
deadline, or finds another holder, it stops leading at once. Every write carries the
resourceVersion read, so two candidates never both win. Needs leases get, create, update.
"""

from __future__ import annotations

import json
import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from kubernetes import client
from kubernetes.client.exceptions import ApiException

from reference_controller.api import Object
from reference_controller.timefmt import format_time

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Timing:
    lease_duration: float = 15.0
    renew_deadline: float = 10.0
    retry_period: float = 2.0

    def check(self) -> None:
        if not self.lease_duration > self.renew_deadline > self.retry_period > 0:
            raise ValueError(
                "leader election needs lease duration > renew deadline > retry period > 0, got "
                f"{self.lease_duration:g}s, {self.renew_deadline:g}s, {self.retry_period:g}s"
            )


def may_take(spec: Object, identity: str, unchanged_for: float, lease_duration: float) -> bool:
    """Whether ``identity`` may write itself into a Lease whose spec is ``spec``."""
    holder = spec.get("holderIdentity") or ""
    return holder in ("", identity) or unchanged_for >= lease_duration


def claimed(spec: Object, identity: str, now: float, lease_seconds: int) -> Object:
    """The Lease spec that makes ``identity`` the holder, renewing or taking over."""
    renewing = spec.get("holderIdentity") == identity
    transitions = int(spec.get("leaseTransitions") or 0)
    return {
        "holderIdentity": identity,
        "leaseDurationSeconds": lease_seconds,
        "acquireTime": spec.get("acquireTime") if renewing else format_time(now),
        "renewTime": format_time(now),
        "leaseTransitions": transitions if renewing else transitions + 1,
    }


class LeaderElector:
    """Runs in its own thread; calls ``on_started`` and ``on_stopped`` as leadership changes."""

    def __init__(
        self,
        coordination: client.CoordinationV1Api,
        namespace: str,
        name: str,
        identity: str,
        timing: Timing,
        on_started: Callable[[], None],
        on_stopped: Callable[[], None],
    ) -> None:
        timing.check()
        self._api: Any = coordination  # Lease bodies are plain dicts, as the API spells them
        self.namespace, self.name, self.identity = namespace, name, identity
        self.timing = timing
        self._on_started, self._on_stopped = on_started, on_stopped
        self._observed: tuple[Any, ...] | None = None
        self._observed_at = 0.0
        self._leading = False
        self._lock = threading.Lock()  # one Lease write at a time: the loop's or release's
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="leader-election", daemon=True)

    @property
    def leading(self) -> bool:
        return self._leading

    def start(self) -> None:
        log.info(
            "waiting for the lease",
            extra={"lease": f"{self.namespace}/{self.name}", "identity": self.identity},
        )
        self._thread.start()

    def _run(self) -> None:
        timing = self.timing
        last_renewal = 0.0
        while not self._stop.is_set():
            with self._lock:
                if self._stop.is_set():
                    return
                won = self._try_acquire_or_renew()
                now = time.monotonic()
                if won:
                    last_renewal = now
                    if not self._leading:
                        self._set_leading(True)
                elif self._leading and (self._held_by_other() or now - last_renewal >= timing.renew_deadline):
                    self._set_leading(False)
            self._stop.wait(timing.retry_period)

    def _set_leading(self, leading: bool) -> None:
        self._leading = leading
        if leading:
            log.info(
                "became leader", extra={"lease": f"{self.namespace}/{self.name}", "identity": self.identity}
            )
            self._on_started()
        else:
            self._on_stopped()
            log.warning("lost the lease; stopped taking work", extra={"identity": self.identity})

    def _held_by_other(self) -> bool:
        return self._observed is not None and self._observed[0] not in ("", self.identity)

    def _read(self) -> Object | None:
        try:
            response = self._api.read_namespaced_lease(
                self.name, self.namespace, _preload_content=False, _request_timeout=self.timing.retry_period
            )
        except ApiException as err:
            if err.status == 404:
                return None
            raise
        lease: Object = json.loads(response.data)
        return lease

    def _try_acquire_or_renew(self) -> bool:
        now = time.time()
        seconds = max(round(self.timing.lease_duration), 1)
        try:
            lease = self._read()
            if lease is None:
                body: Object = {
                    "apiVersion": "coordination.k8s.io/v1",
                    "kind": "Lease",
                    "metadata": {"name": self.name, "namespace": self.namespace},
                    "spec": {**claimed({}, self.identity, now, seconds), "leaseTransitions": 0},
                }
                self._api.create_namespaced_lease(
                    self.namespace, body, _request_timeout=self.timing.retry_period
                )
                self._observe(body["spec"])
                return True
            spec = lease.get("spec") or {}
            self._observe(spec)
            if not may_take(
                spec, self.identity, time.monotonic() - self._observed_at, self.timing.lease_duration
            ):
                return False
            lease["spec"] = claimed(spec, self.identity, now, seconds)
            self._api.replace_namespaced_lease(
                self.name, self.namespace, lease, _request_timeout=self.timing.retry_period
            )
            self._observe(lease["spec"])
            return True
        except ApiException as err:
            if err.status not in (404, 409):
                log.warning("lease request failed", extra={"status": err.status, "reason": err.reason})
            return False
        except Exception as err:  # the API server may be away; the deadline decides
            log.warning("lease request failed", extra={"error": f"{type(err).__name__}: {err}"})
            return False

    def _observe(self, spec: Object) -> None:
        record = (spec.get("holderIdentity") or "", spec.get("renewTime"), spec.get("leaseDurationSeconds"))
        if record != self._observed:
            self._observed, self._observed_at = record, time.monotonic()

    def stop(self) -> None:
        """Stop campaigning and give the Lease up, so that a successor need not wait for it to expire."""
        with self._lock:
            self._stop.set()
            was_leading = self._leading
            self._leading = False
        self._thread.join(self.timing.retry_period + 1)
        if was_leading:
            self._release()

    def _release(self) -> None:
        try:
            lease = self._read()
            if lease is None or (lease.get("spec") or {}).get("holderIdentity") != self.identity:
                return
            now = format_time(time.time())
            lease["spec"].update(holderIdentity="", leaseDurationSeconds=1, acquireTime=now, renewTime=now)
            self._api.replace_namespaced_lease(self.name, self.namespace, lease, _request_timeout=5.0)
            log.info("released the lease", extra={"lease": f"{self.namespace}/{self.name}"})
        except Exception as err:
            log.warning("could not release the lease; it expires on its own", extra={"error": str(err)})
