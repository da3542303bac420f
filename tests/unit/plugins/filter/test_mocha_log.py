"""The filter mocha.cloud.mocha_metrics: a thin wrapper over module_utils/mocha_log.py that checks its input."""

import pytest
from ansible.errors import AnsibleFilterError
from ansible_collections.mocha.cloud.plugins.filter import mocha_log
from conftest import FIXTURES

TUTORIAL_GPU = (FIXTURES / "mocha-log" / "tutorial-gpu.log").read_text()


def test_filter_validates_input():
    assert mocha_log.mocha_metrics(TUTORIAL_GPU, "70000")["iterations"] == 50400
    with pytest.raises(AnsibleFilterError, match="max_iter must be a whole number"):
        mocha_log.mocha_metrics(TUTORIAL_GPU, "lots")
    with pytest.raises(AnsibleFilterError, match="max_iter must be 1 or more"):
        mocha_log.mocha_metrics(TUTORIAL_GPU, 0)
    with pytest.raises(AnsibleFilterError, match="must be text"):
        mocha_log.mocha_metrics(42, 70000)
    assert set(mocha_log.FilterModule().filters()) == {"mocha_metrics"}  # the one a role uses


def test_metrics_filter_adds_extra_fields_and_checks_them():
    doc = mocha_log.mocha_metrics(TUTORIAL_GPU, 70000, 200, {"backend": "gpu"})
    assert (doc["backend"], doc["iterations"], doc["completed"]) == ("gpu", 50400, False)
    with pytest.raises(AnsibleFilterError, match="extra must be a dict"):
        mocha_log.mocha_metrics(TUTORIAL_GPU, 70000, 200, ["gpu"])
