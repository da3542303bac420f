"""The fake AWS's RunInstances says no as EC2 does (tests/integration/moto_launcher.py: moto alone never refuses and
launches MinCount instances whatever MaxCount says). Checked with boto3 against the server, as the role's launch sees it:

- InsufficientInstanceCapacity, HTTP 500 (a server error: botocore's default mode would repeat it), EC2's wording: on
  demand naming the zones offering the type that have room, for spot "There is no Spot capacity available that matches
  your request."; nothing is created before the refusal.
- Unsupported, HTTP 400, EC2's wording, where DescribeInstanceTypeOfferings (moto's data) says the zone lacks the type.
- As many instances as EC2 can place from MinCount up to MaxCount; none below MinCount. Capacity comes back when an
  instance terminates.
- An instance launched from a launch template with spot market options is a spot instance, and an instance profile
  given in the call goes to every instance launched.
"""

import pytest
from botocore.config import Config
from botocore.exceptions import ClientError

ONE_TRY = Config(retries={"max_attempts": 1, "mode": "standard"})
AL2023 = "/aws/service/ami-amazon-linux-latest/al2023-ami-kernel-default-x86_64"


@pytest.fixture
def ec2(aws):
    import boto3

    return boto3.client("ec2", region_name="us-east-1", endpoint_url=aws.endpoint, aws_access_key_id="testing",
                        aws_secret_access_key="testing", config=ONE_TRY)  # noqa: S106 - fake


def subnets(ec2):
    found = ec2.describe_subnets(Filters=[{"Name": "default-for-az", "Values": ["true"]}])["Subnets"]
    return {s["AvailabilityZone"]: s["SubnetId"] for s in found}


@pytest.fixture
def ami(aws):
    """An AMI moto knows, from the public parameter it carries (quicker than listing its images)."""
    return aws.client("ssm").get_parameter(Name=AL2023)["Parameter"]["Value"]


def live(ec2):
    states = [{"Name": "instance-state-name", "Values": ["pending", "running"]}]
    return [i for r in ec2.describe_instances(Filters=states)["Reservations"] for i in r["Instances"]]


def refusal(call):
    with pytest.raises(ClientError) as caught:
        call()
    resp = caught.value.response
    return resp["Error"]["Code"], resp["Error"]["Message"], resp["ResponseMetadata"]["HTTPStatusCode"]


def test_no_capacity_in_a_zone_is_refused_with_ec2s_code_status_and_message(aws, ec2, ami):
    aws.set_capacity({"g4dn.xlarge@us-east-1a": 0, "g4dn.xlarge@us-east-1d": 0})
    net = subnets(ec2)
    code, message, status = refusal(lambda: ec2.run_instances(ImageId=ami, InstanceType="g4dn.xlarge", MinCount=1,
                                                              MaxCount=1, SubnetId=net["us-east-1a"]))
    assert (code, status) == ("InsufficientInstanceCapacity", 500)
    assert message == ("We currently do not have sufficient g4dn.xlarge capacity in the Availability Zone you requested "
                       "(us-east-1a). Our system will be working on provisioning additional capacity. You can currently get "
                       "g4dn.xlarge capacity by not specifying an Availability Zone in your request or choosing us-east-1b, "
                       "us-east-1c, us-east-1f.")  # not 1d (full), not 1e (does not offer it)
    assert live(ec2) == [] and ec2.describe_volumes()["Volumes"] == []  # nothing made before the refusal
    # Another type in the same zone, and the same type in another zone, launch.
    ec2.run_instances(ImageId=ami, InstanceType="g5.xlarge", MinCount=1, MaxCount=1, SubnetId=net["us-east-1a"])
    ec2.run_instances(ImageId=ami, InstanceType="g4dn.xlarge", MinCount=1, MaxCount=1, SubnetId=net["us-east-1b"])
    assert sorted((i["InstanceType"], i["Placement"]["AvailabilityZone"]) for i in live(ec2)) == [
        ("g4dn.xlarge", "us-east-1b"), ("g5.xlarge", "us-east-1a")]


def test_nowhere_with_room_ends_the_message_after_its_second_sentence(aws, ec2, ami):
    aws.set_capacity({"*@*": 0})
    _code, message, _status = refusal(lambda: ec2.run_instances(ImageId=ami, InstanceType="g4dn.xlarge", MinCount=1,
                                                                MaxCount=1, SubnetId=subnets(ec2)["us-east-1c"]))
    assert message.endswith("(us-east-1c). Our system will be working on provisioning additional capacity.")


def test_a_zone_without_the_type_is_unsupported(aws, ec2, ami):
    code, message, status = refusal(lambda: ec2.run_instances(ImageId=ami, InstanceType="g4dn.xlarge", MinCount=1,
                                                              MaxCount=1, SubnetId=subnets(ec2)["us-east-1e"]))
    assert (code, status) == ("Unsupported", 400)
    assert message == ("Your requested instance type (g4dn.xlarge) is not supported in your requested Availability Zone "
                       "(us-east-1e). Please retry your request by not specifying an Availability Zone or choosing "
                       "us-east-1a, us-east-1b, us-east-1c, us-east-1d, us-east-1f.")


def test_as_many_as_fit_from_min_to_max_and_capacity_comes_back(aws, ec2, ami):
    aws.set_capacity({"g4dn.xlarge@us-east-1a": 2})
    net = subnets(ec2)
    made = ec2.run_instances(ImageId=ami, InstanceType="g4dn.xlarge", MinCount=1, MaxCount=5, SubnetId=net["us-east-1a"])
    assert len(made["Instances"]) == 2  # EC2 launches what it can place above MinCount
    code, _m, _s = refusal(lambda: ec2.run_instances(ImageId=ami, InstanceType="g4dn.xlarge", MinCount=1, MaxCount=1,
                                                     SubnetId=net["us-east-1a"]))
    assert code == "InsufficientInstanceCapacity"
    ec2.terminate_instances(InstanceIds=[made["Instances"][0]["InstanceId"]])
    code, _m, _s = refusal(lambda: ec2.run_instances(ImageId=ami, InstanceType="g4dn.xlarge", MinCount=2, MaxCount=2,
                                                     SubnetId=net["us-east-1a"]))
    assert code == "InsufficientInstanceCapacity"  # one place free, two asked as the minimum: none launched
    again = ec2.run_instances(ImageId=ami, InstanceType="g4dn.xlarge", MinCount=1, MaxCount=3, SubnetId=net["us-east-1a"])
    assert len(again["Instances"]) == 1
    # Without a capacity limit, MaxCount instances (moto alone would launch MinCount).
    plenty = ec2.run_instances(ImageId=ami, InstanceType="g4dn.xlarge", MinCount=1, MaxCount=3, SubnetId=net["us-east-1b"])
    assert len(plenty["Instances"]) == 3


def test_spot_capacity_is_its_own_pool_and_a_spot_template_makes_spot_instances(aws, ec2, ami):
    iam = aws.client("iam")
    iam.create_role(RoleName="r", AssumeRolePolicyDocument="{}")
    arn = iam.create_instance_profile(InstanceProfileName="p")["InstanceProfile"]["Arn"]
    iam.add_role_to_instance_profile(InstanceProfileName="p", RoleName="r")
    ec2.create_launch_template(LaunchTemplateName="spot", LaunchTemplateData={"InstanceMarketOptions": {
        "MarketType": "spot", "SpotOptions": {"SpotInstanceType": "one-time", "InstanceInterruptionBehavior": "terminate"}}})
    aws.set_capacity({"spot:g4dn.xlarge@*": 0})
    net = subnets(ec2)
    spot = {"ImageId": ami, "InstanceType": "g4dn.xlarge", "MinCount": 1, "MaxCount": 2, "SubnetId": net["us-east-1a"],
            "LaunchTemplate": {"LaunchTemplateName": "spot"}, "IamInstanceProfile": {"Arn": arn}}
    code, message, status = refusal(lambda: ec2.run_instances(**spot))
    assert (code, message, status) == ("InsufficientInstanceCapacity",
                                       "There is no Spot capacity available that matches your request.", 500)
    on_demand = {k: v for k, v in spot.items() if k != "LaunchTemplate"}
    made = ec2.run_instances(**on_demand)["Instances"]  # on demand is another pool: it has room
    assert [i.get("InstanceLifecycle") for i in made] == [None, None]
    aws.set_capacity({})
    made = ec2.run_instances(**spot)["Instances"]
    ids = [i["InstanceId"] for i in made]
    described = [i for r in ec2.describe_instances(InstanceIds=ids)["Reservations"] for i in r["Instances"]]
    assert [i.get("InstanceLifecycle") for i in described] == ["spot", "spot"]
    assert [i.get("IamInstanceProfile", {}).get("Arn") for i in described] == [arn, arn]  # every instance, not the first
