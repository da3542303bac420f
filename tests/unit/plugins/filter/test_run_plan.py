"""The filter mocha.cloud.run_plan: the plan of module_utils/run_plan.py, and bad settings as a clear AnsibleFilterError."""

import pytest
from ansible.errors import AnsibleFilterError
from ansible_collections.mocha.cloud.plugins.filter.run_plan import FilterModule, run_plan
from ansible_collections.mocha.cloud.plugins.module_utils import run_plan as rp


def test_filter_gives_the_plan():
    settings = {"instance_type": "g4dn.xlarge", "hourly_price_usd": 0.526, "backend": "gpu", "max_iter": 2000, "max_hours": 2}
    assert FilterModule().filters()["run_plan"] is run_plan
    assert run_plan(settings) == rp.plan(settings)


@pytest.mark.parametrize("bad", [{}, {"max_iter": "many"}, "not a dict"])
def test_bad_settings_are_a_clear_error(bad):
    with pytest.raises(AnsibleFilterError, match="run_plan"):
        run_plan(bad)
