"""module_utils/aws_results: names, policy documents, the results location read back from tags, and run discovery.

The policy documents are compared whole, as literals: a change to what a run's role may do shows up here.
The boto3 layer is tested with botocore's Stubber on clients wrapped as AnsibleAWSModule wraps them; the module
itself runs against moto in tests/integration/test_aws_results.py.
"""

import datetime
import io
import json

import boto3
import pytest
from ansible.errors import AnsibleFilterError
from ansible_collections.amazon.aws.plugins.module_utils.retries import AWSRetry, RetryingBotoClientWrapper
from ansible_collections.mocha.cloud.plugins.filter.aws_results import aws_gpu_results, aws_gpu_results_problems
from ansible_collections.mocha.cloud.plugins.module_utils import aws_guard, aws_results
from botocore.response import StreamingBody
from botocore.stub import Stubber

ACCOUNT = "123456789012"
BUCKET = "mocha-cloud-results-123456789012-us-east-1"


# --- names ------------------------------------------------------------------------------------------------------


def test_default_bucket_name_carries_project_account_and_region():
    assert aws_results.default_bucket_name("mocha-cloud", ACCOUNT, "us-east-1") == BUCKET
    assert aws_results.default_bucket_name("Exp_1.b", ACCOUNT, "eu-west-1") == "exp-1-b-results-123456789012-eu-west-1"


def test_long_project_names_are_shortened_with_a_hash_and_stay_apart():
    a = aws_results.default_bucket_name("a" * 40 + "-one", ACCOUNT, "ap-southeast-2")
    b = aws_results.default_bucket_name("a" * 40 + "-two", ACCOUNT, "ap-southeast-2")
    assert a != b
    for name in (a, b):
        assert len(name) <= 63 and name.endswith("-results-123456789012-ap-southeast-2")
        assert aws_results.bucket_name_problem(name) is None


def test_a_project_that_would_start_with_a_reserved_prefix_gets_another():
    name = aws_results.default_bucket_name("xn--abc", ACCOUNT, "us-east-1")
    assert not name.startswith("xn--") and aws_results.bucket_name_problem(name) is None


@pytest.mark.parametrize("name,problem", [
    ("my.results.bucket", "contains a dot"),
    ("MyBucket", "is not an S3 bucket name"),
    ("ab", "is not an S3 bucket name"),
    ("a" * 64, "is not an S3 bucket name"),
    ("-results", "is not an S3 bucket name"),
    ("results-", "is not an S3 bucket name"),
    ("res_ults", "is not an S3 bucket name"),
    ("xn--results", "which S3 reserves"),
    ("results-s3alias", "which S3 reserves"),
    ("results--ol-s3", "which S3 reserves"),
    ("", "must be a bucket name"),
    (None, "must be a bucket name"),
])
def test_bucket_names_refused(name, problem):
    assert problem in aws_results.bucket_name_problem(name)


@pytest.mark.parametrize("name", ["abc", BUCKET, "a" * 63, "123-results"])
def test_bucket_names_accepted(name):
    assert aws_results.bucket_name_problem(name) is None


def test_role_name_fits_iam_and_long_ones_stay_apart():
    assert aws_results.role_name("mocha-cloud", "exp1") == "mocha-cloud-exp1"
    a, b = aws_results.role_name("p" * 40, "r" * 30 + "1"), aws_results.role_name("p" * 40, "r" * 30 + "2")
    assert a != b and len(a) == len(b) == 64


@pytest.mark.parametrize("project,run_id", [("mocha cloud", "x"), ("p", "a*"), ("p", "a?"), ("p", "../x"), ("p", "")])
def test_prefix_refuses_what_is_not_a_name(project, run_id):
    with pytest.raises(aws_results.ResultsError, match="must be 1-63 letters"):
        aws_results.run_prefix(project, run_id)


# --- policy documents, exactly ---------------------------------------------------------------------------------


def test_role_policy_allows_objects_under_the_run_prefix_and_listing_it_only():
    assert aws_results.role_policy(BUCKET, "mocha-cloud", "exp1", ACCOUNT) == {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Sid": "RunObjects",
                "Effect": "Allow",
                "Action": ["s3:GetObject", "s3:PutObject", "s3:DeleteObject"],
                "Resource": "arn:aws:s3:::mocha-cloud-results-123456789012-us-east-1/mocha-cloud/exp1/*",
                # A bucket of that name in another account (bucket names are global) is out of reach.
                "Condition": {"StringEquals": {"s3:ResourceAccount": "123456789012"}},
            },
            {
                "Sid": "ListRunPrefix",
                "Effect": "Allow",
                "Action": "s3:ListBucket",
                "Resource": "arn:aws:s3:::mocha-cloud-results-123456789012-us-east-1",
                "Condition": {"StringLike": {"s3:prefix": ["mocha-cloud/exp1/", "mocha-cloud/exp1/*"]},
                              "StringEquals": {"s3:ResourceAccount": "123456789012"}},
            },
        ],
    }


def test_role_policy_names_no_other_prefix_action_or_resource():
    doc = aws_results.role_policy(BUCKET, "proj", "run-7", ACCOUNT, partition="aws-cn")
    text = json.dumps(doc)
    actions = {a for s in doc["Statement"] for a in ([s["Action"]] if isinstance(s["Action"], str) else s["Action"])}
    assert actions == {"s3:GetObject", "s3:PutObject", "s3:DeleteObject", "s3:ListBucket"}
    assert all(s["Effect"] == "Allow" for s in doc["Statement"])
    assert {s["Resource"] for s in doc["Statement"]} == {f"arn:aws-cn:s3:::{BUCKET}/proj/run-7/*", f"arn:aws-cn:s3:::{BUCKET}"}
    # The only wildcards are the ones that end the run's own prefix.
    assert text.count("*") == 2 and text.count("proj/run-7/*") == 2
    # Every statement is bound to the project's own account.
    assert all(s["Condition"]["StringEquals"] == {"s3:ResourceAccount": ACCOUNT} for s in doc["Statement"])
    with pytest.raises(aws_results.ResultsError, match="account id must be 12 digits"):
        aws_results.role_policy(BUCKET, "proj", "run-7", "*")


def test_trust_policy_is_ec2_only():
    assert aws_results.trust_policy() == {
        "Version": "2012-10-17",
        "Statement": [{"Effect": "Allow", "Principal": {"Service": "ec2.amazonaws.com"}, "Action": "sts:AssumeRole"}],
    }


def test_bucket_policy_denies_every_request_without_tls():
    assert aws_results.bucket_policy(BUCKET) == {
        "Version": "2012-10-17",
        "Statement": [{
            "Sid": "DenyWithoutTLS",
            "Effect": "Deny",
            "Principal": "*",
            "Action": "s3:*",
            "Resource": [f"arn:aws:s3:::{BUCKET}", f"arn:aws:s3:::{BUCKET}/*"],
            "Condition": {"Bool": {"aws:SecureTransport": "false"}},
        }],
    }


def test_the_filter_gives_names_arns_and_documents():
    plan = aws_gpu_results({"project": "mocha-cloud", "run_id": "exp1", "account_id": ACCOUNT, "region": "us-east-1",
                            "partition": "aws", "bucket": ""})
    assert plan["bucket"] == BUCKET and plan["prefix"] == "mocha-cloud/exp1/"
    assert plan["uri"] == f"s3://{BUCKET}/mocha-cloud/exp1/"
    assert plan["iam_path"] == "/mocha-cloud/mocha-cloud/"
    assert plan["role_arn"] == "arn:aws:iam::123456789012:role/mocha-cloud/mocha-cloud/mocha-cloud-exp1"
    assert plan["profile_arn"] == "arn:aws:iam::123456789012:instance-profile/mocha-cloud/mocha-cloud/mocha-cloud-exp1"
    assert plan["role_policy"] == aws_results.role_policy(BUCKET, "mocha-cloud", "exp1", ACCOUNT)
    assert plan["trust_policy"] == aws_results.trust_policy() and plan["bucket_policy"] == aws_results.bucket_policy(BUCKET)
    # Without a run id: the project's part only (teardown).
    project = aws_gpu_results({"project": "mocha-cloud", "run_id": "", "account_id": ACCOUNT, "region": "us-east-1"})
    assert project["bucket"] == BUCKET and project["prefix"] == "" and project["role_policy"] == {}
    # A bucket given wins.
    assert aws_gpu_results({"project": "p", "run_id": "r", "account_id": ACCOUNT, "region": "us-east-1",
                            "bucket": "my-results"})["uri"] == "s3://my-results/p/r/"


@pytest.mark.parametrize("spec,message", [
    ({"bucket": "My.Bucket"}, "aws_gpu_instance_results_bucket 'My.Bucket' contains a dot"),
    ({"account_id": "12345"}, "the account id must be 12 digits"),
    ({"region": "useast1"}, "aws_gpu_instance_region must look like us-east-1"),
    ({"run_id": "a b"}, "aws_gpu_instance_run_id must be 1-63 letters"),
    ({"partition": "azure"}, "partition must look like aws"),
])
def test_the_filter_refuses_bad_values_by_name(spec, message):
    base = {"project": "mocha-cloud", "run_id": "exp1", "account_id": ACCOUNT, "region": "us-east-1"}
    with pytest.raises(AnsibleFilterError, match="aws_gpu_results: " + message.replace(".", r"\.")):
        aws_gpu_results(base | spec)


def test_limits_check_the_bucket_name_and_the_boundary_before_any_call():
    problems = aws_guard.limit_problems({"results_bucket": "Results.Example", "permissions_boundary": "arn:aws:iam::1:role/x"})
    assert len(problems) == 2
    assert "aws_gpu_instance_results_bucket 'Results.Example' contains a dot" in problems[0]
    assert "aws_gpu_instance_permissions_boundary must be the ARN of an IAM managed policy" in problems[1]
    assert aws_guard.limit_problems({"results_bucket": "", "permissions_boundary": ""}) == []
    assert aws_guard.limit_problems({"permissions_boundary": "arn:aws:iam::123456789012:policy/team/Boundary"}) == []


# --- the results location read back from tags ------------------------------------------------------------------

GOOD = {"mocha-cloud:project": "mocha-cloud", "mocha-cloud:run-id": "exp1",
        "mocha-cloud:results-bucket": BUCKET, "mocha-cloud:results-prefix": "mocha-cloud/exp1/"}


def test_results_location_from_good_tags():
    assert aws_results.results_from_tags(GOOD, "us-east-1") == (
        {"bucket": BUCKET, "prefix": "mocha-cloud/exp1/", "region": "us-east-1"}, [])
    assert aws_results.results_from_tags({"mocha-cloud:run-id": "exp1"}, "us-east-1") == ({}, [])


@pytest.mark.parametrize("change,problem", [
    ({"mocha-cloud:results-prefix": "mocha-cloud/other-run/"}, "results-prefix 'mocha-cloud/other-run/' is not <project>/<run id>/"),
    ({"mocha-cloud:results-prefix": "mocha-cloud/exp1"}, "is not <project>/<run id>/"),
    ({"mocha-cloud:results-prefix": "mocha-cloud/exp1/../x/"}, "is not <project>/<run id>/"),
    ({"mocha-cloud:results-prefix": ""}, "is not <project>/<run id>/"),
    ({"mocha-cloud:results-bucket": "attacker.example.com"}, "results-bucket 'attacker.example.com' is not a bucket name"),
    ({"mocha-cloud:results-bucket": ""}, "is not a bucket name"),
    ({"mocha-cloud:run-id": "exp1\n"}, "is not <project>/<run id>/"),
])
def test_results_location_refused(change, problem):
    results, problems = aws_results.results_from_tags(GOOD | change, "us-east-1")
    assert results == {} and any(problem in p for p in problems), problems


def test_ec2_tag_vars_refuses_the_host_for_a_bad_results_tag_and_publishes_a_good_one():
    ok = aws_guard.ec2_tag_vars(GOOD, "i-1", "eu-west-1")
    assert ok["refused"] == [] and ok["results"] == {"bucket": BUCKET, "prefix": "mocha-cloud/exp1/", "region": "eu-west-1"}
    bad = aws_guard.ec2_tag_vars(GOOD | {"mocha-cloud:results-prefix": "mocha-cloud/"}, "i-2", "eu-west-1")
    assert bad["results"] == {} and bad["run_id"] == "" and len(bad["refused"]) == 1
    assert bad["refused"][0].startswith("EC2 instance i-2 left out of gpu_hosts: its tag mocha-cloud:results-prefix")
    assert aws_guard.ec2_tag_vars(GOOD, "i-3", "")["refused"][0].endswith("its region '' is not an AWS region")


# --- run discovery: marker, instances, verdicts ----------------------------------------------------------------


def test_marker_parsed():
    assert aws_results.parse_marker(b'{"state": "running", "iteration": 1200, "updated_at": "2026-11-30T10:00:00Z", "x": 1}') == {
        "state": "running", "iteration": 1200, "updated_at": "2026-11-30T10:00:00Z", "host": "", "snapshot": ""}


@pytest.mark.parametrize("host,snapshot,kept", [
    ("mocha-cloud-run1-i-0abc", "snapshot-000400.jld", ("mocha-cloud-run1-i-0abc", "snapshot-000400.jld")),
    ("../outside", "snapshot-000400.jld\n", ("", "")),
    ("..", "snapshot-\u0663\u0663.jld", ("", "")),
    ("a/b", "../snapshot-000400.jld", ("", "")),
    ("h", "snapshot-400.jld", ("h", "")),  # fewer digits than Mocha writes
    ("h", "snapshot-" + "1" * 13 + ".jld", ("h", "")),
    ("h", "snapshot-" + "1" * 12 + ".jld", ("h", "snapshot-" + "1" * 12 + ".jld")),
    ("h", "snapshot-000400.jld5", ("h", "")),
    (5, None, ("", "")),
])
def test_marker_host_and_snapshot_only_in_their_strict_form(host, snapshot, kept):
    """The host names a directory on the controller and the snapshot a file: anything else in them is dropped."""
    import json

    got = aws_results.parse_marker(json.dumps({"state": "finished", "host": host, "snapshot": snapshot}).encode())
    assert (got["host"], got["snapshot"]) == kept


@pytest.mark.parametrize("data,message", [
    (b"{", "not JSON"),
    (b"[]", "must hold a JSON object"),
    (b'{"state": "paused"}', "state must be one of running, interrupted, finished, failed"),
    (b'{"state": "running", "iteration": -1}', "iteration must be a whole number"),
    (b'{"state": "running", "iteration": true}', "iteration must be a whole number"),
    (b'{"state": "running", "iteration": 1.5}', "iteration must be a whole number"),
    (b'{"state": "running", "updated_at": 5}', "updated_at must be a short string"),
    (b"\xff\xfe", "not UTF-8"),
    (b" " * 70000, "larger than 65536 bytes"),
])
def test_marker_refused(data, message):
    with pytest.raises(aws_results.ResultsError, match=message):
        aws_results.parse_marker(data)


@pytest.mark.parametrize("reason,when", [
    ("User initiated (2026-11-30 10:11:12 GMT)", "2026-11-30T10:11:12Z"),  # EC2's form
    ("User initiated (2026-11-30 10:11:12 UTC)", "2026-11-30T10:11:12Z"),  # moto's form
    ("Service initiated", ""),
    ("", ""),
])
def test_transition_time(reason, when):
    assert aws_results.transition_time(reason) == when


# A spot instance as DescribeInstances shows it after AWS reclaimed it (the shape of EC2's answer; moto cannot
# terminate an instance with this reason, so this is fixed data).
SPOT_RECLAIMED = {
    "InstanceId": "i-0a1b2c3d4e5f60718",
    "InstanceType": "g4dn.xlarge",
    "InstanceLifecycle": "spot",
    "Placement": {"AvailabilityZone": "us-east-1b"},
    "State": {"Code": 48, "Name": "terminated"},
    "StateReason": {"Code": "Server.SpotInstanceTermination", "Message": "Server.SpotInstanceTermination: Spot instance termination"},
    "StateTransitionReason": "Service initiated (2026-11-30 12:34:56 GMT)",
    "LaunchTime": datetime.datetime(2026, 11, 30, 9, 0, 0, tzinfo=datetime.timezone.utc),  # noqa: UP017
    "Tags": [{"Key": "mocha-cloud:project", "Value": "mocha-cloud"}, {"Key": "mocha-cloud:run-id", "Value": "exp1"}],
}


def test_instance_record_of_a_reclaimed_spot_instance():
    assert aws_results.instance_record(SPOT_RECLAIMED) == {
        "instance_id": "i-0a1b2c3d4e5f60718", "instance_type": "g4dn.xlarge", "market": "spot",
        "availability_zone": "us-east-1b", "state": "terminated", "state_reason_code": "Server.SpotInstanceTermination",
        "state_reason_message": "Server.SpotInstanceTermination: Spot instance termination",
        "state_transition_reason": "Service initiated (2026-11-30 12:34:56 GMT)",
        "launch_time": "2026-11-30T09:00:00Z", "end_time": "2026-11-30T12:34:56Z", "run_id": "exp1", "project": "mocha-cloud",
        "expires_at": ""}


@pytest.mark.parametrize("tag,kept", [("2026-11-30T17:00:00Z", "2026-11-30T17:00:00Z"), ("2026-11-30T17:00:00Z\n", ""),
                                      ("tomorrow", ""), (None, "")])
def test_instance_record_keeps_the_expiry_tag_only_in_its_form(tag, kept):
    tags = SPOT_RECLAIMED["Tags"] + ([{"Key": "mocha-cloud:expires-at", "Value": tag}] if tag is not None else [])
    assert aws_results.instance_record(dict(SPOT_RECLAIMED, Tags=tags))["expires_at"] == kept


def inst(state, code="", iid="i-1", end=""):
    return {"instance_id": iid, "state": state, "state_reason_code": code, "end_time": end, "launch_time": ""}


SPOT = inst("terminated", "Server.SpotInstanceTermination", "i-spot", "2026-11-30T12:34:56Z")
TIMER = inst("terminated", "Client.InstanceInitiatedShutdown", "i-timer")


@pytest.mark.parametrize("instances,marker,verdict,reason", [
    ([], {"state": "finished", "iteration": 70000}, "finished", "state.json says finished at iteration 70000"),
    ([inst("running")], {"state": "finished", "iteration": 70000}, "finished", "finished"),
    ([inst("running")], {"state": "running", "iteration": 10}, "running", "instance i-1 is running"),
    ([inst("pending")], None, "running", "instance i-1 is pending"),
    ([SPOT], {"state": "failed", "iteration": 3}, "failed", "state.json says failed at iteration 3"),
    ([inst("stopped")], {"state": "running", "iteration": 5}, "stopped", "instance i-1 is stopped"),
    ([SPOT], {"state": "interrupted", "iteration": 4000}, "interrupted", "state.json says interrupted at iteration 4000"),
    ([SPOT], {"state": "running", "iteration": 4000}, "interrupted",
     "spot interruption: state.json says running at iteration 4000 but instance i-spot ended at 2026-11-30T12:34:56Z "
     "(Server.SpotInstanceTermination)"),
    ([TIMER], {"state": "running", "iteration": 9}, "interrupted", "(Client.InstanceInitiatedShutdown)"),
    ([], {"state": "running", "iteration": 9}, "interrupted", "no instance of it is on record"),
    ([TIMER], None, "vanished", "no live instance and no state.json; instance i-timer ended"),
    ([], None, "vanished", "no instance of it is on record"),
])
def test_verdicts(instances, marker, verdict, reason):
    got, why = aws_results.run_verdict(instances, marker)
    assert got == verdict and reason in why, why


def test_an_unreadable_marker_is_said_so():
    assert aws_results.run_verdict([], None, "state.json is not JSON")[1].startswith(
        "no live instance, and state.json is unreadable (state.json is not JSON)")


def test_summary_counts_interruptions_and_lists_live_instances_oldest_first():
    a = dict(inst("terminated", "Server.SpotInstanceTermination", "i-a"), launch_time="2026-11-30T01:00:00Z")
    b = dict(inst("running", "", "i-b"), launch_time="2026-11-30T02:00:00Z")
    run = aws_results.summarize_run("exp1", [b, a], {"state": "running", "iteration": 1}, prefix="p/exp1/")
    assert [i["instance_id"] for i in run["instances"]] == ["i-a", "i-b"]
    assert run["live_instances"] == ["i-b"] and run["interruptions"] == 1 and run["verdict"] == "running"
    assert run["prefix"] == "p/exp1/"


# --- boto3 layer (Stubber) -------------------------------------------------------------------------------------

RETRY = AWSRetry.jittered_backoff(retries=3, delay=0.01, max_delay=0.02)


def client(service):
    raw = boto3.client(service, region_name="us-east-1", endpoint_url="http://127.0.0.1:9",
                       aws_access_key_id="testing", aws_secret_access_key="testing")  # noqa: S106 - fake
    return RetryingBotoClientWrapper(raw, RETRY)


def test_instances_of_the_project_are_read_page_by_page_with_their_reason():
    ec2 = client("ec2")
    filters = [{"Name": "tag:mocha-cloud:project", "Values": ["mocha-cloud"]}, {"Name": "tag:mocha-cloud:run-id", "Values": ["exp1"]}]
    second = dict(SPOT_RECLAIMED, InstanceId="i-0b", State={"Code": 16, "Name": "running"}, StateReason={}, StateTransitionReason="")
    with Stubber(ec2.client) as stub:
        stub.add_response("describe_instances", {"Reservations": [{"Instances": [SPOT_RECLAIMED]}], "NextToken": "t1"},
                          {"Filters": filters})
        stub.add_response("describe_instances", {"Reservations": [{"Instances": [second]}]}, {"Filters": filters, "NextToken": "t1"})
        records = aws_results.describe_project_instances(ec2, "mocha-cloud", "exp1")
        stub.assert_no_pending_responses()
    assert [(r["instance_id"], r["state"], r["state_reason_code"]) for r in records] == [
        ("i-0a1b2c3d4e5f60718", "terminated", "Server.SpotInstanceTermination"), ("i-0b", "running", "")]
    assert aws_results.run_verdict(records, {"state": "running", "iteration": 1})[0] == "running"


def test_marker_absent_unreadable_and_read():
    s3 = client("s3")
    key = {"Bucket": BUCKET, "Key": "p/r/state.json", "Range": "bytes=0-65536"}
    body = b'{"state": "interrupted", "iteration": 42, "updated_at": "t"}'
    with Stubber(s3.client) as stub:
        stub.add_client_error("get_object", "NoSuchKey", http_status_code=404, expected_params=key)
        stub.add_client_error("get_object", "AccessDenied", http_status_code=403, expected_params=key)
        stub.add_response("get_object", {"Body": StreamingBody(io.BytesIO(b"not json"), 8)}, key)
        stub.add_response("get_object", {"Body": StreamingBody(io.BytesIO(body), len(body))}, key)
        assert aws_results.read_marker(s3, BUCKET, "p/r/") == (None, "")
        assert aws_results.read_marker(s3, BUCKET, "p/r/") == (None, f"AccessDenied reading s3://{BUCKET}/p/r/state.json")
        assert "not JSON" in aws_results.read_marker(s3, BUCKET, "p/r/")[1]
        assert aws_results.read_marker(s3, BUCKET, "p/r/") == ({"state": "interrupted", "iteration": 42, "updated_at": "t",
                                                                   "host": "", "snapshot": ""}, "")


def test_a_bucket_of_another_account_is_reported_not_read():
    s3 = client("s3")
    with Stubber(s3.client) as stub:
        stub.add_client_error("head_bucket", "403", http_status_code=403, expected_params={"Bucket": BUCKET})
        state = aws_results.bucket_state(s3, BUCKET, "mocha-cloud")
        stub.assert_no_pending_responses()
    assert state["exists"] and not state["accessible"] and not state["ours"]


# --- whose the results location is (preflight) ---------------------------------------------------------------------


def _location(bucket=None, role=None, profile=None, run_id="x1"):
    bucket = {"name": BUCKET, "owner": ACCOUNT, "exists": True, "accessible": True, "ours": True, **(bucket or {})}
    role = {"name": "mocha-cloud-x1", "exists": False, "ours": False, "tags": {}, "inline_policies": [], **(role or {})}
    profile = {"name": "mocha-cloud-x1", "exists": False, "ours": False, **(profile or {})}
    return {"bucket": bucket, "runs": [{"run_id": run_id, "role": role, "instance_profile": profile}], "refused": []}


OURS_ROLE = {"exists": True, "ours": True, "tags": {"mocha-cloud:results-bucket": BUCKET},
             "inline_policies": ["mocha-cloud-results"]}


@pytest.mark.parametrize(("found", "problems"), [
    (_location(), []),
    (_location(bucket={"exists": False, "accessible": False, "ours": False}), []),
    (_location(role=OURS_ROLE, profile={"exists": True, "ours": True}), []),
    (_location(bucket={"accessible": False, "ours": False}),
     [f"bucket {BUCKET} exists but is not account {ACCOUNT}'s (HeadBucket with ExpectedBucketOwner was refused: bucket "
      "names are global, and another account may have made it first, whatever its tags say): give another "
      "aws_gpu_instance_results_bucket"]),
    (_location(bucket={"ours": False}),
     [f"bucket {BUCKET} exists but is not tagged mocha-cloud:project=mocha-cloud: give another aws_gpu_instance_results_bucket"]),
    (_location(role={"exists": True}),
     ["IAM role mocha-cloud-x1 exists but is not the role of run x1 of mocha-cloud (tags mocha-cloud:project, "
      "mocha-cloud:run-id and path /mocha-cloud/mocha-cloud/): use another run id"]),
    (_location(role={**OURS_ROLE, "tags": {"mocha-cloud:results-bucket": "other-bucket"}}),
     [f"IAM role mocha-cloud-x1 serves results bucket other-bucket, not {BUCKET} (the same run id in another region "
      "or with another bucket): use another run id"]),
    (_location(role={**OURS_ROLE, "tags": {}}),
     [f"IAM role mocha-cloud-x1 serves results bucket ?, not {BUCKET} (the same run id in another region or with "
      "another bucket): use another run id"]),
    (_location(role={**OURS_ROLE, "inline_policies": ["mocha-cloud-results", "admin", "admin", "s3all"]}),
     ["IAM role mocha-cloud-x1 has inline policies other than mocha-cloud-results: admin, s3all; a run role may reach "
      "its own prefix only, remove them (or tear the run down) first"]),
    (_location(profile={"exists": True}),
     ["instance profile mocha-cloud-x1 exists but is not tagged mocha-cloud:project=mocha-cloud on path "
      "/mocha-cloud/mocha-cloud/: use another run id"]),
    (_location(run_id="other"), []),  # the run asked for is not in the answer: nothing of it exists
], ids=["nothing", "no-bucket", "ours", "other-account", "bucket-untagged", "role-not-ours", "role-other-bucket",
        "role-untagged-bucket", "role-extra-policies", "profile-not-ours", "run-absent"])
def test_location_problems(found, problems):
    assert aws_results.location_problems(found, "mocha-cloud", "x1") == problems
    assert aws_gpu_results_problems(found, "mocha-cloud", "x1") == problems


def test_location_problems_are_all_said_at_once():
    found = _location(bucket={"ours": False}, role={"exists": True}, profile={"exists": True})
    assert len(aws_results.location_problems(found, "mocha-cloud", "x1")) == 3


def test_location_problems_need_the_answer_of_aws_gpu_runs_info():
    with pytest.raises(AnsibleFilterError, match="aws_gpu_results_problems: needs the answer of aws_gpu_runs_info"):
        aws_gpu_results_problems(["x"], "mocha-cloud", "x1")


@pytest.mark.parametrize(("region", "ok"), [("us-east-1", True), ("us-gov-west-1", True), ("cn-north-1", True),
                                            ("us-east", False), ("US-EAST-1", False), (None, False), ("us-east-1\n", False)])
def test_region_problem_is_the_one_rule(region, ok):
    problem = aws_results.region_problem(region)
    assert (problem is None) == ok
    if not ok:
        assert problem == f"aws_gpu_instance_region must look like us-east-1, got {region!r}"
