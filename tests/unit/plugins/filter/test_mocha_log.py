"""The filters mocha.cloud.mocha_log_parse, mocha_progress and mocha_metrics: thin wrappers over module_utils/mocha_log.py
that check their input."""

import pytest
from ansible.errors import AnsibleFilterError
from ansible_collections.mocha.cloud.plugins.filter import mocha_log
from conftest import FIXTURES

TUTORIAL_GPU = (FIXTURES / "mocha-log" / "tutorial-gpu.log").read_text()


def test_filters_validate_input():
    assert mocha_log.mocha_progress(TUTORIAL_GPU, "70000")["iteration"] == 50400
    assert "line" in mocha_log.mocha_progress(TUTORIAL_GPU, 70000)
    with pytest.raises(AnsibleFilterError, match="max_iter must be a whole number"):
        mocha_log.mocha_progress(TUTORIAL_GPU, "lots")
    with pytest.raises(AnsibleFilterError, match="must be text"):
        mocha_log.mocha_log_parse(42)
    assert set(mocha_log.FilterModule().filters()) == {"mocha_log_parse", "mocha_progress", "mocha_metrics"}


def test_metrics_filter_adds_extra_fields_and_checks_them():
    doc = mocha_log.mocha_metrics(TUTORIAL_GPU, 70000, 200, {"backend": "gpu"})
    assert (doc["backend"], doc["iterations"], doc["completed"]) == ("gpu", 50400, False)
    with pytest.raises(AnsibleFilterError, match="extra must be a dict"):
        mocha_log.mocha_metrics(TUTORIAL_GPU, 70000, 200, ["gpu"])
