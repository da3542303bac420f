"""provision.yml / aws_ec2.yml / teardown.yml against a moto server (the fake AWS), never real AWS.

One moto server per module (reset between tests). Service Quotas and Pricing are not in moto, so
these runs set aws_gpu_instance_check_quota/show_price false (or inject a quota with
aws_gpu_instance_quota_vcpus); the boto3 layer for them is tested with Stubber in tests/unit.
"""

import base64
import json
import math
import re
import stat
import subprocess
import sys

import pytest
from moto_server import REPO, aws_env, run_playbook, sealed_env

AL2023 = "/aws/service/ami-amazon-linux-latest/al2023-ami-kernel-default-x86_64"  # carried by moto itself
TEST_PARAM = "/mocha-test/dlami-ubuntu/ami-id"  # moto refuses to put /aws/... names: a stand-in name
UBUNTU_DLAMI = "ami-dca37ea5"  # "Deep Learning AMI Ubuntu Linux - 2.4_Oct2017" in moto's fake AMI list
CIDR = "203.0.113.7/32"



def base_vars(tmp_path, **overrides):
    extra = {
        "aws_gpu_instance_check_quota": False,
        "aws_gpu_instance_show_price": False,
        "aws_gpu_instance_ssh_cidr": CIDR,
        "aws_gpu_instance_ami_ssm_parameter": AL2023,
        "aws_gpu_instance_private_key_dir": str(tmp_path / "keys"),
        "aws_gpu_instance_max_hours": 2,
        # The run plan must fit the instance's life: a short run (the shipped 70,000 iterations plan ~20 h on CPU).
        "cifar10_max_iter": 200,
    }
    extra.update(overrides)
    return extra


def recap(out):
    match = re.search(r"localhost\s+: ok=(\d+)\s+changed=(\d+)\s+unreachable=(\d+)\s+failed=(\d+)", out)
    assert match, out[-3000:]
    return dict(zip(("ok", "changed", "unreachable", "failed"), map(int, match.groups()), strict=False))


def live(aws):
    """Everything of ours or not that is still there: live instances, non-default SGs, key pairs, templates, buckets,
    IAM roles and instance profiles."""
    ec2 = aws.client("ec2")
    instances = [
        i for r in ec2.describe_instances(
            Filters=[{"Name": "instance-state-name", "Values": ["pending", "running", "stopping", "stopped"]}]
        )["Reservations"] for i in r["Instances"]
    ]
    groups = [g for g in ec2.describe_security_groups()["SecurityGroups"] if g["GroupName"] != "default"]
    keys = ec2.describe_key_pairs()["KeyPairs"]
    templates = ec2.describe_launch_templates()["LaunchTemplates"]
    buckets = aws.client("s3").list_buckets()["Buckets"]
    roles = aws.client("iam").list_roles()["Roles"]
    profiles = aws.client("iam").list_instance_profiles()["InstanceProfiles"]
    return {"instances": instances, "groups": groups, "keys": keys, "templates": templates, "buckets": buckets,
            "roles": roles, "profiles": profiles}


def assert_nothing_left(aws):
    left = live(aws)
    assert not any(left.values()), {k: len(v) for k, v in left.items()}


def tags(resource):
    return {t["Key"]: t["Value"] for t in resource.get("Tags", [])}


# A play on localhost that reads hostvars[host][...] for each host of a group, templated as a real run would
# (the inventory's compose values, its group_vars, the extra vars); nothing connects to the hosts.
CONNECTION_PLAY = """
- hosts: localhost
  connection: local
  gather_facts: false
  vars:
    ansible_python_interpreter: "{{ ansible_playbook_python }}"
  tasks:
    - ansible.builtin.copy:
        dest: "{{ out }}"
        mode: "0600"
        content: >-
          {% set ns = namespace(found={}) %}
          {% for h in groups[pattern] | default([]) %}
          {% set ns.found = ns.found | combine({h: {
               'ansible_ssh_private_key_file': hostvars[h]['ansible_ssh_private_key_file'] | default(''),
               'ansible_ssh_common_args': hostvars[h]['ansible_ssh_common_args'] | default(''),
               'ansible_user': hostvars[h]['ansible_user'] | default('')}}) %}
          {% endfor %}
          {{ ns.found | to_json }}
"""


def connection_vars(aws, extra_vars, pattern="gpu_hosts"):
    """{host: {ansible_ssh_private_key_file, ansible_ssh_common_args, ansible_user}} for the hosts of a group."""
    play = aws.tmp / "connection-vars.yml"
    play.write_text(CONNECTION_PLAY)
    out = aws.tmp / "connection-vars.json"
    run = subprocess.run(
        ["ansible-playbook", "-i", "inventory/aws_ec2.yml", "-i", "localhost,", str(play),
         "-e", json.dumps(dict(extra_vars, out=str(out), pattern=pattern))],
        cwd=REPO, env=aws.env, capture_output=True, text=True, timeout=300, check=False,
    )
    assert run.returncode == 0, run.stdout[-3000:] + run.stderr[-3000:]
    return json.loads(out.read_text())


def test_provision_inventory_teardown(aws):
    ec2 = aws.client("ec2")
    # An untagged bystander in the same account: teardown must never touch it.
    bystander_sg = ec2.create_security_group(GroupName="someone-else", Description="not ours")["GroupId"]
    ec2.create_key_pair(KeyName="someone-else")
    # Any image moto knows (its list changes between releases: no id written here).
    any_ami = ec2.describe_images(Owners=["amazon"])["Images"][0]["ImageId"]
    bystander = ec2.run_instances(ImageId=any_ami, InstanceType="t3.micro", MinCount=1, MaxCount=1)
    bystander_id = bystander["Instances"][0]["InstanceId"]

    # Check mode first: it reports what it would do and makes nothing.
    dry = run_playbook("playbooks/provision.yml", aws.env, base_vars(aws.tmp, aws_gpu_instance_run_id="it1"), check=True)
    assert dry.returncode == 0, dry.stdout[-4000:]
    assert recap(dry.stdout)["changed"] >= 2 and "Would launch 1 x g4dn.xlarge" in dry.stdout
    assert len(live(aws)["instances"]) == 1 and len(live(aws)["groups"]) == 1  # only the bystanders
    assert not live(aws)["buckets"] and not live(aws)["roles"] and not live(aws)["profiles"]
    assert not (aws.tmp / "keys").exists()

    out = run_playbook("playbooks/provision.yml", aws.env, base_vars(aws.tmp, aws_gpu_instance_run_id="it1"))
    assert out.returncode == 0, out.stdout[-4000:]
    assert recap(out.stdout)["changed"] >= 3

    left = live(aws)
    (inst,) = [i for i in left["instances"] if tags(i).get("mocha-cloud:run-id") == "it1"]
    itags = tags(inst)
    assert inst["InstanceType"] == "g4dn.xlarge"
    assert itags["mocha-cloud:project"] == "mocha-cloud"
    assert itags["mocha-cloud:ansible-user"] == "ec2-user"  # AL2023 family
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ", itags["mocha-cloud:expires-at"])
    assert itags["mocha-cloud:owner"].startswith("arn:aws:")
    assert inst["MetadataOptions"]["HttpTokens"] == "required"
    behaviour = ec2.describe_instance_attribute(InstanceId=inst["InstanceId"], Attribute="instanceInitiatedShutdownBehavior")
    assert behaviour["InstanceInitiatedShutdownBehavior"]["Value"] == "terminate"
    user_data = ec2.describe_instance_attribute(InstanceId=inst["InstanceId"], Attribute="userData")["UserData"]["Value"]
    cloud_config = base64.b64decode(user_data).decode()
    assert "OnCalendar=" + itags["mocha-cloud:expires-at"].replace("T", " ").replace("Z", " UTC") in cloud_config
    assert "[shutdown, -P, \"+120\"]" in cloud_config
    (root,) = [b for b in inst["BlockDeviceMappings"] if b["DeviceName"] == inst["RootDeviceName"]]
    volume = ec2.describe_volumes(VolumeIds=[root["Ebs"]["VolumeId"]])["Volumes"][0]
    assert (volume["VolumeType"], volume["Size"], volume["Encrypted"]) == ("gp3", 100, True)

    (group,) = [g for g in left["groups"] if g["GroupName"] == "mocha-cloud-it1"]
    ingress = [(p["FromPort"], p["ToPort"], [r["CidrIp"] for r in p["IpRanges"]]) for p in group["IpPermissions"]]
    assert ingress == [(22, 22, [CIDR])]
    key_file = aws.tmp / "keys" / "mocha-cloud-it1.pem"
    assert key_file.read_text().startswith("-----BEGIN")
    assert stat.S_IMODE(key_file.stat().st_mode) == 0o600
    assert stat.S_IMODE(key_file.parent.stat().st_mode) == 0o700  # made by the role: 0700
    assert "mocha-cloud:ssh-key-file" not in itags  # no path is stored in a tag

    # The dynamic inventory puts the host in gpu_hosts, with the user and key from its tags.
    inv = subprocess.run(
        ["ansible-inventory", "-i", "inventory/aws_ec2.yml", "--graph", "--vars"], cwd=REPO, env=aws.env,
        capture_output=True, text=True, timeout=300, check=False,
    )
    assert inv.returncode == 0, inv.stderr
    host = f"mocha-cloud-it1-{inst['InstanceId']}"
    gpu_section = inv.stdout.split("|--@gpu_hosts:")[1].split("\n  |--@")[0]
    assert f"|--{host}\n" in gpu_section, inv.stdout
    assert bystander_id not in inv.stdout
    hostvars = dict(re.findall(r"\{(ansible_\w+|mocha_cloud_\w+) = (.*)\}", gpu_section))
    assert hostvars["ansible_user"] == "ec2-user"
    assert hostvars["ansible_host"] in (inst.get("PublicDnsName"), inst.get("PublicIpAddress"))
    assert hostvars["mocha_cloud_run_id"] == "it1"
    # The key path is derived on the controller (inventory/group_vars), from the key directory the run used.
    assert connection_vars(aws, {"aws_gpu_instance_private_key_dir": str(aws.tmp / "keys")})[host] == {
        "ansible_ssh_private_key_file": str(key_file), "ansible_ssh_common_args": "", "ansible_user": "ec2-user"}
    assert "{ec2_tags = " in gpu_section and "'mocha-cloud:run-id': 'it1'" in gpu_section

    # Converged: a second run with the same run id changes nothing.
    again = run_playbook("playbooks/provision.yml", aws.env, base_vars(aws.tmp, aws_gpu_instance_run_id="it1"))
    assert again.returncode == 0, again.stdout[-4000:]
    assert recap(again.stdout)["changed"] == 0, again.stdout[-4000:]
    dry = run_playbook("playbooks/provision.yml", aws.env, base_vars(aws.tmp, aws_gpu_instance_run_id="it1"), check=True)
    assert dry.returncode == 0 and recap(dry.stdout)["changed"] == 0, dry.stdout[-4000:]

    down = run_playbook("playbooks/teardown.yml", aws.env, {})
    assert down.returncode == 0, down.stdout[-4000:]
    assert f"instance {inst['InstanceId']}" in down.stdout
    assert "security group " + group["GroupId"] in down.stdout
    assert "key pair mocha-cloud-it1" in down.stdout
    left = live(aws)
    assert [i["InstanceId"] for i in left["instances"]] == [bystander_id]
    assert [g["GroupId"] for g in left["groups"]] == [bystander_sg]
    assert [k["KeyName"] for k in left["keys"]] == ["someone-else"]
    # The run's role and instance profile went, and the results bucket with them: it held nothing, no run is left.
    assert not left["roles"] and not left["profiles"] and not left["buckets"], left
    assert ("instance profile mocha-cloud-it1, role mocha-cloud-it1, bucket mocha-cloud-results-123456789012-us-east-1"
            in " ".join(down.stdout.split())), down.stdout[-3000:]

    # Idempotent: nothing more to remove, nothing changed.
    down_again = run_playbook("playbooks/teardown.yml", aws.env, {})
    assert down_again.returncode == 0, down_again.stdout[-4000:]
    assert recap(down_again.stdout)["changed"] == 0
    assert "Nothing to remove" in down_again.stdout


def test_two_spot_instances_ubuntu_imported_key_one_run_teardown(aws, tmp_path):
    ssm = aws.client("ssm")
    ssm.put_parameter(Name=TEST_PARAM, Value=UBUNTU_DLAMI, Type="String")
    pub = tmp_path / "id_test.pub"
    subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", str(tmp_path / "id_test")], check=True)
    extra = base_vars(
        tmp_path, aws_gpu_instance_run_id="spot1", aws_gpu_instance_count=2, aws_gpu_instance_market="spot",
        aws_gpu_instance_ami_ssm_parameter=TEST_PARAM, aws_gpu_instance_public_key_file=str(pub),
        aws_gpu_instance_ssh_cidr="2001:db8::7",  # one IPv6 address: a /128
    )
    out = run_playbook("playbooks/provision.yml", aws.env, extra)
    assert out.returncode == 0, out.stdout[-4000:]
    # The other run saves its key in an existing shared directory (like /tmp): it keeps its mode.
    shared = tmp_path / "shared"
    shared.mkdir()
    shared.chmod(0o1777)
    # ... and has no results bucket of its own (aws_gpu_instance_results_bucket_enabled: false): no instance profile.
    other = run_playbook("playbooks/provision.yml", aws.env,
                         base_vars(tmp_path, aws_gpu_instance_run_id="keep", aws_gpu_instance_private_key_dir=str(shared),
                                   aws_gpu_instance_results_bucket_enabled=False))
    assert other.returncode == 0, other.stdout[-4000:]
    assert stat.S_IMODE(shared.stat().st_mode) == 0o1777
    assert stat.S_IMODE((shared / "mocha-cloud-keep.pem").stat().st_mode) == 0o600

    ours = [i for i in live(aws)["instances"] if tags(i).get("mocha-cloud:run-id") == "spot1"]
    assert len(ours) == 2
    assert {tags(i)["mocha-cloud:ansible-user"] for i in ours} == {"ubuntu"}
    assert {i["ImageId"] for i in ours} == {UBUNTU_DLAMI}
    assert all("mocha-cloud:ssh-key-file" not in tags(i) for i in ours)  # imported key: no private key here
    # Spot path: the run's instance profile is in the launch template and on every instance.
    profile = "arn:aws:iam::123456789012:instance-profile/mocha-cloud/mocha-cloud/mocha-cloud-spot1"
    assert {i["IamInstanceProfile"]["Arn"] for i in ours} == {profile}
    (template,) = live(aws)["templates"]
    data = aws.client("ec2").describe_launch_template_versions(LaunchTemplateId=template["LaunchTemplateId"])
    assert [v["LaunchTemplateData"]["IamInstanceProfile"] for v in data["LaunchTemplateVersions"]] == [{"Arn": profile}]
    (kept,) = [i for i in live(aws)["instances"] if tags(i).get("mocha-cloud:run-id") == "keep"]
    assert "IamInstanceProfile" not in kept and "mocha-cloud:results-bucket" not in tags(kept)
    (key,) = aws.client("ec2").describe_key_pairs(KeyNames=["mocha-cloud-spot1"])["KeyPairs"]
    assert key["KeyName"] == "mocha-cloud-spot1"
    (group,) = [g for g in live(aws)["groups"] if g["GroupName"] == "mocha-cloud-spot1"]
    assert [(p["FromPort"], [r["CidrIpv6"] for r in p["Ipv6Ranges"]], p["IpRanges"]) for p in group["IpPermissions"]] == [
        (22, ["2001:db8::7/128"], [])]

    down = run_playbook("playbooks/teardown.yml", aws.env, {"aws_gpu_instance_teardown_run_id": "spot1"})
    assert down.returncode == 0, down.stdout[-4000:]
    left = live(aws)
    assert {tags(i)["mocha-cloud:run-id"] for i in left["instances"]} == {"keep"}
    assert [g["GroupName"] for g in left["groups"]] == ["mocha-cloud-keep"]
    assert [k["KeyName"] for k in left["keys"]] == ["mocha-cloud-keep"]
    assert not left["templates"] and not left["roles"] and not left["profiles"]
    # The bucket stays while another run of the project is still up, and the play says so.
    assert [b["Name"] for b in left["buckets"]] == ["mocha-cloud-results-123456789012-us-east-1"]
    assert "bucket mocha-cloud-results-123456789012-us-east-1 kept: runs keep of mocha-cloud still use it" in " ".join(down.stdout.split())


NEGATIVE = {
    "retired type": ({"aws_gpu_instance_type": "p2.xlarge"}, r"p2\.xlarge is a retired instance family.*g4dn\.xlarge"),
    "unknown region": ({"aws_gpu_instance_region": "us-nowhere-1"}, r"region 'us-nowhere-1' does not exist"),
    "world ssh": ({"aws_gpu_instance_ssh_cidr": "0.0.0.0/0"}, r"Refusing to open SSH to 0\.0\.0\.0/0"),
    "root volume below the AMI's snapshot": (
        {"aws_gpu_instance_volume_size_gb": 10},  # moto gives every AMI a 15 GiB root snapshot
        r"aws_gpu_instance_volume_size_gb is 10 GiB, but AMI ami-\w+ \(.*\) has a 15 GiB root snapshot on /dev/\w+: "
        r"EC2 refuses a root volume smaller than that\. Set aws_gpu_instance_volume_size_gb to 15 or more\. Nothing was created",
    ),
    "quota too low": (
        {"aws_gpu_instance_quota_vcpus": 0},
        r"vCPU quota too low in us-east-1.*L-DB2E81BA.*--desired-value 4 --region us-east-1",
    ),
    "ami parameter missing": (
        {"aws_gpu_instance_ami_ssm_parameter": "/aws/service/deeplearning/ami/x86_64/no-such-ami/latest/ami-id"},
        r"AMI parameter /aws/service/deeplearning/ami/x86_64/no-such-ami/latest/ami-id not found in us-east-1",
    ),
    "not a gpu type": ({"aws_gpu_instance_type": "t3.micro"}, r"t3\.micro has no GPU"),
    "az without the type": ({"aws_gpu_instance_availability_zone": "us-east-1e"}, r"not offered in availability zone us-east-1e"),
    "a fallback type without a GPU": ({"aws_gpu_instance_fallback_types": ["g5.xlarge", "t3.micro"]}, r"t3\.micro has no GPU"),
    "zones and a pinned zone": ({"aws_gpu_instance_zones": ["us-east-1b"], "aws_gpu_instance_availability_zone": "us-east-1a"},
                                r"aws_gpu_instance_availability_zone pins one zone and aws_gpu_instance_zones orders several: "
                                r"give one of the two\. Nothing was created"),
}


@pytest.mark.parametrize("case", list(NEGATIVE))
def test_refused_before_anything_is_made(aws, case):
    overrides, message = NEGATIVE[case]
    out = run_playbook("playbooks/provision.yml", aws.env, base_vars(aws.tmp, **overrides))
    assert out.returncode != 0
    assert re.search(message, " ".join(out.stdout.split())), out.stdout[-4000:]
    assert_nothing_left(aws)


# Limits on cost and exposure: refused by the role before any AWS call (moto sees no request at all).
LIMITS = {
    "IPv6 world spelled ::/00": ({"aws_gpu_instance_ssh_cidr": "::/00"},
                                 r"Refusing to open SSH to ::/0 \(the whole Internet\)"),
    "half of IPv4": ({"aws_gpu_instance_ssh_cidr": "0.0.0.0/1"},
                     r"Refusing to open SSH to 0\.0\.0\.0/1: 2,147,483,648 addresses \(50% of the IPv4 Internet\), broader than /8"),
    "IPv6 broader than /32": ({"aws_gpu_instance_ssh_cidr": "2001:db8::/31"}, r"2001:db8::/31: 2\^97 addresses"),
    "a million hours": ({"aws_gpu_instance_max_hours": 1000000},
                        r"aws_gpu_instance_max_hours must be more than 0 and at most 168 \(one week\), got 1000000"),
    "infinite hours": ({"aws_gpu_instance_max_hours": "inf"}, r"aws_gpu_instance_max_hours must be a finite number, got 'inf'"),
    "a hundred instances": ({"aws_gpu_instance_count": 100}, r"aws_gpu_instance_count must be 1 to 8, got 100"),
    "five terabytes": ({"aws_gpu_instance_volume_size_gb": 5000}, r"aws_gpu_instance_volume_size_gb must be 8 to 1024 \(GiB\), got 5000"),
    "bastion with ssh options": ({"aws_gpu_instance_bastion": "j -o PermitLocalCommand=yes -o LocalCommand=id"},
                                 r"aws_gpu_instance_bastion 'j -o PermitLocalCommand=yes -o LocalCommand=id' is not \[user@\]host\[:port\]"),
    "run id with a newline": ({"aws_gpu_instance_run_id": "exp1\n"}, r"aws_gpu_instance_run_id must be 1-63 letters"),
    "reserved extra tag": ({"aws_gpu_instance_extra_tags": {"mocha-cloud:bastion": "x"}},
                           r"aws_gpu_instance_extra_tags may not set mocha-cloud:bastion"),
    "dotted results bucket": ({"aws_gpu_instance_results_bucket": "results.example.org"},
                              r"aws_gpu_instance_results_bucket 'results\.example\.org' contains a dot"),
    "boundary that is not a policy": ({"aws_gpu_instance_permissions_boundary": "arn:aws:iam::123456789012:role/admin"},
                                      r"aws_gpu_instance_permissions_boundary must be the ARN of an IAM managed policy"),
}


@pytest.mark.parametrize("case", list(LIMITS))
def test_limits_refused_before_any_aws_call(aws, case):
    overrides, message = LIMITS[case]
    before = aws.request_count()
    out = run_playbook("playbooks/provision.yml", aws.env, base_vars(aws.tmp, **overrides))
    assert out.returncode != 0
    flat = " ".join(out.stdout.split())
    assert "Refused before anything was created: " in flat and re.search(message, flat), out.stdout[-4000:]
    assert aws.request_count() == before  # not even STS was asked
    assert_nothing_left(aws)


@pytest.mark.parametrize("playbook", ["playbooks/provision.yml", "site.yml"])
def test_a_run_longer_than_the_instance_life_is_refused_with_the_plan(aws, playbook):
    """The shipped 70,000 iterations on the CPU backend (auto's fallback) need about 20 h: 4 h is refused, with the
    figures and the setting to raise, before anything is created."""
    out = run_playbook(playbook, aws.env, base_vars(aws.tmp, aws_gpu_instance_max_hours=4, cifar10_max_iter=70000,
                                                    mocha_backend="auto"), timeout=300)
    assert out.returncode != 0
    flat = " ".join(out.stdout.split())
    assert "Run plan (g4dn.xlarge, backend auto -> planned cpu, Julia binary):" in flat, flat[-4000:]
    assert "train 16h20m 70000 iterations on the CPU backend at 160 s per 200" in flat
    m = re.search(r"TOO SHORT: the plan needs ([0-9.]+) h\. Raise aws_gpu_instance_max_hours to at least (\d+)", flat)
    # The run plan's own figure for these settings (its phases and their sources: tests/unit/.../test_run_plan.py).
    from ansible_collections.mocha.cloud.plugins.module_utils import run_plan
    want = run_plan.plan({"instance_type": "g4dn.xlarge", "max_iter": 70000, "julia_version": "0.6", "backend": "auto",
                          "max_hours": 4})["total_hours"]
    assert m and float(m.group(1)) == want > 19 and int(m.group(2)) == math.ceil(want), flat[-3000:]
    assert "Create the key pair, security group and instances" not in flat
    assert_nothing_left(aws)


def test_the_role_refuses_a_planned_run_longer_than_the_instance_life(aws):
    """Any user of the role gets the same refusal through aws_gpu_instance_planned_hours, before any AWS call."""
    before = aws.request_count()
    out = run_playbook("playbooks/provision.yml", aws.env, base_vars(aws.tmp, aws_gpu_instance_planned_hours=30,
                                                                     aws_gpu_instance_max_hours=8))
    assert out.returncode != 0
    flat = " ".join(out.stdout.split())
    assert ("the run is planned to take 30 h (aws_gpu_instance_planned_hours, from the run plan) but the instance powers "
            "itself off after 8 h: raise aws_gpu_instance_max_hours to at least 30") in flat, flat[-4000:]
    assert aws.request_count() == before
    assert_nothing_left(aws)


def test_private_key_given_as_public_key_is_refused_unsent(aws, tmp_path):
    subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", str(tmp_path / "id_test")], check=True)
    before = aws.request_count()
    out = run_playbook("playbooks/provision.yml", aws.env,
                       base_vars(tmp_path, aws_gpu_instance_public_key_file=str(tmp_path / "id_test")))
    assert out.returncode != 0
    flat = " ".join(out.stdout.split())
    assert (f"aws_gpu_instance_public_key_file {tmp_path / 'id_test'} holds a PRIVATE KEY, which must never leave this "
            f"machine: give its public half, {tmp_path / 'id_test.pub'}") in flat, out.stdout[-4000:]
    assert "OPENSSH PRIVATE KEY-----" not in out.stdout and (tmp_path / "id_test").read_text().splitlines()[1] not in out.stdout
    assert aws.request_count() == before and "ImportKeyPair" not in aws.log.read_text()
    assert_nothing_left(aws)


def test_site_yml_settings_play_enforces_the_same_limits(aws):
    """site.yml stops in its settings play (the role's limits.yml), before provisioning is even considered."""
    out = run_playbook("site.yml", aws.env, base_vars(aws.tmp, aws_gpu_instance_max_hours=1000000,
                                                      aws_gpu_instance_ssh_cidr="::/00"), timeout=300)
    assert out.returncode != 0
    flat = " ".join(out.stdout.split())
    assert "TASK [mocha.cloud.aws_gpu_instance : Limits | Check cost and exposure settings" in flat, flat[-3000:]
    assert "at most 168 (one week), got 1000000" in flat and "Refusing to open SSH to ::/0" in flat
    assert "Provision GPU instances on AWS" not in flat
    assert_nothing_left(aws)


def test_detected_address_is_checked_like_a_given_one(aws, tmp_path):
    """The IP check's answer goes through the same limits: an answer that is not one address stops the run."""
    sys.path.insert(0, str(REPO / "tests" / "fixtures"))
    import serve_http  # the fixtures' local HTTP server

    www = tmp_path / "www"
    www.mkdir()
    (www / "ip").write_text("0.0.0.0/0\n")
    server, port = serve_http.start(str(www))
    try:
        out = run_playbook("playbooks/provision.yml", aws.env,
                           base_vars(tmp_path, aws_gpu_instance_ssh_cidr="", aws_gpu_instance_ip_check_url=f"http://127.0.0.1:{port}/ip"))
    finally:
        server.shutdown()
    assert out.returncode != 0
    flat = " ".join(out.stdout.split())
    assert f'http://127.0.0.1:{port}/ip answered "0.0.0.0/0": Refusing to open SSH to 0.0.0.0/0' in flat, flat[-3000:]
    assert_nothing_left(aws)


def test_missing_credentials_say_how_to_configure(aws):
    env = aws_env(aws.endpoint, aws.tmp, credentials=False)
    out = run_playbook("playbooks/provision.yml", env, base_vars(aws.tmp))
    assert out.returncode != 0
    flat = " ".join(out.stdout.split())
    assert "AWS credentials do not work" in flat and "export AWS_PROFILE" in flat, out.stdout[-4000:]
    assert_nothing_left(aws)


def test_newcomer_without_credentials_gets_the_way_forward_first(aws):
    """The README's main command, with no credentials: the first lines are the plays, no inventory warnings, and the
    one error says how to give credentials, before anything is created."""
    env = aws_env(aws.endpoint, aws.tmp, credentials=False)
    out = subprocess.run(["ansible-playbook", str(REPO / "site.yml")], cwd=REPO, env=env, stdout=subprocess.PIPE,
                         stderr=subprocess.STDOUT, text=True, timeout=120, check=False)
    assert out.returncode != 0
    lines = [line for line in out.stdout.splitlines() if line.strip()]
    first = "\n".join(lines[:10])
    assert "Failed to parse" not in out.stdout and "Unable to parse" not in out.stdout, first
    assert "implicit localhost" not in out.stdout, first
    assert lines[0].startswith("PLAY [") or "Deprecation" in lines[0], first
    errors = [line for line in lines if line.startswith("[ERROR]")]
    assert len(errors) == 1 and "AWS credentials do not work" in errors[0], errors
    flat = " ".join(out.stdout.split())
    assert "export AWS_PROFILE" in flat and "inventory/onprem.yml" in flat and "inventory/localhost.yml" in flat, flat[-3000:]
    assert "Run plan" not in flat  # stopped before the plan: nothing after the check helps without credentials
    assert "Configure the GPU hosts" not in flat  # stopped before the configure phase
    assert_nothing_left(aws)


def test_quota_request_is_reported_not_filed_by_default(aws):
    out = run_playbook("playbooks/quota.yml", aws.env, {
        "aws_gpu_instance_quota_vcpus": 4, "aws_gpu_instance_count": 2, "aws_gpu_instance_type": "g5.xlarge",
    })
    assert out.returncode == 0, out.stdout[-4000:]
    flat = " ".join(out.stdout.split())
    assert "needs 8 vCPUs" in flat and "--desired-value 8" in flat, flat[-3000:]
    assert "USD" in flat  # price from the dated fallback table: moto has no Pricing API


def test_failure_mid_provision_removes_what_the_run_made(aws, tmp_path):
    bad_key = tmp_path / "broken.pub"
    blob = (11).to_bytes(4, "big") + b"ssh-ed25519" + (31).to_bytes(4, "big") + b"k" * 31  # ED25519 keys are 32 bytes
    bad_key.write_text("ssh-ed25519 " + base64.b64encode(blob).decode() + " broken\n")
    out = run_playbook("playbooks/provision.yml", aws.env, base_vars(tmp_path, aws_gpu_instance_public_key_file=str(bad_key)))
    assert out.returncode != 0
    flat = " ".join(out.stdout.split())
    assert "Provisioning failed at 'Provision | Key pair" in flat, out.stdout[-4000:]
    assert "security group mocha-cloud-default" in flat
    # The results bucket, role and instance profile it had made before the key pair failed went too.
    assert ("instance profile mocha-cloud-default, role mocha-cloud-default, bucket mocha-cloud-results-123456789012-us-east-1."
            in flat), flat[-3000:]
    assert_nothing_left(aws)


def test_missing_endpoint_fails_closed(aws, tmp_path):
    # The harness refuses to build an environment without the local fake endpoint ...
    with pytest.raises(RuntimeError, match="refusing"):
        aws_env(None, tmp_path)
    # ... and even run without it, every AWS call hits the closed proxy port: nothing leaves this machine.
    before = aws.request_count()
    out = run_playbook("playbooks/provision.yml", sealed_env(tmp_path), base_vars(tmp_path), timeout=180)
    assert out.returncode != 0
    flat = " ".join(out.stdout.split())
    assert "AWS credentials do not work" in flat, out.stdout[-4000:]
    assert re.search(r"127\.0\.0\.1:9|proxy|Could not connect", flat, re.IGNORECASE), flat[-3000:]
    assert aws.request_count() == before


def test_planted_instances_cannot_steer_the_controllers_ssh(aws, tmp_path):
    """Anyone who may tag instances can plant one with our tags: its tags never become SSH options or paths."""
    ec2 = aws.client("ec2")
    image = ec2.describe_images(Owners=["amazon"])["Images"][0]["ImageId"]
    pwned = tmp_path / "pwned"

    def plant(**tags):
        t = [{"Key": k, "Value": v} for k, v in tags.items()]
        made = ec2.run_instances(ImageId=image, InstanceType="g4dn.xlarge", MinCount=1, MaxCount=1,
                                 TagSpecifications=[{"ResourceType": "instance", "Tags": t}])
        return made["Instances"][0]["InstanceId"]

    ours = {"mocha-cloud:project": "mocha-cloud"}
    evil = plant(**ours, **{"mocha-cloud:run-id": "r1", "mocha-cloud:ansible-user": "ubuntu",
                            "mocha-cloud:bastion": f"j -o PermitLocalCommand=yes -o LocalCommand=touch\\ {pwned}",
                            "mocha-cloud:ssh-key-file": "/etc/shadow"})
    newline = plant(**ours, **{"mocha-cloud:run-id": "r2\n-oProxyCommand=id", "mocha-cloud:ansible-user": "ubuntu"})
    user = plant(**ours, **{"mocha-cloud:run-id": "r3", "mocha-cloud:ansible-user": "root -oLocalCommand=id"})
    fine = plant(**ours, **{"mocha-cloud:run-id": "r4", "mocha-cloud:ansible-user": "ubuntu",
                            "mocha-cloud:bastion": "ubuntu@bastion.example.org:2222", "mocha-cloud:ssh-key-file": "/etc/shadow"})

    inv = subprocess.run(["ansible-inventory", "-i", "inventory/aws_ec2.yml", "--list"], cwd=REPO, env=aws.env,
                         capture_output=True, text=True, timeout=300, check=False)
    assert inv.returncode == 0, inv.stderr
    listing = json.loads(inv.stdout)
    warnings = " ".join(inv.stderr.split())
    for instance, tag in ((evil, "bastion"), (newline, "run-id"), (user, "ansible-user")):
        assert f"[WARNING]: EC2 instance {instance} left out of gpu_hosts: its tag mocha-cloud:{tag} " in warnings, warnings
    assert listing["gpu_hosts"]["hosts"] == [fine]
    assert sorted(listing["mocha_cloud_refused"]["hosts"]) == sorted([evil, newline, user])
    hostvars = listing["_meta"]["hostvars"]
    for host, hv in hostvars.items():
        connection = {k: v for k, v in hv.items() if k.startswith("ansible_")}
        assert "LocalCommand" not in json.dumps(connection) and "ProxyCommand" not in json.dumps(connection), (host, connection)
        assert "/etc/shadow" not in json.dumps(connection), (host, connection)

    # As a play sees them: the bastion of the well-formed host, no option for the others, and no key file from a tag
    # (the derived one, <private_key_dir>/mocha-cloud-r4.pem, is used once it exists).
    keys = tmp_path / "keys"
    keys.mkdir()
    seen = connection_vars(aws, {"aws_gpu_instance_private_key_dir": str(keys)}, pattern="all")
    assert seen[fine] == {"ansible_ssh_private_key_file": "", "ansible_ssh_common_args": "-o ProxyJump=ubuntu@bastion.example.org:2222",
                          "ansible_user": "ubuntu"}
    for host in (evil, newline, user):
        assert seen[host]["ansible_ssh_common_args"] == "" and seen[host]["ansible_ssh_private_key_file"] == ""
    (keys / "mocha-cloud-r4.pem").write_text("key")
    seen = connection_vars(aws, {"aws_gpu_instance_private_key_dir": str(keys)})
    assert list(seen) == [fine] and seen[fine]["ansible_ssh_private_key_file"] == str(keys / "mocha-cloud-r4.pem")
    assert not pwned.exists()


def test_inventory_describes_only_the_settings_region(aws, tmp_path):
    """The dynamic inventory asks the settings file's region only (not every region), whichever it names."""
    ours = {"Key": "mocha-cloud:project", "Value": "mocha-cloud"}
    ids = {}
    for region in ("us-east-1", "eu-west-1"):
        ec2 = aws.client("ec2", region)
        image = ec2.describe_images(Owners=["amazon"])["Images"][0]["ImageId"]
        made = ec2.run_instances(ImageId=image, InstanceType="g4dn.xlarge", MinCount=1, MaxCount=1,
                                 TagSpecifications=[{"ResourceType": "instance", "Tags": [ours]}])
        ids[region] = made["Instances"][0]["InstanceId"]
    settings = (REPO / "settings.yml").read_text()
    assert "aws_gpu_instance_region: us-east-1" in settings
    for region, other in (("us-east-1", "eu-west-1"), ("eu-west-1", "us-east-1")):
        path = tmp_path / f"settings-{region}.yml"
        path.write_text(settings.replace("aws_gpu_instance_region: us-east-1", f"aws_gpu_instance_region: {region}"))
        inv = subprocess.run(
            ["ansible-inventory", "-i", "inventory/aws_ec2.yml", "--graph"], cwd=REPO,
            env=aws.env | {"MOCHA_CLOUD_SETTINGS": str(path)}, capture_output=True, text=True, timeout=300, check=False,
        )
        assert inv.returncode == 0, inv.stderr
        assert ids[region] in inv.stdout and ids[other] not in inv.stdout, inv.stdout


# Teardown selects on EC2 tag filters, where '*' and '?' are wildcards: a project or run id that is not a name (the one
# name rule, plugins/module_utils/aws_guard.py) is refused before any AWS call, and nothing is removed.
TEARDOWN_PATTERNS = {
    "project pattern": ({"aws_gpu_instance_project": "mocha*"}, r"aws_gpu_instance_project must be 1-63 letters.*got 'mocha\*'"),
    "run id pattern": ({"aws_gpu_instance_teardown_run_id": "r1*"},
                       r"aws_gpu_instance_teardown_run_id must be 1-63 letters.*got 'r1\*'"),
}


@pytest.mark.parametrize("case", list(TEARDOWN_PATTERNS))
def test_teardown_refuses_patterns_before_any_aws_call(aws, case):
    ec2 = aws.client("ec2")
    image = ec2.describe_images(Owners=["amazon"])["Images"][0]["ImageId"]
    run = [{"Key": "mocha-cloud:project", "Value": "mocha-cloud"}, {"Key": "mocha-cloud:run-id", "Value": "r10"}]
    made = ec2.run_instances(ImageId=image, InstanceType="t3.micro", MinCount=1, MaxCount=1,
                             TagSpecifications=[{"ResourceType": "instance", "Tags": run}])
    group = ec2.create_security_group(GroupName="mocha-cloud-r10", Description="run r10",
                                      TagSpecifications=[{"ResourceType": "security-group", "Tags": run}])["GroupId"]
    left = live(aws)
    before = aws.request_count()
    overrides, message = TEARDOWN_PATTERNS[case]
    out = run_playbook("playbooks/teardown.yml", aws.env, overrides)
    assert out.returncode != 0, out.stdout[-4000:]
    flat = " ".join(out.stdout.split())
    assert re.search(message, flat) and "Nothing was removed" in flat, flat[-3000:]
    assert aws.request_count() == before  # refused before any AWS call, STS included
    assert [i["InstanceId"] for i in live(aws)["instances"]] == [made["Instances"][0]["InstanceId"]]
    assert [g["GroupId"] for g in left["groups"]] == [group] and live(aws) == left
