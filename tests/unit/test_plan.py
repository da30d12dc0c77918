"""A scenario planned once: the plan holds what the oracle derives, for every stage after."""

from __future__ import annotations

from conformance.contract.tolerances import Tolerances
from conformance.scenarios import oracle
from conformance.scenarios.model import ChannelSpec, RetryPolicy, Scenario, SinkStep
from conformance.scenarios.plan import DEADLINE_MARGIN, plan_for

TOL = Tolerances()
POLICY = RetryPolicy(4, 1.0, 2.0, 3.0, 0.0, {})
HOOK = ChannelSpec("hook", "webhook", responses=(SinkStep(503, times=2), SinkStep(200)), timeout=2.0)
FILE = ChannelSpec("archive", "file", writable=False)
SCENARIO = Scenario("s", "", (HOOK, FILE), POLICY, "PartiallySent", ("core",), "test")


def test_the_plan_holds_the_oracles_expectation_and_windows() -> None:
    plan = plan_for(SCENARIO, TOL, precision=0.001, features=("core", "batched-status"))
    assert plan.expectation == oracle.expect(SCENARIO)
    assert plan.precision == 0.001 and plan.features == ("core", "batched-status")
    assert [w.nominal for w in plan.windows["hook"]] == [1.0, 2.0]
    assert [w.nominal for w in plan.windows["archive"]] == [1.0, 2.0, 3.0]
    assert plan.quiet_window == oracle.quiet_window(SCENARIO, TOL)


def test_the_deadline_is_the_slowest_channels_schedule_plus_a_margin() -> None:
    plan = plan_for(SCENARIO, TOL)
    file_schedule = sum(w.high for w in plan.windows["archive"]) + 4 * FILE.timeout
    hook_schedule = sum(w.high for w in plan.windows["hook"]) + 3 * HOOK.timeout
    assert file_schedule > hook_schedule
    assert plan.deadline == file_schedule + DEADLINE_MARGIN
