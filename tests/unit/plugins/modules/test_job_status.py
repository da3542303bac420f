"""The job_status module where no job is needed; tests/integration/test_jobctl.py polls real jobctl jobs."""

from ansible_collections.mocha.cloud.plugins.modules import job_status
from ansible_collections.mocha.cloud.tests.unit.plugins.modules.utils import run_module


def test_module_refuses_a_job_never_set_up(tmp_path):
    res = run_module(job_status.main, {"ctl": str(tmp_path / "jobctl")})
    assert res["failed"] and "was never set up" in res["msg"]
