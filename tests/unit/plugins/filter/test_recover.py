"""The filters mocha.cloud.recover_select and recover_next: module_utils/recover.py's answers, and bad input as a
clear AnsibleFilterError."""

import pytest
from ansible.errors import AnsibleFilterError
from ansible_collections.mocha.cloud.plugins.filter.recover import FilterModule, recover_next, recover_select
from ansible_collections.mocha.cloud.plugins.module_utils import recover

RUNS = [
    {"run_id": "a", "verdict": "interrupted", "reason": "r", "objects": 2, "marker": {"state": "interrupted", "iteration": 400}},
    {"run_id": "b", "verdict": "finished", "reason": "r", "objects": 9, "marker": {"state": "finished", "iteration": 800}},
]


def test_the_filters_are_the_module_utils_answers():
    assert FilterModule().filters() == {"recover_select": recover_select, "recover_next": recover_next}
    assert recover_select(RUNS) == recover.select(RUNS)
    assert recover_select(tuple(RUNS), "b")["outcome"] == "refused"
    assert recover_select(RUNS, None)["run_id"] == "a"
    state = {"run": RUNS[0], "legs": "", "budget_hours": 4, "next_leg_hours": 2}
    assert recover_next(state) == recover.next_action(state)
    assert recover_next(state)["action"] == "launch"


@pytest.mark.parametrize(
    "call",
    [
        lambda: recover_select("not runs"),
        lambda: recover_next("not a dict"),
        lambda: recover_next({"run": RUNS[0], "budget_hours": "x", "next_leg_hours": 1}),
    ],
)
def test_bad_input_is_a_clear_error(call):
    with pytest.raises(AnsibleFilterError, match="recover_(select|next)"):
        call()
