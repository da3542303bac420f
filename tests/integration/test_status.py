"""playbooks/status.yml against moto (the fake AWS): what runs and what it costs at any time, changing nothing, and
without credentials only far enough to say so. The same code makes the bill at the end of site.yml
(playbooks/tasks/bill.yml); its figures are unit-tested in tests/unit/plugins/module_utils/test_run_bill.py and the
journey's bill is checked by tests/pipeline/run_pipeline.py."""

import json

from moto_server import aws_env, run_playbook

PROJECT = "mocha-cloud"
BUCKET = "mocha-cloud-results-123456789012-us-east-1"  # the default name for moto's account and region
EXPIRES = "2030-01-01T00:00:00Z"


def plant(aws):
    """A run r1 training on an on-demand instance (its legs say it paid 0.2 USD an hour), and a run r2 whose instance
    is gone while its state says running (interrupted: it can be resumed), as the journey leaves them."""
    ec2, s3 = aws.client("ec2"), aws.client("s3")
    ami = ec2.describe_images(Owners=["amazon"])["Images"][0]["ImageId"]
    tags = [{"Key": "mocha-cloud:project", "Value": PROJECT}, {"Key": "mocha-cloud:run-id", "Value": "r1"},
            {"Key": "mocha-cloud:expires-at", "Value": EXPIRES}]
    iid = ec2.run_instances(ImageId=ami, InstanceType="g4dn.xlarge", MinCount=1, MaxCount=1,
                            TagSpecifications=[{"ResourceType": "instance", "Tags": tags}])["Instances"][0]["InstanceId"]
    s3.create_bucket(Bucket=BUCKET)
    s3.put_bucket_tagging(Bucket=BUCKET, Tagging={"TagSet": [{"Key": "mocha-cloud:project", "Value": PROJECT}]})
    legs = {"legs": [{"leg": 1, "instance_id": iid, "instance_type": "g4dn.xlarge", "market": "on-demand", "hourly_usd": 0.2}]}
    s3.put_object(Bucket=BUCKET, Key=f"{PROJECT}/r1/state.json", Body=json.dumps({"state": "running", "iteration": 100}).encode())
    s3.put_object(Bucket=BUCKET, Key=f"{PROJECT}/r1/state/legs.json", Body=json.dumps(legs).encode())
    s3.put_object(Bucket=BUCKET, Key=f"{PROJECT}/r2/state.json", Body=json.dumps({"state": "running", "iteration": 300}).encode())
    s3.put_object(Bucket=BUCKET, Key=f"{PROJECT}/r2/state/snapshot-000300.jld", Body=b"\x89HDF\r\n\x1a\n" + b"0" * 2048)
    return iid


def test_status_lists_what_runs_what_it_costs_and_what_is_left(aws):
    iid = plant(aws)
    before = {k: v for k, v in aws.client("s3").list_objects_v2(Bucket=BUCKET).items() if k == "KeyCount"}
    out = run_playbook("playbooks/status.yml", aws.env, {"aws_gpu_instance_region": "us-east-1"})
    flat = " ".join(out.stdout.split())
    assert out.returncode == 0, flat[-4000:]
    assert f"What runs and what it costs ({PROJECT}, us-east-1" in flat
    assert f"run r1: {iid} g4dn.xlarge" in flat and "running, up since" in flat and "at $0.2/h" in flat
    assert (f"still running {iid} (r1), $0.2/h, until 15 min after its training ends (its idle watch), at the latest "
            f"{EXPIRES}") in flat
    assert "results s3://.../mocha-cloud/r2/ (2 object(s)" in flat and "run interrupted; resumable with ansible-playbook " \
        "playbooks/recover.yml -e aws_gpu_instance_run_id=r2" in flat
    assert "remove it all ansible-playbook playbooks/teardown.yml -e teardown_delete_results=true" in flat
    assert " changed=0 " in flat
    after = {k: v for k, v in aws.client("s3").list_objects_v2(Bucket=BUCKET).items() if k == "KeyCount"}
    assert before == after and [i["State"]["Name"] for r in aws.client("ec2").describe_instances()["Reservations"]
                                for i in r["Instances"]] == ["running"]


def test_status_without_credentials_says_how_to_give_them_and_nothing_else(aws):
    env = aws_env(aws.endpoint, aws.tmp, credentials=False)
    before = aws.request_count()
    out = run_playbook("playbooks/status.yml", env, {})
    flat = " ".join(out.stdout.split())
    assert out.returncode != 0
    assert "AWS credentials do not work" in flat and "export AWS_PROFILE" in flat, flat[-3000:]
    assert f"What runs and what it costs ({PROJECT}" not in flat and "Bill | Read the runs" not in flat
    assert aws.request_count() == before
