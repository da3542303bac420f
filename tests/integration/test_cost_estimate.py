"""The cifar10 role's cost estimate through the real EC2 inventory (inventory/aws_ec2.yml) against moto.

The aws_ec2 inventory gives every host variable the ec2_ prefix (hostvars_prefix: ec2_), so the instance type a
run's cost is computed from is ec2_instance_type; the price comes from the collection's one dated table
(module_utils/aws_gpu.py, through the filter mocha.cloud.aws_gpu_list_price).
"""

import json
import re
import subprocess

import pytest
from ansible_collections.mocha.cloud.plugins.module_utils import aws_gpu
from moto_server import REPO

PLAY = """
- name: Price the GPU hosts as the cifar10 role does for its metrics
  hosts: gpu_hosts
  gather_facts: false
  tasks:
    - name: The role's own price step
      ansible.builtin.include_role:
        name: mocha.cloud.cifar10
        tasks_from: price.yml
        public: true   # its defaults (cifar10_instance_type) stay visible to the next task
    - name: Show it
      ansible.builtin.debug:
        msg: "PRICED {{ {'host': inventory_hostname, 'type': cifar10_instance_type, 'usd': cifar10_hourly_price_selected,
                         'market': cifar10_market, 'zone': cifar10_availability_zone} | to_json }}"
"""



def launch(aws, itype, name, **more_tags):
    ec2 = aws.client("ec2", "us-east-1")
    image = ec2.describe_images(Owners=["amazon"])["Images"][0]["ImageId"]
    # The tags the aws_gpu_instance role writes: the inventory leaves out of gpu_hosts an instance without a run id.
    tags = [{"Key": "mocha-cloud:project", "Value": "mocha-cloud"}, {"Key": "mocha-cloud:run-id", "Value": "price-test"},
            {"Key": "Name", "Value": name}] + [{"Key": k, "Value": v} for k, v in more_tags.items()]
    made = ec2.run_instances(ImageId=image, InstanceType=itype, MinCount=1, MaxCount=1,
                             TagSpecifications=[{"ResourceType": "instance", "Tags": tags}])
    return made["Instances"][0]["InstanceId"]


def priced(aws, tmp_path, *extra):
    play = tmp_path / "price.yml"
    play.write_text(PLAY)
    out = subprocess.run(["ansible-playbook", "-i", "inventory/aws_ec2.yml", str(play), *extra], cwd=REPO, env=aws.env,
                         capture_output=True, text=True, timeout=300, check=False)
    assert out.returncode == 0, out.stdout[-4000:] + out.stderr[-2000:]
    # The result callback wraps long messages: joined again on single spaces (where it wrapped them).
    text = " ".join(out.stdout.split()).replace("\\\"", "\"")
    return {d["host"]: d for d in (json.loads(m) for m in re.findall(r"PRICED (\{.*?\})", text))}


def test_the_inventory_names_the_type_ec2_instance_type(aws):
    iid = launch(aws, "g5.xlarge", "gpu")
    out = subprocess.run(["ansible-inventory", "-i", "inventory/aws_ec2.yml", "--list"], cwd=REPO, env=aws.env,
                         capture_output=True, text=True, timeout=300, check=False)
    assert out.returncode == 0, out.stderr
    hostvars = json.loads(out.stdout)["_meta"]["hostvars"]
    (host,) = [h for h in hostvars if iid in h]
    itype = hostvars[host]["ec2_instance_type"]
    assert (itype.get("__ansible_unsafe") if isinstance(itype, dict) else itype) == "g5.xlarge"  # marked unsafe as data
    assert "instance_type" not in hostvars[host]  # what the role used to read: never there on AWS


def test_cost_estimate_price_comes_from_the_one_table(aws, tmp_path):
    ids = {launch(aws, "g5.xlarge", "a"): "g5.xlarge", launch(aws, "g4dn.xlarge", "b"): "g4dn.xlarge"}
    seen = priced(aws, tmp_path)
    assert len(seen) == 2, seen
    for host, got in seen.items():
        itype = next(t for i, t in ids.items() if i in host)
        assert got["type"] == itype
        assert got["usd"] == pytest.approx(aws_gpu.GPU_TYPES[itype][1]), got  # the dated table, not a copy
        assert got["usd"] == pytest.approx(aws_gpu.list_price(itype)[0])


def test_the_override_and_an_unknown_type(aws, tmp_path):
    launch(aws, "g5.xlarge", "a")
    (got,) = priced(aws, tmp_path, "-e", "cifar10_hourly_price_usd=2.5").values()
    assert float(got["usd"]) == 2.5
    (got,) = priced(aws, tmp_path, "-e", "cifar10_instance_type=lab-box-a100").values()  # on-prem: no list price
    assert got["usd"] == ""


def test_the_market_and_zone_the_launch_got_price_the_run(aws, tmp_path):
    """Spot fell back to on demand: the instance's market tag, not the spot setting, prices it (no spot price asked),
    and the zone it landed in is recorded."""
    launch(aws, "g4dn.xlarge", "a", **{"mocha-cloud:market": "on-demand"})
    (got,) = priced(aws, tmp_path, "-e", "aws_gpu_instance_market=spot").values()
    assert (got["market"], got["zone"]) == ("on-demand", "us-east-1a"), got
    assert got["usd"] == pytest.approx(aws_gpu.list_price("g4dn.xlarge")[0])
    # A tag in another form is not taken (the settings' market is), and the host stays in gpu_hosts.
    aws.reset()
    launch(aws, "g4dn.xlarge", "b", **{"mocha-cloud:market": "reserved"})
    (got,) = priced(aws, tmp_path, "-e", "aws_gpu_instance_market=spot").values()
    assert got["market"] == "spot"
