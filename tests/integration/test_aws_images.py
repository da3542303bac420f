"""Images of the configured machine against the fake AWS (moto_launcher.py): EC2 answers CreateImage at once with the
image pending and launches nothing from it until it is available (InvalidAMIID.Unavailable); a run that baked does not
wait for it, so the launch that needs it does (roles/aws_gpu_instance/tasks/images_wait.yml)."""

import re
import time

import pytest
from botocore.config import Config
from botocore.exceptions import ClientError
from moto_server import run_playbook
from test_aws_provision import AL2023, base_vars

ONE_TRY = Config(retries={"max_attempts": 1, "mode": "standard"})


@pytest.fixture
def ec2(aws):
    import boto3

    return boto3.client("ec2", region_name="us-east-1", endpoint_url=aws.endpoint, aws_access_key_id="testing",
                        aws_secret_access_key="testing", config=ONE_TRY)  # noqa: S106 - fake


def state(ec2, ami):
    return ec2.describe_images(ImageIds=[ami])["Images"][0]["State"]


def bake(aws, ec2, tags):
    """An image of a fresh instance, tagged as the bake tags it; returns its id (pending: CreateImage does not wait)."""
    base = aws.client("ssm").get_parameter(Name=AL2023)["Parameter"]["Value"]
    iid = ec2.run_instances(ImageId=base, InstanceType="t3.micro", MinCount=1, MaxCount=1)["Instances"][0]["InstanceId"]
    spec = [{"ResourceType": "image", "Tags": [{"Key": k, "Value": v} for k, v in tags.items()]}]
    return ec2.create_image(InstanceId=iid, Name=f"baked-{time.monotonic_ns()}", NoReboot=True, TagSpecifications=spec)["ImageId"]


def test_a_new_image_is_pending_and_ec2_launches_nothing_from_it_until_it_is_available(aws, ec2):
    aws.set_image_pending(2)
    ami = bake(aws, ec2, {"mocha-cloud:project": "mocha-cloud"})
    assert state(ec2, ami) == "pending"
    with pytest.raises(ClientError) as caught:
        ec2.run_instances(ImageId=ami, InstanceType="t3.micro", MinCount=1, MaxCount=1)
    err = caught.value.response
    assert (err["Error"]["Code"], err["ResponseMetadata"]["HTTPStatusCode"]) == ("InvalidAMIID.Unavailable", 400)
    assert err["Error"]["Message"] == f"AMI '{ami}' is pending, and cannot be run"
    deadline = time.monotonic() + 30
    while state(ec2, ami) == "pending" and time.monotonic() < deadline:
        time.sleep(0.5)
    assert state(ec2, ami) == "available"
    assert ec2.run_instances(ImageId=ami, InstanceType="t3.micro", MinCount=1, MaxCount=1)["Instances"][0]["ImageId"] == ami


def test_provision_waits_for_a_matching_image_still_pending_and_launches_from_it(aws, ec2):
    # The fingerprint of this launch, as the plan says it in check mode (no image yet).
    dry = run_playbook("playbooks/provision.yml", aws.env, base_vars(aws.tmp, aws_gpu_instance_run_id="img1"), check=True)
    assert dry.returncode == 0, dry.stdout[-4000:]
    fingerprint = re.search(r"none matches fingerprint ([0-9a-f]{20})", dry.stdout).group(1)
    # A run baked it a moment ago and trains on without waiting: it is still pending when this launch plans.
    aws.set_image_pending(4)
    ami = bake(aws, ec2, {"mocha-cloud:project": "mocha-cloud", "mocha-cloud:fingerprint": fingerprint,
                          "mocha-cloud:baked-by-run": "leg1", "mocha-cloud:baked-at": "2026-12-08T01:00:00Z"})
    out = run_playbook("playbooks/provision.yml", aws.env, base_vars(aws.tmp, aws_gpu_instance_run_id="img1"))
    flat = " ".join(out.stdout.split())
    assert out.returncode == 0, out.stdout[-4000:]
    assert f"Image: {ami}" in flat and "is still pending: the launch waits for it" in flat, flat[-3000:]
    assert f"Image: launching from {ami}" in flat, flat[-3000:]
    launched = [i for r in ec2.describe_instances(Filters=[{"Name": "tag:mocha-cloud:run-id", "Values": ["img1"]}])["Reservations"]
                for i in r["Instances"]]
    assert [i["ImageId"] for i in launched] == [ami]
    run_playbook("playbooks/teardown.yml", aws.env, {})
