"""The reference Controller's handling of a reconcile's result, as controller-runtime's
reconcileHandler: an error re-adds the key with the queue's growing backoff, success forgets
the failures and re-adds the key only after the time the reconciler asked for."""

from __future__ import annotations

import threading
from pathlib import Path

from reference_controller.channels import Channels
from reference_controller.controller import Controller
from reference_controller.fileroot import FileRoot
from reference_controller.informer import Informer
from reference_controller.metrics import Metrics
from reference_controller.reconciler import Reconciler
from reference_controller.workqueue import ExponentialFailureRateLimiter
from tests.unit.test_reconciler import unreachable_api


class NoInformer(Informer):
    """Keys come from the test, not from a watch."""

    def start(self) -> None:
        self.synced.set()

    def stop(self) -> None:
        pass


class Scripted(Reconciler):
    """Fails, fails, asks to be requeued after 50ms, then is done; records the failures the queue
    counted at each call."""

    def __init__(self, root: Path) -> None:
        super().__init__(
            unreachable_api(), channels=Channels(FileRoot(str(root)), lambda n, r: ""), metrics=Metrics()
        )
        self.script: list[float | Exception | None] = [RuntimeError("boom"), RuntimeError("boom"), 0.05, None]
        self.seen: list[int] = []
        self.controller: Controller | None = None
        self.finished = threading.Event()

    def reconcile(self, key: str) -> float | None:
        assert self.controller is not None
        self.seen.append(self.controller.queue.num_requeues(key))
        step = self.script.pop(0)
        if not self.script:
            self.finished.set()
        if isinstance(step, Exception):
            raise step
        return step


def test_errors_back_off_per_key_and_success_forgets_them(tmp_path: Path) -> None:
    reconciler = Scripted(tmp_path)
    controller = Controller(
        reconciler, NoInformer, workers=2, rate_limiter=ExponentialFailureRateLimiter(base=0.01, cap=1.0)
    )
    reconciler.controller = controller
    controller.start()
    try:
        controller.queue.add("ns/n1")
        assert reconciler.finished.wait(10)
    finally:
        assert controller.stop(5)
        reconciler.pool.shutdown()
    assert reconciler.seen == [0, 1, 2, 0], "two failures counted, then forgotten on success"
    assert controller.queue.num_requeues("ns/n1") == 0


def test_a_namespace_list_is_read_as_operator_sdk_reads_watch_namespace() -> None:
    from reference_controller.__main__ import parse_args

    assert parse_args(["--namespace", "a, b,,c"]).namespace == ("a", "b", "c")
    assert parse_args(["--namespace", ""]).namespace == ()
    assert parse_args([]).namespace == ()
