"""The launch plan (module_utils/aws_launch.py): places to launch into, the order of attempts over zones, types and
markets, the attempt lines and the failure with every attempt."""

import pytest
from ansible_collections.mocha.cloud.plugins.module_utils import aws_launch as al

ZONES = ["us-east-1a", "us-east-1b", "us-east-1c", "us-east-1d", "us-east-1e", "us-east-1f"]
# The default VPC's default subnets as amazon.aws.ec2_vpc_subnet_info returns them (snake_case), one per zone.
DEFAULT = [{"subnet_id": f"subnet-{z[-1]}", "id": f"subnet-{z[-1]}", "availability_zone": z, "vpc_id": "vpc-default",
            "default_for_az": True} for z in ZONES]
# DescribeInstanceTypeOfferings in us-east-1 (moto's data, as EC2's): g4dn/g5 not in 1e, g6e not in 1e/1f.
OFFERED = {"g4dn.xlarge": [z for z in ZONES if z != "us-east-1e"], "g5.xlarge": [z for z in ZONES if z != "us-east-1e"],
           "g6e.xlarge": ["us-east-1a", "us-east-1b", "us-east-1c", "us-east-1d"]}


def order(plan):
    return [(a["market"], a["instance_type"], a["availability_zone"]) for a in plan["attempts"]]


def plan(**settings):
    return al.plan(dict({"types": ["g4dn.xlarge"], "offered": OFFERED, "subnets": DEFAULT, "region": "us-east-1",
                         "default_vpc_id": "vpc-default"}, **settings))


def test_every_zone_offering_the_type_by_name_through_its_default_subnet():
    p = plan()
    assert order(p) == [("on-demand", "g4dn.xlarge", z) for z in ZONES if z != "us-east-1e"]
    assert {a["availability_zone"]: a["subnet_id"] for a in p["attempts"]}["us-east-1c"] == "subnet-c"
    assert p["notes"] == ["g4dn.xlarge is not offered in us-east-1e (DescribeInstanceTypeOfferings): not tried there"]
    assert p["vpc_id"] == "vpc-default" and not p["problems"]
    assert p["lines"][1] == "  1. g4dn.xlarge on-demand in us-east-1a, us-east-1b, us-east-1c, us-east-1d, us-east-1f"


def test_the_order_is_stable_whatever_order_ec2_lists_subnets_and_offerings_in():
    shuffled = plan(subnets=list(reversed(DEFAULT)), offered={k: list(reversed(v)) for k, v in OFFERED.items()})
    assert order(shuffled) == order(plan())


def test_zones_then_types_then_on_demand_for_spot_when_allowed():
    p = plan(types=["g4dn.xlarge", "g6e.xlarge"], market="spot", on_demand_fallback=True, zones=["us-east-1f", "us-east-1a"])
    assert order(p) == [("spot", "g4dn.xlarge", "us-east-1f"), ("spot", "g4dn.xlarge", "us-east-1a"),
                        ("spot", "g6e.xlarge", "us-east-1a"),
                        ("on-demand", "g4dn.xlarge", "us-east-1f"), ("on-demand", "g4dn.xlarge", "us-east-1a"),
                        ("on-demand", "g6e.xlarge", "us-east-1a")]
    assert "g6e.xlarge is not offered in us-east-1f (DescribeInstanceTypeOfferings): not tried there" in p["notes"]


def test_spot_stays_spot_unless_on_demand_is_allowed():
    assert {m for m, _t, _z in order(plan(market="spot"))} == {"spot"}
    assert {m for m, _t, _z in order(plan(market="on-demand", on_demand_fallback=True))} == {"on-demand"}


def test_a_subnet_pins_one_place_and_only_types_fail_over():
    p = plan(types=["g4dn.xlarge", "g5.xlarge"], subnet_id="subnet-b", subnets=[DEFAULT[1] | {"default_for_az": False}])
    assert order(p) == [("on-demand", "g4dn.xlarge", "us-east-1b"), ("on-demand", "g5.xlarge", "us-east-1b")]
    assert {a["subnet_id"] for a in p["attempts"]} == {"subnet-b"}


def test_one_zone_pins_its_default_subnet():
    p = plan(types=["g4dn.xlarge", "g5.xlarge"], availability_zone="us-east-1d")
    assert order(p) == [("on-demand", "g4dn.xlarge", "us-east-1d"), ("on-demand", "g5.xlarge", "us-east-1d")]


def test_subnets_named_per_zone_replace_the_default_vpc():
    named = [{"SubnetId": "subnet-x1", "AvailabilityZone": "us-east-1c", "VpcId": "vpc-lab", "DefaultForAz": False},
             {"SubnetId": "subnet-x2", "AvailabilityZone": "us-east-1a", "VpcId": "vpc-lab", "DefaultForAz": False}]
    p = plan(subnets=named, zone_subnets={"us-east-1c": "subnet-x1", "us-east-1a": "subnet-x2"})
    assert [(a["availability_zone"], a["subnet_id"]) for a in p["attempts"]] == [("us-east-1a", "subnet-x2"),
                                                                                ("us-east-1c", "subnet-x1")]
    assert p["vpc_id"] == "vpc-lab"


PROBLEMS = {
    "zones and a pinned zone": ({"zones": ["us-east-1a"], "availability_zone": "us-east-1b"},
                                "aws_gpu_instance_availability_zone pins one zone and aws_gpu_instance_zones orders several"),
    "zones and a pinned subnet": ({"zones": ["us-east-1a"], "subnet_id": "subnet-a"},
                                  "aws_gpu_instance_subnet_id pins one subnet"),
    "a subnet in another zone than the pinned one": ({"subnet_id": "subnet-a", "availability_zone": "us-east-1b"},
                                                     "subnet-a is in us-east-1a, not in aws_gpu_instance_availability_zone us-east-1b"),
    "an unknown subnet": ({"subnet_id": "subnet-nope", "subnets": []}, "Subnet subnet-nope not found in us-east-1"),
    "no default VPC": ({"subnets": [], "default_vpc_id": ""}, "No default VPC with default subnets in us-east-1"),
    "a zone with no subnet": ({"zones": ["us-east-1a", "us-east-1z"]}, "no subnet to launch into in us-east-1z"),
    "a zone listed twice": ({"zones": ["us-east-1a", "us-east-1a"]}, "aws_gpu_instance_zones lists a zone twice"),
    "a fallback offered in none of the zones": ({"types": ["g4dn.xlarge", "g6e.xlarge"], "zones": ["us-east-1f"]},
                                                "fallback type g6e.xlarge is offered in none of the zones it may launch in "
                                                "(us-east-1f); EC2 offers it in us-east-1a, us-east-1b, us-east-1c, us-east-1d: "
                                                "drop it from aws_gpu_instance_fallback_types"),
    "the first choice offered in none": ({"availability_zone": "us-east-1e"},
                                         "aws_gpu_instance_type g4dn.xlarge is offered in none of the zones it may launch in"),
    "a repeated type": ({"types": ["g4dn.xlarge", "g4dn.xlarge"]}, "aws_gpu_instance_fallback_types repeats g4dn.xlarge"),
    "named subnets in two VPCs": ({"subnets": [{"subnet_id": "s1", "availability_zone": "us-east-1a", "vpc_id": "v1"},
                                               {"subnet_id": "s2", "availability_zone": "us-east-1b", "vpc_id": "v2"}],
                                   "zone_subnets": {"us-east-1a": "s1", "us-east-1b": "s2"}}, "in several VPCs (v1, v2)"),
    "a named subnet in another zone": ({"subnets": [{"subnet_id": "s1", "availability_zone": "us-east-1a", "vpc_id": "v1"}],
                                        "zone_subnets": {"us-east-1b": "s1"}}, "Subnet s1 is in us-east-1a, not in us-east-1b"),
}


@pytest.mark.parametrize("case", list(PROBLEMS))
def test_contradictions_and_impossible_places_are_problems_with_no_attempt(case):
    settings, text = PROBLEMS[case]
    p = plan(**settings)
    assert p["attempts"] == [] and p["lines"] == []
    assert any(text in problem for problem in p["problems"]), p["problems"]


def test_an_unknown_market_is_refused():
    with pytest.raises(al.LaunchPlanError, match="market must be on-demand or spot"):
        al.markets("reserved")


@pytest.mark.parametrize("code, message, kind", [
    ("InsufficientInstanceCapacity", "We currently do not have sufficient g4dn.xlarge capacity ...", "refused"),
    ("InsufficientInstanceCapacity", "There is no Spot capacity available that matches your request.", "refused"),
    ("Unsupported", "Your requested instance type (g4dn.xlarge) is not supported ...", "refused"),
    ("InvalidParameterValue", "Value (arn:aws:iam::1:instance-profile/x) for parameter iamInstanceProfile.arn is invalid. "
                              "Invalid IAM Instance Profile ARN", "profile"),
    ("VcpuLimitExceeded", "You have requested more vCPU capacity than your current vCPU limit ...", "error"),
    ("InvalidAMIID.NotFound", "The image id '[ami-1]' does not exist", "error"),
])
def test_what_each_answer_of_ec2_leads_to(code, message, kind):
    assert al.outcome_kind(code, message) == kind


def test_a_fleet_keeps_its_type_unless_mixed_types_are_allowed():
    g5 = {"instance_type": "g5.xlarge"}
    assert al.allowed(g5, "", False) and al.allowed(g5, "g5.xlarge", False)
    assert not al.allowed(g5, "g4dn.xlarge", False)
    assert al.allowed(g5, "g4dn.xlarge", True)


ATTEMPT = {"instance_type": "g4dn.xlarge", "availability_zone": "us-east-1a", "subnet_id": "subnet-a", "market": "spot"}


def test_one_line_per_attempt_with_ec2s_code_and_message_or_what_launched():
    refused = dict(ATTEMPT, result="refused", code="InsufficientInstanceCapacity", seconds=0.42,
                   message="There is no Spot capacity\n available that matches your request.")
    assert al.attempt_line(1, 3, refused) == ("attempt 1/3: g4dn.xlarge in us-east-1a (spot): InsufficientInstanceCapacity: "
                                              "There is no Spot capacity available that matches your request. (0.4 s)")
    launched = dict(ATTEMPT, availability_zone="us-east-1b", result="launched", launched=2, instance_ids=["i-1", "i-2"],
                    seconds=1.0)
    assert al.attempt_line(2, 3, launched) == "attempt 2/3: g4dn.xlarge in us-east-1b (spot): launched 2 (i-1, i-2) in 1.0 s"
    assert al.summary_line([refused, launched], 3) == ("Launched 2 x g4dn.xlarge in us-east-1b (spot) after 1 refusal(s); "
                                                       "2 of 3 instance(s) of this run running (1 short of 3: EC2 had no "
                                                       "more capacity in any place allowed)")
    assert al.summary_line([], 2, 2) == "2 of 2 instance(s) of this run already running: nothing launched"


def test_the_failure_lists_every_attempt_and_the_ways_out_whole():
    outcomes = [dict(ATTEMPT, availability_zone=z, result="refused", code="InsufficientInstanceCapacity", seconds=0.1 * i,
                     message="There is no Spot capacity available that matches your request.")
                for i, z in enumerate(ZONES, 1)]
    msg = al.failure_message("us-east-1", outcomes, 1, ["g4dn.xlarge"], "spot", False)
    lines = msg.splitlines()
    assert lines[0] == "No instance launched in us-east-1: EC2 refused all 6 attempt(s) for 1 instance(s)."
    assert lines[1:7] == [al.attempt_line(i, 6, o) for i, o in enumerate(outcomes, 1)]
    ways = lines[7]
    for way in ("another region (aws_gpu_instance_region", "aws_gpu_instance_fallback_types, e.g. g5.xlarge, g6.xlarge",
                "aws_gpu_instance_spot_on_demand_fallback: true", "Service Quotas L-3819A6DF",
                "aws_gpu_instance_request_quota_increase: true", "run again later"):
        assert way in ways, ways
    on_demand = al.failure_message("us-east-1", outcomes, 1, ["g4dn.xlarge", "p3.2xlarge"], "on-demand", False)
    assert "aws_gpu_instance_market: spot" in on_demand and "L-DB2E81BA, L-3819A6DF, L-417A185B, L-7212CCBC" in on_demand


def test_run_spec_per_attempt():
    base = {"ImageId": "ami-1", "SecurityGroupIds": ["sg-1"], "Tags": {"mocha-cloud:run-id": "r1", "Name": "n"},
            "MarketTag": "mocha-cloud:market", "LaunchTemplate": {"LaunchTemplateName": "mocha-cloud-r1"}}
    spot = al.run_spec(ATTEMPT, 3, base)
    assert spot["InstanceType"] == "g4dn.xlarge" and spot["SubnetId"] == "subnet-a"
    assert (spot["MinCount"], spot["MaxCount"]) == (1, 3)  # EC2 launches what it can place, from 1 up to 3
    assert spot["LaunchTemplate"] == {"LaunchTemplateName": "mocha-cloud-r1"}
    tag_sets = {s["ResourceType"]: {t["Key"]: t["Value"] for t in s["Tags"]} for s in spot["TagSpecifications"]}
    assert tag_sets["instance"] == tag_sets["volume"] == {"mocha-cloud:run-id": "r1", "Name": "n", "mocha-cloud:market": "spot"}
    on_demand = al.run_spec(dict(ATTEMPT, market="on-demand"), 1, base)
    assert "LaunchTemplate" not in on_demand  # the spot template's market options would make it spot
    assert {t["Key"]: t["Value"] for t in on_demand["TagSpecifications"][0]["Tags"]}["mocha-cloud:market"] == "on-demand"
    assert "Tags" not in on_demand and "MarketTag" not in on_demand
    with pytest.raises(al.LaunchPlanError, match="spot launch template"):
        al.run_spec(ATTEMPT, 1, {"ImageId": "ami-1"})
