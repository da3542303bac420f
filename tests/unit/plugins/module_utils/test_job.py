"""Pure helpers of the job_status module (plugins/module_utils/job.py): jobctl's status line, times, the training line."""

import pytest
from ansible_collections.mocha.cloud.plugins.module_utils import job


def test_training_line_warns_when_the_instance_dies_first():
    prog = {"iteration": 1000, "max_iter": 70000, "percent": 1.4, "objective": 1.5, "last_accuracy": None,
            "last_accuracy_iter": None, "it_per_s": 1.0, "eta_s": 69000}
    status = {"running": True, "phase": "running"}
    line = job.training_line(status, prog, expires_at=1000 + 3600, now=1000)
    assert "ETA 19h10m, instance expires in 1h00m (BEFORE the run would end" in line
    assert "BEFORE" not in job.training_line(status, prog, expires_at=1000 + 80000, now=1000)


@pytest.mark.parametrize("text, at", [("2026-12-01T12:00:00Z", 1796126400.0), ("1796126400", 1796126400.0), ("", None),
                                      ("soon", None)])
def test_epoch(text, at):
    assert job.epoch(text) == at


def test_parse_status_refuses_what_is_not_a_status():
    with pytest.raises(job.JobError):
        job.parse_status("jobctl: usage\n")
    with pytest.raises(job.JobError):
        job.parse_status('{"no": "state"}')


@pytest.mark.parametrize("seconds, short, full", [(3725, "1h02m", "1h02m05s"), (125, "2m05s", "2m05s"), (9, "9s", "9s"),
                                                   (-3, "0s", "0s"), (None, "unknown", "unknown")])
def test_durations_of_the_poll_line_and_the_log_line(seconds, short, full):
    """The poll line's durations leave out the seconds once there are hours; the log parser's keep them."""
    assert job.duration(seconds) == short
    assert job.format_duration(seconds) == full
