"""provision.yml when EC2 says no: zones full, a type full everywhere, no spot capacity, nothing anywhere, a fleet that
fits in no single zone. Against the moto server (the fake AWS), whose launcher refuses RunInstances as EC2 does
(InsufficientInstanceCapacity, HTTP 500, with EC2's message; Unsupported where a zone does not offer the type) for the
capacity map each test sets (moto_launcher.py).
"""

import re

from moto_server import run_playbook
from test_aws_provision import assert_nothing_left, base_vars, live, recap, tags

ICE = "InsufficientInstanceCapacity"


def ours(aws, run_id):
    return [i for i in live(aws)["instances"] if tags(i).get("mocha-cloud:run-id") == run_id]


def attempt_lines(out):
    """The attempt lines the play printed, in order (the launch's own debug output, or the failure)."""
    return re.findall(r"attempt (\d+)/(\d+): (\S+) in (\S+) \(([a-z-]+)\): ([^\n\"]+)", out)


def test_first_zones_full_lands_in_the_next_zone_and_converges(aws):
    aws.set_capacity({"g4dn.xlarge@us-east-1a": 0, "g4dn.xlarge@us-east-1b": 0})
    extra = base_vars(aws.tmp, aws_gpu_instance_run_id="zones")
    out = run_playbook("playbooks/provision.yml", aws.env, extra)
    assert out.returncode == 0, out.stdout[-5000:]
    (inst,) = ours(aws, "zones")
    assert (inst["InstanceType"], inst["Placement"]["AvailabilityZone"]) == ("g4dn.xlarge", "us-east-1c")
    assert tags(inst)["mocha-cloud:market"] == "on-demand"
    lines = attempt_lines(out.stdout)
    assert [(z, r.split(":")[0].split(" ")[0]) for *_x, z, _m, r in lines] == [
        ("us-east-1a", ICE), ("us-east-1b", ICE), ("us-east-1c", "launched")], out.stdout[-5000:]
    flat = " ".join(out.stdout.split())
    # EC2's own message, as EC2 words it, in the attempt line.
    assert ("attempt 1/3: g4dn.xlarge in us-east-1a (on-demand): InsufficientInstanceCapacity: We currently do not have "
            "sufficient g4dn.xlarge capacity in the Availability Zone you requested (us-east-1a).") in flat, flat[-4000:]
    assert "Launched 1 x g4dn.xlarge in us-east-1c (on-demand) after 2 refusal(s)" in flat
    assert re.search(r"1 instance\(s\) running for run zones .*" + inst["InstanceId"] + r" \(g4dn\.xlarge in us-east-1c, on-demand\)", flat)
    # The order was shown before anything was made; us-east-1e does not offer g4dn.xlarge (moto's offerings, as EC2's).
    assert "1. g4dn.xlarge on-demand in us-east-1a, us-east-1b, us-east-1c, us-east-1d, us-east-1f" in flat
    assert "(g4dn.xlarge is not offered in us-east-1e (DescribeInstanceTypeOfferings): not tried there)" in flat

    again = run_playbook("playbooks/provision.yml", aws.env, extra)
    assert again.returncode == 0 and recap(again.stdout)["changed"] == 0, again.stdout[-4000:]
    assert "attempt 1/" not in again.stdout  # nothing tried: the run has its instance


def test_type_full_everywhere_launches_the_first_fallback_type(aws):
    aws.set_capacity({"g4dn.xlarge@*": 0})
    out = run_playbook("playbooks/provision.yml", aws.env, base_vars(
        aws.tmp, aws_gpu_instance_run_id="types", aws_gpu_instance_fallback_types=["g6e.xlarge", "g5.xlarge"]))
    assert out.returncode == 0, out.stdout[-5000:]
    (inst,) = ours(aws, "types")
    assert (inst["InstanceType"], inst["Placement"]["AvailabilityZone"]) == ("g6e.xlarge", "us-east-1a")
    lines = attempt_lines(out.stdout)
    assert [(t, z) for _n, _t, t, z, _m, _r in lines] == [("g4dn.xlarge", z) for z in ("us-east-1a", "us-east-1b", "us-east-1c",
                                                                                      "us-east-1d", "us-east-1f")] + [("g6e.xlarge", "us-east-1a")]
    flat = " ".join(out.stdout.split())
    # g6e.xlarge is not offered in us-east-1f (moto's offerings, as EC2's): the plan says so and never tries it there.
    assert "g6e.xlarge is not offered in us-east-1e, us-east-1f (DescribeInstanceTypeOfferings): not tried there" in flat, flat[-4000:]


def test_no_spot_anywhere_fails_whole_and_clean_then_goes_on_demand_only_when_allowed(aws):
    """No spot capacity for any type in any zone: with the user's market standing, one failure lists all 10 attempts
    (2 types x 5 zones) whole, with the ways out, and nothing is left; allowed, the run launches on demand."""
    aws.set_capacity({"spot:*@*": 0})
    spot = base_vars(aws.tmp, aws_gpu_instance_run_id="spot", aws_gpu_instance_market="spot",
                     aws_gpu_instance_fallback_types=["g5.xlarge"])
    refused = run_playbook("playbooks/provision.yml", aws.env, spot)
    assert refused.returncode != 0
    flat = " ".join(refused.stdout.split())
    assert "No instance launched in us-east-1: EC2 refused all 10 attempt(s) for 1 instance(s)." in flat, flat[-5000:]
    zones = ("us-east-1a", "us-east-1b", "us-east-1c", "us-east-1d", "us-east-1f")
    for n, (itype, zone) in enumerate([(t, z) for t in ("g4dn.xlarge", "g5.xlarge") for z in zones], 1):
        assert (f"attempt {n}/10: {itype} in {zone} (spot): InsufficientInstanceCapacity: There is no Spot capacity "
                "available that matches your request.") in flat
    assert "(on-demand)" not in flat.split("No instance launched")[-1]  # the user's market stands
    # Not cut short: the ways out, then what the clean-up removed.
    assert ("allow on-demand when no spot capacity is left (aws_gpu_instance_spot_on_demand_fallback: true)" in flat
            and "L-3819A6DF" in flat and "run again later" in flat)
    assert "Cleaned up what this run had made: instances none, security group mocha-cloud-spot" in flat
    assert_nothing_left(aws)  # the launch template, group, key, role, profile and bucket went with the failure

    allowed = run_playbook("playbooks/provision.yml", aws.env, dict(spot, aws_gpu_instance_spot_on_demand_fallback=True))
    assert allowed.returncode == 0, allowed.stdout[-5000:]
    (inst,) = ours(aws, "spot")
    assert "InstanceLifecycle" not in inst and tags(inst)["mocha-cloud:market"] == "on-demand"
    assert (inst["InstanceType"], inst["Placement"]["AvailabilityZone"]) == ("g4dn.xlarge", "us-east-1a")
    lines = attempt_lines(allowed.stdout)
    assert [m for *_x, m, _r in lines] == ["spot"] * 10 + ["on-demand"]


def test_a_fleet_fills_zone_after_zone_and_keeps_one_type(aws):
    aws.set_capacity({"g4dn.xlarge@us-east-1a": 1, "g4dn.xlarge@us-east-1b": 1, "g4dn.xlarge@us-east-1c": 0,
                      "g4dn.xlarge@us-east-1d": 0, "g4dn.xlarge@us-east-1f": 0})
    fleet = base_vars(aws.tmp, aws_gpu_instance_run_id="fleet", aws_gpu_instance_count=3,
                      aws_gpu_instance_fallback_types=["g5.xlarge"])
    out = run_playbook("playbooks/provision.yml", aws.env, fleet)
    assert out.returncode == 0, out.stdout[-5000:]
    got = ours(aws, "fleet")
    assert sorted((i["InstanceType"], i["Placement"]["AvailabilityZone"]) for i in got) == [
        ("g4dn.xlarge", "us-east-1a"), ("g4dn.xlarge", "us-east-1b")]
    flat = " ".join(out.stdout.split())
    assert "2 of 3 instance(s) of this run running (1 short of 3" in flat, flat[-4000:]
    assert "1 short of the 3 asked" in flat
    assert "g5.xlarge in" not in flat.split("Launch order")[-1].split("Verify")[0].split("attempt 1/")[-1]  # one type

    # Mixed types allowed: a run again launches only the missing one, as the fallback type.
    mixed = run_playbook("playbooks/provision.yml", aws.env, dict(fleet, aws_gpu_instance_fleet_mixed_types=True))
    assert mixed.returncode == 0, mixed.stdout[-5000:]
    got = ours(aws, "fleet")
    assert sorted(i["InstanceType"] for i in got) == ["g4dn.xlarge", "g4dn.xlarge", "g5.xlarge"]
    assert "3 of 3 instance(s) of this run running" in " ".join(mixed.stdout.split())
