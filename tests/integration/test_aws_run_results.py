"""A run's state off the instance on AWS, against a moto server (the fake AWS): the results bucket, the run's IAM role
and instance profile, their teardown with and without teardown_delete_results, failure cleanup, the refusals,
run discovery (mocha.cloud.aws_gpu_runs_info) and the inventory's results location.

moto stands in for S3 and IAM as it does for EC2. It enforces a bucket policy's Deny on object requests (through
moto_launcher.py, which reads the TLS condition as S3 does for a client on TLS; the first test below shows both
sides). What it does not do, and so what these tests cannot show: it does not evaluate IAM policies of roles (the
role's prefix-only policy is checked as a document, here and in tests/unit/plugins/module_utils/test_aws_results.py),
it makes a new instance profile usable at once (AWS takes seconds: the role retries the launch), and it cannot end an instance with
a spot interruption (the verdict for one is unit-tested with EC2's answer as fixed data).
"""

import base64
import json
import subprocess
import types

import pytest
from ansible_collections.amazon.aws.plugins.module_utils.retries import AWSRetry, RetryingBotoClientWrapper
from ansible_collections.mocha.cloud.plugins.module_utils import aws_results
from ansible_collections.mocha.cloud.plugins.modules import aws_gpu_runs_info
from moto_server import REPO, run_playbook
from test_aws_provision import base_vars, live, recap, tags

BUCKET = "mocha-cloud-results-123456789012-us-east-1"
PROFILE_ARN = "arn:aws:iam::123456789012:instance-profile/mocha-cloud/mocha-cloud/mocha-cloud-{}"



def flat(out):
    return " ".join(out.stdout.split())


def keys(aws, prefix=""):
    return sorted(o["Key"] for o in aws.client("s3").list_objects_v2(Bucket=BUCKET, Prefix=prefix).get("Contents", []))


def put(aws, key, body=b"x", bucket=BUCKET):
    aws.client("s3").put_object(Bucket=bucket, Key=key, Body=body)


def test_the_fake_s3_applies_bucket_policies_as_s3_does_for_a_client_on_tls(aws):
    s3 = aws.client("s3")
    s3.create_bucket(Bucket=BUCKET)
    s3.put_bucket_policy(Bucket=BUCKET, Policy=json.dumps(aws_results.bucket_policy(BUCKET)))
    put(aws, "p/r/ok.txt")  # the TLS-only policy does not stop a client on TLS
    assert keys(aws) == ["p/r/ok.txt"]
    denying = [
        {"Effect": "Deny", "Principal": "*", "Action": "s3:PutObject", "Resource": f"arn:aws:s3:::{BUCKET}/*"},
        {"Effect": "Deny", "Principal": "*", "Action": "s3:*", "Resource": f"arn:aws:s3:::{BUCKET}/*",
         "Condition": {"Bool": {"aws:SecureTransport": "true"}}},
    ]
    for statement in denying:
        s3.put_bucket_policy(Bucket=BUCKET, Policy=json.dumps({"Version": "2012-10-17", "Statement": [statement]}))
        with pytest.raises(s3.exceptions.ClientError, match="403"):
            put(aws, "p/r/denied.txt")
    assert keys(aws) == ["p/r/ok.txt"]


def test_results_bucket_role_and_profile_from_provision_to_teardown(aws):
    s3, iam = aws.client("s3"), aws.client("iam")
    # Bystanders nobody tagged: teardown never touches them, whatever it deletes.
    s3.create_bucket(Bucket="someone-elses-results")
    put(aws, "mocha-cloud/r1/keep.txt", bucket="someone-elses-results")
    iam.create_role(RoleName="mocha-cloud-r9", Path="/mocha-cloud/mocha-cloud/", AssumeRolePolicyDocument=json.dumps(
        aws_results.trust_policy()))

    extra = base_vars(aws.tmp, aws_gpu_instance_run_id="r1")
    dry = run_playbook("playbooks/provision.yml", aws.env, extra, check=True)
    assert dry.returncode == 0, dry.stdout[-4000:]
    assert [b["Name"] for b in s3.list_buckets()["Buckets"]] == ["someone-elses-results"]
    assert [r["RoleName"] for r in iam.list_roles()["Roles"]] == ["mocha-cloud-r9"] and not live(aws)["profiles"]

    out = run_playbook("playbooks/provision.yml", aws.env, extra)
    assert out.returncode == 0, out.stdout[-4000:]
    assert f"Results go to s3://{BUCKET}/mocha-cloud/r1/ through instance profile mocha-cloud-r1." in flat(out)

    # The bucket: encrypted, no public access, TLS only, owner-enforced, not versioned, tagged for the project.
    enc = s3.get_bucket_encryption(Bucket=BUCKET)["ServerSideEncryptionConfiguration"]["Rules"]
    assert [r["ApplyServerSideEncryptionByDefault"]["SSEAlgorithm"] for r in enc] == ["AES256"]
    assert s3.get_public_access_block(Bucket=BUCKET)["PublicAccessBlockConfiguration"] == {
        "BlockPublicAcls": True, "IgnorePublicAcls": True, "BlockPublicPolicy": True, "RestrictPublicBuckets": True}
    assert json.loads(s3.get_bucket_policy(Bucket=BUCKET)["Policy"]) == aws_results.bucket_policy(BUCKET)
    assert s3.get_bucket_ownership_controls(Bucket=BUCKET)["OwnershipControls"]["Rules"] == [{"ObjectOwnership": "BucketOwnerEnforced"}]
    assert s3.get_bucket_versioning(Bucket=BUCKET).get("Status") != "Enabled"
    btags = {t["Key"]: t["Value"] for t in s3.get_bucket_tagging(Bucket=BUCKET)["TagSet"]}
    assert btags["mocha-cloud:project"] == "mocha-cloud" and btags["mocha-cloud:owner"].startswith("arn:aws:")
    assert "mocha-cloud:run-id" not in btags and "mocha-cloud:expires-at" not in btags  # it serves every run

    # The role: EC2 only, one inline policy naming the run's prefix only, nothing attached, tagged.
    role = iam.get_role(RoleName="mocha-cloud-r1")["Role"]
    assert role["Path"] == "/mocha-cloud/mocha-cloud/"
    assert role["AssumeRolePolicyDocument"] == aws_results.trust_policy()
    assert iam.list_role_policies(RoleName="mocha-cloud-r1")["PolicyNames"] == ["mocha-cloud-results"]
    policy = iam.get_role_policy(RoleName="mocha-cloud-r1", PolicyName="mocha-cloud-results")["PolicyDocument"]
    assert policy == aws_results.role_policy(BUCKET, "mocha-cloud", "r1", "123456789012")
    assert policy["Statement"][0]["Resource"] == f"arn:aws:s3:::{BUCKET}/mocha-cloud/r1/*"
    assert policy["Statement"][1]["Condition"] == {"StringLike": {"s3:prefix": ["mocha-cloud/r1/", "mocha-cloud/r1/*"]},
                                                   "StringEquals": {"s3:ResourceAccount": "123456789012"}}
    assert policy["Statement"][0]["Condition"] == {"StringEquals": {"s3:ResourceAccount": "123456789012"}}
    assert iam.list_attached_role_policies(RoleName="mocha-cloud-r1")["AttachedPolicies"] == []
    rtags = {t["Key"]: t["Value"] for t in role["Tags"]}
    assert (rtags["mocha-cloud:run-id"], rtags["mocha-cloud:results-bucket"], rtags["mocha-cloud:results-prefix"]) == (
        "r1", BUCKET, "mocha-cloud/r1/")
    profile = iam.get_instance_profile(InstanceProfileName="mocha-cloud-r1")["InstanceProfile"]
    assert profile["Arn"] == PROFILE_ARN.format("r1") and [r["RoleName"] for r in profile["Roles"]] == ["mocha-cloud-r1"]
    assert {t["Key"]: t["Value"] for t in profile["Tags"]}["mocha-cloud:project"] == "mocha-cloud"

    # The instance: that profile (no key of any kind), IMDSv2 with one hop, the results location in its tags.
    (inst,) = [i for i in live(aws)["instances"] if tags(i).get("mocha-cloud:run-id") == "r1"]
    assert inst["IamInstanceProfile"]["Arn"] == PROFILE_ARN.format("r1")
    assert (inst["MetadataOptions"]["HttpTokens"], inst["MetadataOptions"]["HttpPutResponseHopLimit"]) == ("required", 1)
    assert (tags(inst)["mocha-cloud:results-bucket"], tags(inst)["mocha-cloud:results-prefix"]) == (BUCKET, "mocha-cloud/r1/")

    # The inventory publishes the location for the host side.
    listing = inventory(aws)
    host = f"mocha-cloud-r1-{inst['InstanceId']}"
    assert listing["_meta"]["hostvars"][host]["mocha_cloud_results"] == {"bucket": BUCKET, "prefix": "mocha-cloud/r1/",
                                                                          "region": "us-east-1"}

    again = run_playbook("playbooks/provision.yml", aws.env, extra)
    assert again.returncode == 0 and recap(again.stdout)["changed"] == 0, again.stdout[-4000:]

    # The run ships its state (as the host side does), and an earlier run r2 left results without any instance.
    for key in ("mocha-cloud/r1/snapshots/snapshot-000200.jld", "mocha-cloud/r1/state.json", "mocha-cloud/r2/train.log"):
        put(aws, key)

    down = run_playbook("playbooks/teardown.yml", aws.env, {"aws_gpu_instance_teardown_run_id": "r1"})
    assert down.returncode == 0, down.stdout[-4000:]
    assert "instance profile mocha-cloud-r1, role mocha-cloud-r1" in flat(down)
    assert f"results kept in s3://{BUCKET}/mocha-cloud/r1/ (teardown_delete_results=true removes them)" in flat(down)
    assert f"bucket {BUCKET} kept: runs r2 of mocha-cloud still use it" in flat(down)
    assert keys(aws) == ["mocha-cloud/r1/snapshots/snapshot-000200.jld", "mocha-cloud/r1/state.json", "mocha-cloud/r2/train.log"]
    assert [r["RoleName"] for r in iam.list_roles()["Roles"]] == ["mocha-cloud-r9"] and not live(aws)["profiles"]

    # One run's results on purpose: the other run's results and the bucket stay.
    down = run_playbook("playbooks/teardown.yml", aws.env, {"aws_gpu_instance_teardown_run_id": "r1", "teardown_delete_results": True})
    assert down.returncode == 0, down.stdout[-4000:]
    assert f"results s3://{BUCKET}/mocha-cloud/r1/" in flat(down) and keys(aws) == ["mocha-cloud/r2/train.log"]
    assert f"bucket {BUCKET} kept: runs r2 of mocha-cloud still use it" in flat(down)

    # Every run, in check mode first: it says what it would remove and removes nothing.
    dry = run_playbook("playbooks/teardown.yml", aws.env, {"teardown_delete_results": True}, check=True)
    assert dry.returncode == 0, dry.stdout[-4000:]
    assert f"Would remove in us-east-1: results s3://{BUCKET}/mocha-cloud/r2/, bucket {BUCKET}" in flat(dry)
    assert keys(aws) == ["mocha-cloud/r2/train.log"]

    down = run_playbook("playbooks/teardown.yml", aws.env, {"teardown_delete_results": True})
    assert down.returncode == 0, down.stdout[-4000:]
    assert f"Removed in us-east-1: results s3://{BUCKET}/mocha-cloud/r2/, bucket {BUCKET}" in flat(down)
    assert [b["Name"] for b in s3.list_buckets()["Buckets"]] == ["someone-elses-results"]
    assert [o["Key"] for o in s3.list_objects_v2(Bucket="someone-elses-results")["Contents"]] == ["mocha-cloud/r1/keep.txt"]
    assert [r["RoleName"] for r in iam.list_roles()["Roles"]] == ["mocha-cloud-r9"]  # on our path, but not tagged ours
    assert "not touched: IAM role mocha-cloud-r9 on /mocha-cloud/mocha-cloud/ is not tagged as a run of mocha-cloud" in flat(down)

    again = run_playbook("playbooks/teardown.yml", aws.env, {"teardown_delete_results": True})
    assert again.returncode == 0 and recap(again.stdout)["changed"] == 0, again.stdout[-4000:]


def test_teardown_without_delete_keeps_every_result_and_the_bucket(aws):
    out = run_playbook("playbooks/provision.yml", aws.env, base_vars(aws.tmp, aws_gpu_instance_run_id="k1"))
    assert out.returncode == 0, out.stdout[-4000:]
    put(aws, "mocha-cloud/k1/state.json", b'{"state": "finished", "iteration": 200}')
    down = run_playbook("playbooks/teardown.yml", aws.env, {})
    assert down.returncode == 0, down.stdout[-4000:]
    assert f"results kept in s3://{BUCKET}/mocha-cloud/k1/ (teardown_delete_results=true removes them)" in flat(down)
    assert f"bucket {BUCKET} kept: 1 object(s) are left in it" in flat(down)
    assert keys(aws) == ["mocha-cloud/k1/state.json"]
    left = live(aws)
    assert not left["instances"] and not left["roles"] and not left["profiles"] and len(left["buckets"]) == 1


def test_failure_cleanup_keeps_a_bucket_that_held_other_runs_results(aws, tmp_path):
    s3 = aws.client("s3")
    s3.create_bucket(Bucket=BUCKET)
    s3.put_bucket_tagging(Bucket=BUCKET, Tagging={"TagSet": [{"Key": "mocha-cloud:project", "Value": "mocha-cloud"}]})
    put(aws, "mocha-cloud/older/state.json", b'{"state": "finished", "iteration": 70000}')
    bad_key = tmp_path / "broken.pub"
    blob = (11).to_bytes(4, "big") + b"ssh-ed25519" + (31).to_bytes(4, "big") + b"k" * 31  # EC2 refuses a 31-byte key
    bad_key.write_text("ssh-ed25519 " + base64.b64encode(blob).decode() + " broken\n")
    out = run_playbook("playbooks/provision.yml", aws.env, base_vars(tmp_path, aws_gpu_instance_run_id="f1",
                                                                     aws_gpu_instance_public_key_file=str(bad_key)))
    assert out.returncode != 0
    assert "Provisioning failed at 'Provision | Key pair" in flat(out), out.stdout[-4000:]
    assert "instance profile mocha-cloud-f1, role mocha-cloud-f1, bucket none (results bucket " + BUCKET + " existed before: kept)" in flat(out)
    left = live(aws)
    assert not left["roles"] and not left["profiles"] and not left["instances"] and not left["groups"]
    assert [b["Name"] for b in left["buckets"]] == [BUCKET] and keys(aws) == ["mocha-cloud/older/state.json"]
    # Still the project's (provisioning may have added its owner tag before the failure; nothing was taken away).
    assert {"Key": "mocha-cloud:project", "Value": "mocha-cloud"} in s3.get_bucket_tagging(Bucket=BUCKET)["TagSet"]


def other_account(aws, service="s3", account="111122223333"):
    """A client of another account (moto: credentials of a role assumed in it), as whoever made a bucket first."""
    import boto3

    creds = aws.client("sts").assume_role(RoleArn=f"arn:aws:iam::{account}:role/other", RoleSessionName="other")["Credentials"]
    return boto3.client(service, region_name="us-east-1", endpoint_url=aws.endpoint, aws_access_key_id=creds["AccessKeyId"],
                        aws_secret_access_key=creds["SecretAccessKey"], aws_session_token=creds["SessionToken"])


def test_the_fake_s3_refuses_a_bucket_of_another_account_as_s3_does(aws):
    """S3 answers 403 AccessDenied when ExpectedBucketOwner is not the bucket's owner, 400 when it is not an account id;
    moto ignores the parameter, the launcher does what S3 does. Tags of another account's bucket read as S3 reads them."""
    theirs = other_account(aws)
    theirs.create_bucket(Bucket=BUCKET)
    theirs.put_bucket_tagging(Bucket=BUCKET, Tagging={"TagSet": [{"Key": "mocha-cloud:project", "Value": "mocha-cloud"}]})
    s3 = aws.client("s3")
    assert s3.get_bucket_tagging(Bucket=BUCKET)["TagSet"] == [{"Key": "mocha-cloud:project", "Value": "mocha-cloud"}]
    theirs.put_object(Bucket=BUCKET, Key="k", Body=b"x", ExpectedBucketOwner="111122223333")
    for call, kwargs in ((s3.head_bucket, {}), (s3.put_object, {"Key": "k2", "Body": b"x"}), (s3.get_object, {"Key": "k"}),
                         (s3.list_objects_v2, {})):
        with pytest.raises(s3.exceptions.ClientError, match=r"\((AccessDenied|403)\)"):
            call(Bucket=BUCKET, ExpectedBucketOwner="123456789012", **kwargs)
    with pytest.raises(s3.exceptions.ClientError, match="InvalidBucketOwnerAWSAccountID"):
        s3.list_objects_v2(Bucket=BUCKET, ExpectedBucketOwner="12345")
    assert [o["Key"] for o in theirs.list_objects_v2(Bucket=BUCKET)["Contents"]] == ["k"]


@pytest.mark.parametrize("case", ["untagged bucket", "another account's bucket tagged as ours", "role for another bucket"])
def test_refused_before_anything_is_made_when_the_names_are_taken(aws, case):
    if case == "untagged bucket":
        aws.client("s3").create_bucket(Bucket=BUCKET)
        message = f"bucket {BUCKET} exists but is not tagged mocha-cloud:project=mocha-cloud: give another aws_gpu_instance_results_bucket"
    elif case == "another account's bucket tagged as ours":
        # Made first by another account (bucket names are global) and tagged to look like the project's.
        theirs = other_account(aws)
        theirs.create_bucket(Bucket=BUCKET)
        theirs.put_bucket_tagging(Bucket=BUCKET, Tagging={"TagSet": [{"Key": "mocha-cloud:project", "Value": "mocha-cloud"}]})
        message = (f"bucket {BUCKET} exists but is not account 123456789012's (HeadBucket with ExpectedBucketOwner was refused: "
                   "bucket names are global, and another account may have made it first, whatever its tags say): give another "
                   "aws_gpu_instance_results_bucket")
    else:
        aws.client("iam").create_role(
            RoleName="mocha-cloud-x1", Path="/mocha-cloud/mocha-cloud/", AssumeRolePolicyDocument=json.dumps(aws_results.trust_policy()),
            Tags=[{"Key": "mocha-cloud:project", "Value": "mocha-cloud"}, {"Key": "mocha-cloud:run-id", "Value": "x1"},
                  {"Key": "mocha-cloud:results-bucket", "Value": "mocha-cloud-results-123456789012-eu-west-1"}])
        message = ("IAM role mocha-cloud-x1 serves results bucket mocha-cloud-results-123456789012-eu-west-1, not "
                   f"{BUCKET} (the same run id in another region or with another bucket): use another run id")
    before = live(aws)
    out = run_playbook("playbooks/provision.yml", aws.env, base_vars(aws.tmp, aws_gpu_instance_run_id="x1"))
    assert out.returncode != 0
    assert f"Results location of run x1: {message}. Nothing was created." in flat(out), flat(out)[-3000:]
    assert live(aws) == before


def discover(aws, **params):
    """aws_gpu_runs_info's discovery against moto, in this process (the clients wrapped as AnsibleAWSModule wraps them)."""
    retry = AWSRetry.jittered_backoff(retries=2, delay=0.01)
    module = types.SimpleNamespace(params={"project": "mocha-cloud", "run_id": None, "bucket": BUCKET, "bucket_owner": None,
                                           "legs": False, "include_terminated": True} | params, region="us-east-1")
    clients = [RetryingBotoClientWrapper(aws.client(s), retry) for s in ("ec2", "s3", "iam", "sts")]
    return aws_gpu_runs_info.discover(module, *clients)


def test_runs_info_finds_runs_by_instances_results_and_roles_and_gives_verdicts(aws):
    ec2, s3, iam = aws.client("ec2"), aws.client("s3"), aws.client("iam")
    s3.create_bucket(Bucket=BUCKET)
    s3.put_bucket_tagging(Bucket=BUCKET, Tagging={"TagSet": [{"Key": "mocha-cloud:project", "Value": "mocha-cloud"}]})
    s3.put_bucket_versioning(Bucket=BUCKET, VersioningConfiguration={"Status": "Enabled"})
    image = ec2.describe_images(Owners=["amazon"])["Images"][0]["ImageId"]

    def launch(run_id):
        t = [{"Key": "mocha-cloud:project", "Value": "mocha-cloud"}, {"Key": "mocha-cloud:run-id", "Value": run_id}]
        made = ec2.run_instances(ImageId=image, InstanceType="g4dn.xlarge", MinCount=1, MaxCount=1,
                                 TagSpecifications=[{"ResourceType": "instance", "Tags": t}])
        return made["Instances"][0]["InstanceId"]

    ids = {r: launch(r) for r in ("fin", "cut", "live", "halted", "bad id")}
    ec2.terminate_instances(InstanceIds=[ids["fin"], ids["cut"]])
    ec2.stop_instances(InstanceIds=[ids["halted"]])
    marker = {"fin": {"state": "finished", "iteration": 70000}, "cut": {"state": "running", "iteration": 4000},
              "live": {"state": "running", "iteration": 10}, "oops": {"state": "failed", "iteration": 3}}
    for run_id, doc in marker.items():
        put(aws, f"mocha-cloud/{run_id}/state.json", json.dumps(doc).encode())
    put(aws, "mocha-cloud/gone/snapshots/snapshot-000100.jld", b"12345")
    put(aws, "mocha-cloud/broke/state.json", b"not json")
    put(aws, "mocha-cloud/broke/state.json", b"still not json")  # a second version: versioning is on
    iam.create_role(RoleName="mocha-cloud-orphan", Path="/mocha-cloud/mocha-cloud/",
                    AssumeRolePolicyDocument=json.dumps(aws_results.trust_policy()),
                    Tags=[{"Key": "mocha-cloud:project", "Value": "mocha-cloud"}, {"Key": "mocha-cloud:run-id", "Value": "orphan"}])
    iam.create_role(RoleName="planted", Path="/mocha-cloud/mocha-cloud/", AssumeRolePolicyDocument=json.dumps(aws_results.trust_policy()))

    found = discover(aws)
    runs = {r["run_id"]: r for r in found["runs"]}
    assert {k: r["verdict"] for k, r in runs.items()} == {
        "broke": "vanished", "cut": "interrupted", "fin": "finished", "gone": "vanished", "halted": "stopped",
        "live": "running", "oops": "failed", "orphan": "vanished"}
    assert runs["cut"]["reason"].startswith(f"state.json says running at iteration 4000 but instance {ids['cut']} ended at 20")
    assert runs["cut"]["reason"].endswith("(Client.UserInitiatedShutdown)")  # moto's reason for TerminateInstances
    (cut,) = runs["cut"]["instances"]
    assert cut["state"] == "terminated" and cut["launch_time"] and cut["end_time"] and cut["market"] == "on-demand"
    assert runs["live"]["live_instances"] == [ids["live"]] and runs["halted"]["live_instances"] == [ids["halted"]]
    assert runs["broke"]["marker"] is None and "not JSON" in runs["broke"]["marker_error"]
    assert (runs["gone"]["objects"], runs["gone"]["bytes"]) == (1, 5)
    assert runs["orphan"]["role"]["exists"] and runs["orphan"]["role"]["ours"] and not runs["orphan"]["instance_profile"]["exists"]
    assert not runs["fin"]["role"]["exists"]
    assert found["bucket"]["ours"] and found["bucket"]["versioning"] == "Enabled"
    assert (found["bucket"]["objects"], found["bucket"]["versions"]) == (6, 1)
    assert sorted(found["refused"]) == [
        "IAM role planted on /mocha-cloud/mocha-cloud/ is not tagged as a run of mocha-cloud",
        f"instance {ids['bad id']}: its tag mocha-cloud:run-id 'bad id' is not a run id"]
    assert found["msg"] == "8 run(s) of mocha-cloud in us-east-1: 1 failed, 1 finished, 1 interrupted, 1 running, 1 stopped, 3 vanished"

    one = discover(aws, run_id="cut")
    assert [r["run_id"] for r in one["runs"]] == ["cut"] and one["runs"][0]["verdict"] == "interrupted"
    none = discover(aws, run_id="never")
    assert [(r["run_id"], r["verdict"], r["instances"]) for r in none["runs"]] == [("never", "vanished", [])]
    # Without a bucket of the project's, nothing in S3 is read.
    s3.put_bucket_tagging(Bucket=BUCKET, Tagging={"TagSet": [{"Key": "mocha-cloud:project", "Value": "another"}]})
    other = discover(aws)
    assert f"bucket {BUCKET} is not tagged mocha-cloud:project=mocha-cloud: not read" in other["refused"]
    assert {r["run_id"] for r in other["runs"]} == {"fin", "cut", "live", "halted", "orphan"}
    assert {r["run_id"]: r["verdict"] for r in other["runs"]}["cut"] == "vanished"


def plain(value):
    """ansible-inventory --list marks values from tags as unsafe ({"__ansible_unsafe": text}): the text itself."""
    if isinstance(value, dict):
        return value["__ansible_unsafe"] if set(value) == {"__ansible_unsafe"} else {k: plain(v) for k, v in value.items()}
    return [plain(v) for v in value] if isinstance(value, list) else value


def inventory(aws):
    inv = subprocess.run(["ansible-inventory", "-i", "inventory/aws_ec2.yml", "--list"], cwd=REPO, env=aws.env,
                         capture_output=True, text=True, timeout=300, check=False)
    assert inv.returncode == 0, inv.stderr
    return plain(json.loads(inv.stdout)) | {"warnings": " ".join(inv.stderr.split())}


def test_inventory_publishes_a_results_location_only_in_its_strict_form(aws):
    ec2 = aws.client("ec2")
    image = ec2.describe_images(Owners=["amazon"])["Images"][0]["ImageId"]

    def plant(run_id, **results):
        t = {"mocha-cloud:project": "mocha-cloud", "mocha-cloud:run-id": run_id, **results}
        made = ec2.run_instances(ImageId=image, InstanceType="g4dn.xlarge", MinCount=1, MaxCount=1, TagSpecifications=[
            {"ResourceType": "instance", "Tags": [{"Key": k, "Value": v} for k, v in t.items()]}])
        return made["Instances"][0]["InstanceId"]

    def results(bucket, prefix):
        return {"mocha-cloud:results-bucket": bucket, "mocha-cloud:results-prefix": prefix}

    good = plant("g1", **results(BUCKET, "mocha-cloud/g1/"))
    plain = plant("g2")
    other_run = plant("b1", **results(BUCKET, "mocha-cloud/g1/"))  # another run's prefix
    dotted = plant("b2", **results("attacker.example.com", "mocha-cloud/b2/"))
    half = plant("b3", **{"mocha-cloud:results-prefix": "mocha-cloud/b3/"})
    listing = inventory(aws)
    hostvars = listing["_meta"]["hostvars"]
    assert sorted(listing["gpu_hosts"]["hosts"]) == sorted([good, plain])
    assert sorted(listing["mocha_cloud_refused"]["hosts"]) == sorted([other_run, dotted, half])
    assert hostvars[good]["mocha_cloud_results"] == {"bucket": BUCKET, "prefix": "mocha-cloud/g1/", "region": "us-east-1"}
    assert hostvars[plain]["mocha_cloud_results"] == {}
    for host in (other_run, dotted, half):
        assert hostvars[host]["mocha_cloud_results"] == {}
    w = listing["warnings"]
    assert f"EC2 instance {other_run} left out of gpu_hosts: its tag mocha-cloud:results-prefix 'mocha-cloud/g1/' is not " \
           "<project>/<run id>/ of its own tags ('mocha-cloud/b1/')" in w, w
    assert f"EC2 instance {dotted} left out of gpu_hosts: its tag mocha-cloud:results-bucket 'attacker.example.com' is not a bucket name" in w
    assert f"EC2 instance {half} left out of gpu_hosts: its tag mocha-cloud:results-bucket '' is not a bucket name" in w


def test_runs_info_reads_nothing_of_another_accounts_bucket(aws):
    theirs = other_account(aws)
    theirs.create_bucket(Bucket=BUCKET)
    theirs.put_bucket_tagging(Bucket=BUCKET, Tagging={"TagSet": [{"Key": "mocha-cloud:project", "Value": "mocha-cloud"}]})
    theirs.put_object(Bucket=BUCKET, Key="mocha-cloud/r1/state.json", Body=b'{"state": "interrupted", "iteration": 5}')
    found = discover(aws)
    assert found["bucket"]["exists"] and not found["bucket"]["accessible"] and not found["bucket"]["ours"]
    assert found["bucket"]["owner"] == "123456789012" and found["runs"] == []
    assert found["refused"] == [f"bucket {BUCKET} is not account 123456789012's (HeadBucket with ExpectedBucketOwner=123456789012 "
                                "was refused), or not readable: not read"]
