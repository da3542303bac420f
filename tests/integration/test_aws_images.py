"""Images of the configured machine against the fake AWS (moto_launcher.py): EC2 answers CreateImage at once with the
image pending and launches nothing from it until it is available (InvalidAMIID.Unavailable); a run that baked does not
wait for it, so the launch that needs it does (roles/aws_gpu_instance/tasks/images_wait.yml)."""

import json
import subprocess
import time

import pytest
from ansible_collections.mocha.cloud.plugins.module_utils import aws_images
from botocore.config import Config
from botocore.exceptions import ClientError
from moto_server import REPO
from test_aws_provision import AL2023

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


# The images entry point as site.yml's preflight runs it (aws_gpu_instance tasks_from images.yml), on localhost.
IMAGES_PLAY = """
- hosts: localhost
  connection: local
  gather_facts: false
  vars:
    ansible_python_interpreter: "{{ ansible_playbook_python }}"
  module_defaults:
    group/mocha.cloud.aws:
      region: us-east-1
      endpoint_url: "{{ lookup('ansible.builtin.env', 'AWS_ENDPOINT_URL') }}"
  tasks:
    - ansible.builtin.include_role:
        name: mocha.cloud.aws_gpu_instance
        tasks_from: images.yml
    - ansible.builtin.copy:
        dest: "{{ out }}"
        content: "{{ aws_gpu_instance_image | to_json }}"
        mode: "0600"
"""


def test_the_launch_waits_for_a_matching_image_still_pending_then_uses_it(aws, ec2):
    base = aws.client("ssm").get_parameter(Name=AL2023)["Parameter"]["Value"]
    arch = ec2.describe_images(ImageIds=[base])["Images"][0]["Architecture"]
    # A run baked it a moment ago and trains on without waiting: it stays pending until this test releases it.
    aws.set_image_pending(3600)
    ami = bake(aws, ec2, {"mocha-cloud:project": "mocha-cloud",
                          "mocha-cloud:fingerprint": aws_images.fingerprint(base, "us-east-1", arch, "g4dn.xlarge", {}),
                          "mocha-cloud:baked-by-run": "leg1", "mocha-cloud:baked-at": "2026-12-08T01:00:00Z"})
    play, out, log = aws.tmp / "images.yml", aws.tmp / "image.json", aws.tmp / "images.log"
    play.write_text(IMAGES_PLAY)
    extra = {"aws_gpu_instance_ami_id": base, "aws_gpu_instance_market": "spot", "out": str(out)}
    with log.open("w") as sink:
        proc = subprocess.Popen(["ansible-playbook", "-i", "localhost,", str(play), "-e", json.dumps(extra)], cwd=REPO,  # noqa: S603
                                env=aws.env, stdout=sink, stderr=subprocess.STDOUT, text=True)
    try:
        deadline = time.monotonic() + 240
        while f"Wait until the image is available, {ami}" not in log.read_text() and proc.poll() is None and time.monotonic() < deadline:
            time.sleep(0.5)
        said = " ".join(log.read_text().split())
        assert f"Image: {ami}" in said and "is still pending: the launch waits for it" in said, said[-3000:]
        assert state(ec2, ami) == "pending" and proc.poll() is None, said[-3000:]
        aws.set_image_pending(3600, release=True)  # EC2 finished the snapshots
        assert proc.wait(timeout=240) == 0, log.read_text()[-4000:]
    finally:
        if proc.poll() is None:
            proc.kill()
    plan = json.loads(out.read_text())
    assert plan["reuse"]["image_id"] == ami and plan["wait"] is None and not plan["bake"], plan
    assert f"Image: launching from {ami}" in " ".join(log.read_text().split())
