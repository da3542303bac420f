"""plugins/module_utils/aws_teardown.py: what a teardown removes and keeps, and what it says (each branch, each line).

The runs are shaped as mocha.cloud.aws_gpu_runs_info returns them (aws_results.summarize_run with the role, instance
profile and objects it adds); the role runs the same functions against moto in tests/integration/test_aws_run_results.py.
"""

import pytest
from ansible.errors import AnsibleFilterError
from ansible_collections.mocha.cloud.plugins.filter.aws_teardown import aws_gpu_teardown_plan, aws_gpu_teardown_report
from ansible_collections.mocha.cloud.plugins.module_utils import aws_results, aws_teardown

BUCKET = "mocha-cloud-results-123456789012-us-east-1"
FILTERS = {"tag:mocha-cloud:project": "mocha-cloud"}


def run(run_id, objects=0, live=(), role=True, role_ours=True, profile=True, profile_ours=True, policies=("mocha-cloud-results",)):
    name = f"mocha-cloud-{run_id}"
    instances = [{"instance_id": i, "state": "running"} for i in live]
    return aws_results.summarize_run(
        run_id, instances, prefix=f"mocha-cloud/{run_id}/", objects=objects, bytes=objects * 10,
        role={"name": name, "exists": role, "ours": role and role_ours, "inline_policies": list(policies) if role else []},
        instance_profile={"name": name, "exists": profile, "ours": profile and profile_ours})


def found(*runs, ours=True, objects=None, versions=0, refused=()):
    total = sum(r["objects"] for r in runs) if objects is None else objects
    return {"runs": list(runs), "refused": list(refused),
            "bucket": {"name": BUCKET, "owner": "123456789012", "exists": True, "accessible": ours, "ours": ours,
                       "objects": total, "versions": versions}}


def report(plan, answer, ec2=None, delete=False, check=False):
    return aws_teardown.teardown_report(plan, answer, ec2 or {}, "us-east-1", "mocha-cloud", FILTERS, delete, check)


# --- the plan ---------------------------------------------------------------------------------------------------


def test_every_run_goes_and_an_empty_bucket_with_it():
    answer = found(run("r1"), run("r2"))
    plan = aws_teardown.teardown_plan(answer)
    assert [r["run_id"] for r in plan["torn"]] == ["r1", "r2"]
    assert [r["name"] for r in plan["roles"]] == ["mocha-cloud-r1", "mocha-cloud-r2"]
    assert [p["name"] for p in plan["profiles"]] == ["mocha-cloud-r1", "mocha-cloud-r2"]
    assert plan["emptied"] == [] and plan["others"] == [] and plan["left_objects"] == 0 and plan["drop_bucket"] is True


def test_one_run_leaves_the_others_and_the_bucket():
    answer = found(run("r1"), run("r2", objects=0, role=False, profile=False, live=["i-1"]), run("r3", objects=2, role=False, profile=False))
    plan = aws_teardown.teardown_plan(answer, "r1")
    assert [r["run_id"] for r in plan["torn"]] == ["r1"]
    assert plan["others"] == ["r2", "r3"]  # a live instance, results: each keeps the bucket
    assert plan["drop_bucket"] is False and plan["left_objects"] == 2


@pytest.mark.parametrize("what", ["role", "profile"])
def test_a_role_or_profile_alone_keeps_the_bucket(what):
    other = run("r2", role=what == "role", profile=what == "profile")
    plan = aws_teardown.teardown_plan(found(run("r1"), other), "r1")
    assert plan["others"] == ["r2"] and plan["drop_bucket"] is False


def test_roles_and_profiles_that_are_not_the_projects_are_left_alone():
    plan = aws_teardown.teardown_plan(found(run("r1", role_ours=False, profile_ours=False)))
    assert plan["roles"] == [] and plan["profiles"] == []


def test_results_are_kept_unless_asked_and_keep_the_bucket():
    answer = found(run("r1", objects=3))
    kept = aws_teardown.teardown_plan(answer, "", False)
    assert kept["emptied"] == [] and kept["left_objects"] == 3 and kept["drop_bucket"] is False
    deleted = aws_teardown.teardown_plan(answer, "", True)
    assert [r["run_id"] for r in deleted["emptied"]] == ["r1"] and deleted["left_objects"] == 0
    assert deleted["drop_bucket"] is True


def test_results_in_a_bucket_that_is_not_the_projects_are_never_deleted():
    plan = aws_teardown.teardown_plan(found(run("r1", objects=3), ours=False), "", True)
    assert plan["emptied"] == [] and plan["drop_bucket"] is False


def test_objects_outside_the_runs_keep_the_bucket():
    plan = aws_teardown.teardown_plan(found(run("r1", objects=1), objects=4), "", True)
    assert plan["left_objects"] == 3 and plan["drop_bucket"] is False


def test_old_versions_go_with_the_bucket_only_when_results_are_deleted():
    answer = found(run("r1"), versions=5)
    assert aws_teardown.teardown_plan(answer, "", False)["drop_bucket"] is False
    assert aws_teardown.teardown_plan(answer, "", True)["drop_bucket"] is True


def test_no_bucket_no_drop():
    answer = {"runs": [run("r1")], "bucket": {}, "refused": []}
    plan = aws_teardown.teardown_plan(answer)
    assert plan["drop_bucket"] is False and [r["name"] for r in plan["roles"]] == ["mocha-cloud-r1"]


@pytest.mark.parametrize("bad", [None, {}, {"runs": "r1"}, {"runs": [{"objects": 1}]}])
def test_an_answer_not_of_aws_gpu_runs_info_is_refused(bad):
    with pytest.raises(aws_teardown.TeardownError, match="aws_gpu_runs_info"):
        aws_teardown.teardown_plan(bad)
    with pytest.raises(AnsibleFilterError, match="aws_gpu_teardown_plan: "):
        aws_gpu_teardown_plan(bad)


# --- what it says -------------------------------------------------------------------------------------------------


def test_removed_in_order_with_the_ec2_resources_first():
    answer = found(run("r1", objects=2))
    plan = aws_teardown.teardown_plan(answer, "", True)
    ec2 = {"instances": [{"instance_id": "i-1"}], "security_groups": [{"group_id": "sg-1"}],
           "launch_templates": [{"launch_template_name": "lt-1"}], "keypairs": [{"key_name": "k1"}]}
    out = report(plan, answer, ec2, delete=True)
    assert out["removed"] == ["instance i-1", "security group sg-1", "launch template lt-1", "key pair k1",
                              "instance profile mocha-cloud-r1", "role mocha-cloud-r1",
                              f"results s3://{BUCKET}/mocha-cloud/r1/", f"bucket {BUCKET}"]
    assert out["msg"] == "Removed in us-east-1: " + ", ".join(out["removed"])
    assert out["kept"] == []
    assert report(plan, answer, ec2, delete=True, check=True)["msg"].startswith("Would remove in us-east-1: instance i-1, ")


def test_nothing_to_remove_names_the_filters():
    out = report(aws_teardown.teardown_plan(found()), found())
    assert out["removed"] == [f"bucket {BUCKET}"]  # an empty bucket of the project with no run left goes
    empty = {"runs": [], "bucket": {}, "refused": []}
    assert report(aws_teardown.teardown_plan(empty), empty)["msg"] == \
        'Nothing to remove in us-east-1 for {"tag:mocha-cloud:project": "mocha-cloud"}'


def test_kept_results_say_how_to_remove_them():
    answer = found(run("r1", objects=2))
    out = report(aws_teardown.teardown_plan(answer), answer)
    assert out["kept"] == [f"results kept in s3://{BUCKET}/mocha-cloud/r1/ (teardown_delete_results=true removes them)",
                           f"bucket {BUCKET} kept: 2 object(s) are left in it"]


def test_kept_bucket_names_the_runs_that_use_it():
    answer = found(run("r1"), run("r2", objects=1))
    out = report(aws_teardown.teardown_plan(answer, "r1"), answer)
    assert out["kept"] == [f"bucket {BUCKET} kept: runs r2 of mocha-cloud still use it"]


def test_kept_bucket_names_its_old_versions():
    answer = found(run("r1"), versions=3)
    out = report(aws_teardown.teardown_plan(answer), answer)
    assert out["kept"] == [f"bucket {BUCKET} kept: 3 old object version(s) are left in it "
                           "(teardown_delete_results=true removes them)"]


def test_a_bucket_that_is_not_the_projects_is_not_reported_as_kept_and_refusals_are_named():
    answer = found(run("r1", objects=2), ours=False, refused=["bucket x is not tagged mocha-cloud:project=mocha-cloud: not read"])
    out = report(aws_teardown.teardown_plan(answer), answer)
    assert out["kept"] == ["not touched: bucket x is not tagged mocha-cloud:project=mocha-cloud: not read"]


def test_report_filter_takes_one_dict():
    answer = found(run("r1"))
    spec = {"plan": aws_teardown.teardown_plan(answer), "found": answer, "ec2": {}, "region": "eu-west-1",
            "project": "mocha-cloud", "filters": FILTERS, "check_mode": True}
    assert aws_gpu_teardown_report(spec)["msg"].startswith("Would remove in eu-west-1: instance profile mocha-cloud-r1")
    with pytest.raises(AnsibleFilterError, match="needs a dict"):
        aws_gpu_teardown_report(["plan"])
