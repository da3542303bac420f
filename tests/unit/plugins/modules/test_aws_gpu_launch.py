"""The aws_gpu_launch module against stubbed EC2: one RunInstances per attempt, the next at once after a refusal, a
fleet across zones with one type, the instance profile not ready yet, an error that stops, check mode, the failure
with every attempt, and a client that makes each call once."""

import pytest
from ansible_collections.mocha.cloud.plugins.modules import aws_gpu_launch
from ansible_collections.mocha.cloud.tests.unit.plugins.aws_stubs import Failed, Stubber, client
from ansible_collections.mocha.cloud.tests.unit.plugins.modules.utils import run_module
from botocore.stub import ANY

ICE_MSG = ("We currently do not have sufficient {t} capacity in the Availability Zone you requested ({z}). Our system "
           "will be working on provisioning additional capacity.")


def attempt(zone, itype="g4dn.xlarge", market="on-demand"):
    return {"instance_type": itype, "availability_zone": zone, "subnet_id": f"subnet-{zone[-1]}", "market": market}


class Module:
    """What launch() reads of an AnsibleAWSModule."""

    def __init__(self, check_mode=False, **params):
        self.params = {"attempts": [attempt("us-east-1a"), attempt("us-east-1b"), attempt("us-east-1c")], "count": 1,
                       "mixed_types": False, "filters": {"tag:mocha-cloud:run-id": "r1"}, "image_id": "ami-1",
                       "key_name": "k", "security_group_ids": ["sg-1"], "iam_instance_profile_arn": None,
                       "launch_template_name": None, "root_device_name": "/dev/sda1", "volume_size_gb": 100,
                       "user_data": None, "name": "mocha-cloud-r1", "tags": {"mocha-cloud:run-id": "r1"},
                       "market_tag": "mocha-cloud:market", "wait": False, "wait_timeout": 600}
        self.params.update(params)
        self.check_mode = check_mode
        self.region = "us-east-1"

    def fail_json(self, **kwargs):
        raise Failed(kwargs["msg"], kwargs)


def instance(iid, zone, itype="g4dn.xlarge", **extra):
    return dict({"InstanceId": iid, "InstanceType": itype, "Placement": {"AvailabilityZone": zone}}, **extra)


def running(stub, instances=()):
    stub.add_response("describe_instances", {"Reservations": [{"Instances": list(instances)}] if instances else []},
                      {"Filters": [{"Name": "tag:mocha-cloud:run-id", "Values": ["r1"]},
                                   {"Name": "instance-state-name", "Values": ["pending", "running"]}]})


def refuse(stub, zone, itype="g4dn.xlarge", code="InsufficientInstanceCapacity", status=500, message=None):
    stub.add_client_error("run_instances", service_error_code=code, http_status_code=status,
                          service_message=message or ICE_MSG.format(t=itype, z=zone),
                          expected_params={**expected(zone, itype), "MaxCount": ANY})


def expected(zone, itype="g4dn.xlarge", count=1):
    return {"ImageId": "ami-1", "InstanceType": itype, "SubnetId": f"subnet-{zone[-1]}", "MinCount": 1, "MaxCount": count,
            "KeyName": "k", "SecurityGroupIds": ["sg-1"], "BlockDeviceMappings": ANY, "MetadataOptions": ANY,
            "InstanceInitiatedShutdownBehavior": "terminate", "TagSpecifications": ANY, "ClientToken": ANY}


class Clock:
    def __init__(self):
        self.t = 100.0

    def __call__(self):
        self.t += 0.25
        return self.t


def test_a_refused_zone_hands_on_to_the_next_at_once():
    ec2, slept = client("ec2"), []
    with Stubber(ec2) as stub:
        running(stub)
        refuse(stub, "us-east-1a")
        refuse(stub, "us-east-1b", code="Unsupported", status=400, message="Your requested instance type ... not supported")
        stub.add_response("run_instances", {"Instances": [instance("i-1", "us-east-1c")]}, expected("us-east-1c"))
        result = aws_gpu_launch.launch(Module(), ec2, clock=Clock(), sleep=slept.append)
        stub.assert_no_pending_responses()
    assert not slept  # no backoff between zones
    assert [(a["availability_zone"], a["result"], a.get("code")) for a in result["launch_attempts"]] == [
        ("us-east-1a", "refused", "InsufficientInstanceCapacity"), ("us-east-1b", "refused", "Unsupported"),
        ("us-east-1c", "launched", None)]
    assert result["launch_attempts"][0]["message"] == ICE_MSG.format(t="g4dn.xlarge", z="us-east-1a")
    assert result["changed"] and result["running"] == 1
    assert result["instances"] == [{"instance_id": "i-1", "instance_type": "g4dn.xlarge", "availability_zone": "us-east-1c",
                                    "market": "on-demand", "launched_now": True}]
    assert result["lines"][0].startswith("attempt 1/3: g4dn.xlarge in us-east-1a (on-demand): InsufficientInstanceCapacity: ")
    assert result["lines"][-1] == "Launched 1 x g4dn.xlarge in us-east-1c (on-demand) after 2 refusal(s); 1 of 1 instance(s) of this run running"


def test_a_fleet_fills_zone_after_zone_with_its_first_type():
    ec2 = client("ec2")
    attempts = [attempt("us-east-1a"), attempt("us-east-1b"), attempt("us-east-1a", "g5.xlarge"), attempt("us-east-1b", "g5.xlarge")]
    with Stubber(ec2) as stub:
        running(stub, [instance("i-0", "us-east-1a", LaunchTime="2026-12-07T10:00:00Z")])
        # EC2 places 1 of the 3 missing in us-east-1a (MinCount 1, MaxCount 3), none in us-east-1b.
        stub.add_response("run_instances", {"Instances": [instance("i-1", "us-east-1a")]}, expected("us-east-1a", count=3))
        refuse(stub, "us-east-1b")
        result = aws_gpu_launch.launch(Module(attempts=attempts, count=4), ec2, clock=Clock())
        stub.assert_no_pending_responses()  # the g5.xlarge attempts were not made: the fleet keeps g4dn.xlarge
    assert result["running"] == 2 and result["count"] == 4
    assert "2 of 4 instance(s) of this run running (2 short of 4" in result["msg"]


def test_mixed_types_let_the_rest_of_a_fleet_go_on_to_the_fallback_type():
    ec2 = client("ec2")
    attempts = [attempt("us-east-1a"), attempt("us-east-1a", "g5.xlarge")]
    with Stubber(ec2) as stub:
        running(stub)
        stub.add_response("run_instances", {"Instances": [instance("i-1", "us-east-1a")]}, expected("us-east-1a", count=2))
        stub.add_response("run_instances", {"Instances": [instance("i-2", "us-east-1a", "g5.xlarge")]},
                          expected("us-east-1a", "g5.xlarge", count=1))
        result = aws_gpu_launch.launch(Module(attempts=attempts, count=2, mixed_types=True), ec2, clock=Clock())
        stub.assert_no_pending_responses()
    assert [i["instance_type"] for i in result["instances"]] == ["g4dn.xlarge", "g5.xlarge"]


def test_a_run_that_has_its_instances_launches_nothing_and_changes_nothing():
    ec2 = client("ec2")
    with Stubber(ec2) as stub:
        running(stub, [instance("i-0", "us-east-1c", Tags=[{"Key": "mocha-cloud:market", "Value": "on-demand"}])])
        result = aws_gpu_launch.launch(Module(), ec2, clock=Clock())
        stub.assert_no_pending_responses()
    assert not result["changed"] and result["launch_attempts"] == [] and result["running"] == 1


def test_check_mode_launches_nothing_and_says_where_it_would_start():
    ec2 = client("ec2")
    with Stubber(ec2) as stub:
        running(stub)
        result = aws_gpu_launch.launch(Module(check_mode=True), ec2, clock=Clock())
        stub.assert_no_pending_responses()
    assert result["changed"] and result["msg"] == "Would launch 1 instance(s), first as g4dn.xlarge in us-east-1a (on-demand)"


def test_a_new_instance_profile_gets_the_same_attempt_again_shortly():
    ec2, slept = client("ec2"), []
    not_yet = "Value (arn:aws:iam::1:instance-profile/p) for parameter iamInstanceProfile.arn is invalid. Invalid IAM Instance Profile ARN"
    with Stubber(ec2) as stub:
        running(stub)
        stub.add_client_error("run_instances", "InvalidParameterValue", not_yet, 400,
                              expected_params={**expected("us-east-1a"), "IamInstanceProfile": {"Arn": "arn:p"}})
        stub.add_response("run_instances", {"Instances": [instance("i-1", "us-east-1a")]},
                          {**expected("us-east-1a"), "IamInstanceProfile": {"Arn": "arn:p"}})
        result = aws_gpu_launch.launch(Module(iam_instance_profile_arn="arn:p"), ec2, clock=Clock(), sleep=slept.append)
    assert slept == [10] and result["running"] == 1 and len(result["launch_attempts"]) == 1


def test_an_error_that_is_not_about_capacity_stops_with_the_attempts_so_far():
    ec2 = client("ec2")
    with Stubber(ec2) as stub:
        running(stub)
        refuse(stub, "us-east-1a")
        stub.add_client_error("run_instances", "VcpuLimitExceeded", "You have requested more vCPU capacity than your "
                              "current vCPU limit of 0 allows", 400, expected_params={**expected("us-east-1b")})
        with pytest.raises(Failed) as failed:
            aws_gpu_launch.launch(Module(), ec2, clock=Clock())
        stub.assert_no_pending_responses()  # us-east-1c was not tried
    msg, result = failed.value.args
    assert msg.startswith("EC2 refused a launch attempt with an error that is not about capacity: VcpuLimitExceeded: ")
    assert [a["result"] for a in result["launch_attempts"]] == ["refused", "error"]


def test_nothing_anywhere_fails_with_every_attempt():
    ec2 = client("ec2")
    attempts = [attempt(z, market="spot") for z in ("us-east-1a", "us-east-1b")] + [attempt("us-east-1a")]
    spot = "There is no Spot capacity available that matches your request."
    with Stubber(ec2) as stub:
        running(stub)
        for zone in ("us-east-1a", "us-east-1b"):
            stub.add_client_error("run_instances", "InsufficientInstanceCapacity", spot, 500,
                                  expected_params={**expected(zone), "LaunchTemplate": {"LaunchTemplateName": "lt"}})
        refuse(stub, "us-east-1a")
        with pytest.raises(Failed) as failed:
            aws_gpu_launch.launch(Module(attempts=attempts, launch_template_name="lt"), ec2, clock=Clock())
    msg, result = failed.value.args
    assert msg.splitlines()[:4] == [
        "No instance launched in us-east-1: EC2 refused all 3 attempt(s) for 1 instance(s).",
        f"attempt 1/3: g4dn.xlarge in us-east-1a (spot): InsufficientInstanceCapacity: {spot} (0.2 s)",
        f"attempt 2/3: g4dn.xlarge in us-east-1b (spot): InsufficientInstanceCapacity: {spot} (0.5 s)",
        "attempt 3/3: g4dn.xlarge in us-east-1a (on-demand): InsufficientInstanceCapacity: "
        + ICE_MSG.format(t="g4dn.xlarge", z="us-east-1a") + " (0.8 s)"]
    assert "aws_gpu_instance_spot_on_demand_fallback" not in msg  # on demand was allowed and tried
    assert result["running"] == 0


def test_the_client_makes_each_call_once(monkeypatch):
    """botocore's default retry mode repeats a 500 (InsufficientInstanceCapacity is one) in the same zone: off."""
    seen = {}

    def fake_client(self, service, retry_decorator=None, **kw):
        seen.update(service=service, config=kw.get("config"), retry=retry_decorator)
        raise RuntimeError("stop here")

    monkeypatch.setattr("ansible_collections.amazon.aws.plugins.module_utils.modules.AnsibleAWSModule.client", fake_client)
    with pytest.raises(RuntimeError, match="stop here"):
        run_module(aws_gpu_launch.main, {"attempts": [attempt("us-east-1a")], "filters": {"tag:x": "y"},
                                         "image_id": "ami-1", "region": "us-east-1"})
    assert seen["service"] == "ec2" and seen["retry"] is not None
    assert seen["config"].retries == {"max_attempts": 1, "mode": "standard"}


@pytest.mark.parametrize("args, text", [
    ({"attempts": []}, "no attempts"),
    ({"attempts": [{"instance_type": "g4dn.xlarge"}]}, "attempt 1 needs instance_type, availability_zone, subnet_id and market"),
    ({"attempts": [attempt("us-east-1a", market="spot")]}, "attempt 1 is spot: give launch_template_name"),
    ({"count": 0}, "count must be at least 1"),
])
def test_bad_arguments_are_refused_before_any_call(args, text):
    result = run_module(aws_gpu_launch.main, dict({"attempts": [attempt("us-east-1a")], "filters": {"tag:x": "y"},
                                                   "image_id": "ami-1", "region": "us-east-1"}, **args))
    assert result["failed"] and text in result["msg"]
