"""module_utils/recover.py: which run recover resumes, the hours its legs spent, and each step of a watch."""

import json

import pytest
from ansible_collections.mocha.cloud.plugins.module_utils import recover


def run(rid="r1", verdict="interrupted", objects=3, state=None, iteration=1200, reason="instance i-1 ended"):
    marker = {"state": state or {"interrupted": "interrupted", "vanished": None}.get(verdict, verdict), "iteration": iteration}
    return {
        "run_id": rid,
        "verdict": verdict,
        "reason": reason,
        "objects": objects,
        "prefix": f"mocha-cloud/{rid}/",
        "marker": marker if marker["state"] else None,
    }


def leg(n, start, end, how="interrupted"):
    return {"leg": n, "host": f"h{n}", "instance_id": f"i-{n}", "started_at": start, "ended_at": end, "end": how}


LEGS = [leg(1, "2026-01-01T00:00:00Z", "2026-01-01T03:30:00Z"), leg(2, "2026-01-01T04:00:00Z", "2026-01-01T06:00:00Z")]


# --- legs and hours ------------------------------------------------------------------------------------------------
def test_hours_spent_are_the_sum_over_the_legs_in_every_form_legs_json_comes():
    doc = {"legs": LEGS}
    for form in (doc, json.dumps(doc), LEGS, json.dumps(doc).encode()):
        assert recover.spent_hours(form) == 5.5
    assert recover.spent_hours(None) == recover.spent_hours("") == recover.spent_hours({"legs": []}) == 0


NOW = "2026-01-01T10:00:00Z"  # four hours after the last good leg ended
RUN = {"instances": [{"instance_id": "i-3", "launch_time": "2026-01-01T07:00:00Z"},
                     {"instance_id": "i-9", "launch_time": "2026-01-01T08:30:00Z"}]}


@pytest.mark.parametrize(
    "bad_leg, whole",
    [
        (leg(3, "2026-01-01T07:00:00Z", "garbage"), 3),  # from its started_at to now
        (leg(3, "2026-01-01T07:00:00Z", "2026-01-01T05:00:00Z"), 3),  # ends before it starts: from its started_at to now
        (leg(3, "", "2026-01-01T06:00:00Z"), 3),  # no start: from its instance's launch (i-3, 07:00) to now
        (leg(3, "yesterday", "2026-01-01T08:00:00Z"), 3),
        (leg(3, "2026-01-01T23:00:00Z", "2026-01-01T22:00:00Z"), 3),  # starts after now: from its instance's launch
        (dict(leg(3, "", ""), instance_id="i-unknown"), 3),  # an instance EC2 does not list: from the run's first launch
        ("not a leg", 3),  # an entry that is not a leg: from the run's first launch
    ],
)
def test_a_leg_whose_times_cannot_be_read_counts_whole_from_launch_to_now(bad_leg, whole):
    """legs.json is the instance's: times it cannot read, or that run backwards, never count as nothing spent."""
    counted = recover.spent(LEGS + [bad_leg], RUN, NOW, max_leg_hours=8)
    assert counted == {"hours": 5.5 + whole, "whole": 1, "unknown": False}
    # An instance powers itself off after its max hours: no leg counts more.
    assert recover.spent(LEGS + [bad_leg], RUN, NOW, max_leg_hours=2)["hours"] == 7.5
    # The old reading counted them as 0 h.
    assert recover.spent_hours(LEGS) == 5.5


def test_legs_json_that_cannot_be_read_counts_every_instance_of_the_run():
    run = {"instances": [{"instance_id": "i-1", "launch_time": "2026-01-01T00:00:00Z", "end_time": "2026-01-01T03:00:00Z"},
                         {"instance_id": "i-2", "launch_time": "2026-01-01T08:00:00Z", "end_time": ""}]}
    for doc, error in (("{not json", ""), ("", "s3://b/p/state/legs.json is larger than 1048576 bytes (300000000)")):
        assert recover.spent(doc, run, NOW, 8, error) == {"hours": 5.0, "whole": 2, "unknown": False}
    assert recover.spent("{not json", {"instances": []}, NOW, None)["unknown"]


def test_what_cannot_be_read_or_bounded_stops_the_watch():
    entry = dict(run(verdict="interrupted"), instances=[])
    out = step(entry, legs=json.dumps({"legs": [leg(1, "", "")]}), now=NOW, max_leg_hours=None)
    assert out["action"] == "refuse" and "the hours its legs spent cannot be told" in out["msg"]
    out = step(dict(entry, **RUN), legs=json.dumps({"legs": LEGS + [leg(3, "", "x")]}), now=NOW, max_leg_hours=8, budget_hours=10,
               next_leg_hours=2)
    assert out["action"] == "refuse" and out["spent_hours"] == 8.5
    assert "8.5 h of the 10 h budget spent over 3 leg(s) (1 of them counted from launch to now" in out["msg"]
    out = step(dict(entry, **RUN), legs="", legs_error="s3://b/p/state/legs.json is larger than 1048576 bytes", now=NOW,
               max_leg_hours=8, budget_hours=5, next_leg_hours=1)
    assert out["action"] == "refuse" and out["spent_hours"] == 4.5 and "legs.json cannot be read: s3://b/p/state/legs.json is larger" in out["msg"]


@pytest.mark.parametrize("bad", ["{not json", json.dumps({"legs": "many"}), 42])
def test_legs_json_that_is_not_a_list_of_legs_is_refused(bad):
    with pytest.raises(recover.RecoverError, match="legs.json"):
        recover.legs_from(bad)


# --- which run ---------------------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    "entry, ok, words",
    [
        (run(verdict="interrupted"), True, "interrupted"),
        (run(verdict="vanished", objects=2), True, "2 object(s) to resume from"),
        (run(verdict="vanished", objects=0), False, "nothing to resume"),
        (run(verdict="running", state="running"), False, "attach to it with site.yml -e aws_gpu_instance_run_id=r1"),
        (run(verdict="finished"), False, "finished (iteration 1200): nothing to do"),
        (run(verdict="failed"), False, "failed at iteration 1200"),
        (run(verdict="stopped", state="running"), False, "is stopped"),
        (run(verdict="odd"), False, "unknown verdict"),
    ],
)
def test_recoverable(entry, ok, words):
    got, why = recover.recoverable(entry)
    assert got is ok and words in why


def test_select_none():
    out = recover.select([run("a", "finished"), run("b", "running"), run("c", "vanished", objects=0)])
    assert out["outcome"] == "none" and out["run_id"] == "" and "nothing is created" in out["msg"]
    assert recover.select([])["outcome"] == "none"


def test_select_one_among_others():
    out = recover.select([run("a", "finished"), run("b", "interrupted"), run("c", "vanished", objects=0)])
    assert (out["outcome"], out["run_id"], out["candidates"]) == ("one", "b", ["b"])
    assert out["msg"].startswith("Recovering run b is interrupted")


def test_select_several_lists_them_and_says_how_to_choose():
    out = recover.select([run("a", "interrupted"), run("b", "vanished", objects=1), run("c", "finished")])
    assert (out["outcome"], out["run_id"], out["candidates"]) == ("several", "", ["a", "b"])
    assert "run a is interrupted" in out["msg"] and "run b vanished" in out["msg"]
    assert "-e aws_gpu_instance_run_id=<a|b>" in out["msg"]


@pytest.mark.parametrize(
    "verdict, outcome, words",
    [
        ("interrupted", "one", "Recovering run x is interrupted"),
        ("running", "refused", "attach to it"),
        ("finished", "refused", "nothing to do"),
    ],
)
def test_select_a_given_run_only(verdict, outcome, words):
    runs = [run("x", verdict, state="running" if verdict == "running" else None), run("y", "interrupted")]
    out = recover.select(runs, "x")
    assert out["outcome"] == outcome and words in out["msg"]
    assert out["run_id"] == ("x" if outcome == "one" else "")


def test_select_a_run_that_is_not_there():
    out = recover.select([run("y")], "x")
    assert out["outcome"] == "refused" and "No run x found" in out["msg"]


def test_a_watch_may_take_a_running_run_by_id_only():
    runs = [run("x", "running", state="running")]
    assert recover.select(runs, "x", watch=True)["outcome"] == "one"
    assert recover.select(runs, "", watch=True)["outcome"] == "none"


def test_select_wants_the_runs_list():
    with pytest.raises(recover.RecoverError, match="runs must be the list"):
        recover.select({"runs": []})


# --- what a watch does next -----------------------------------------------------------------------------------------
def step(entry, **kw):
    state = {"run": entry, "legs": {"legs": LEGS}, "budget_hours": 22, "next_leg_hours": 6, "max_legs": 10, "legs_launched": 0, "last_leg_rc": None}
    state.update(kw)
    return recover.next_action(state)


def test_finished_and_failed_stop():
    assert step(run(verdict="finished"))["action"] == "finished"
    out = step(run(verdict="failed"))
    assert out["action"] == "failed" and "failed at iteration 1200" in out["msg"] and "5.5 h of the 22 h" in out["msg"]


def test_a_running_run_is_waited_on():
    out = step(run(verdict="running", state="running"))
    assert out["action"] == "wait" and out["spent_hours"] == 5.5


def test_a_leg_that_failed_while_its_instance_runs_stops_the_watch():
    out = step(run(verdict="running", state="running"), legs_launched=1, last_leg_rc=2)
    assert out["action"] == "refuse" and "exited with status 2" in out["msg"]
    # ... unless the keeper marked the run interrupted (the instance is in its two minutes' notice)
    assert step(run(verdict="running", state="interrupted"), legs_launched=1, last_leg_rc=2)["action"] == "wait"
    assert step(run(verdict="running", state="running"), legs_launched=1, last_leg_rc=0)["action"] == "wait"


def test_an_interrupted_run_gets_the_next_leg():
    out = step(run(verdict="interrupted"))
    assert out["action"] == "launch" and "launching leg 3" in out["msg"]
    assert (out["spent_hours"], out["next_leg_hours"], out["legs"], out["iteration"]) == (5.5, 6, 2, 1200)
    assert step(run(verdict="vanished", objects=4), legs="")["action"] == "launch"


def test_the_budget_is_never_passed():
    out = step(run(verdict="interrupted"), budget_hours=10, next_leg_hours=5)
    assert out["action"] == "refuse"
    assert "5.5 h of the 10 h budget spent over 2 leg(s)" in out["msg"] and "could pass it (10.50 h)" in out["msg"]
    assert step(run(verdict="interrupted"), budget_hours=10, next_leg_hours=4.5)["action"] == "launch"  # exactly fits


def test_the_number_of_legs_is_bounded():
    out = step(run(verdict="interrupted"), max_legs=2)
    assert out["action"] == "refuse" and "recover_max_legs (2)" in out["msg"]
    assert step(run(verdict="interrupted"), legs="", max_legs=2, legs_launched=2)["action"] == "refuse"


def test_a_run_that_cannot_be_resumed_is_refused():
    out = step(run(verdict="vanished", objects=0))
    assert out["action"] == "refuse" and "nothing to resume" in out["msg"]
    assert step(run(verdict="stopped", state="running"))["action"] == "refuse"


@pytest.mark.parametrize(
    "bad, words",
    [
        ({"run": {}}, "run must be"),
        ({"budget_hours": "lots"}, "budget_hours must be a number"),
        ({"budget_hours": float("inf")}, "budget_hours must be a finite"),
        ({"next_leg_hours": -1}, "next_leg_hours must be a finite"),
        ({"max_legs": 0}, "max_legs must be"),
        ({"max_leg_hours": "long"}, "max_leg_hours must be a number"),
    ],
)
def test_bad_input_is_a_clear_error(bad, words):
    state = {"run": run(), "legs": "", "budget_hours": 22, "next_leg_hours": 6}
    state.update(bad)
    with pytest.raises(recover.RecoverError, match=words):
        recover.next_action(state)
    with pytest.raises(recover.RecoverError, match="expects a dict"):
        recover.next_action([state])
