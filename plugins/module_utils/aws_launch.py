# -*- coding: utf-8 -*-
# Copyright: mocha-cloud contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Where and how to launch: the order of launch attempts over zones, types and markets, and what to say about them.

GPU capacity is per zone, type and market. EC2 refuses a RunInstances call it cannot place with
``InsufficientInstanceCapacity`` (no capacity of that type in that zone, on demand or spot) or ``Unsupported`` (the zone
does not offer the type), and one RunInstances call launches in one zone only. So a launch is a list of attempts, each
one type in one zone (through one subnet) on one market, tried in a stable order until enough instances run:

- markets: the chosen one; after it, on demand when the market is spot and an on-demand fallback is allowed;
- per market, the types: the first choice, then each fallback type in the order given;
- per type, the zones: those the user lists (in their order), else every zone of the place's subnets in name order;
  a zone that does not offer the type (DescribeInstanceTypeOfferings) is not tried for it.

A subnet pins one place (only types fail over); one availability zone pins a zone; per-zone subnets replace the
default VPC's default subnets. Pure functions (plain data in, plain data out), used by the filter
mocha.cloud.aws_gpu_attempts (the plan, in preflight) and the module mocha.cloud.aws_gpu_launch (the launch).
"""

from ansible_collections.mocha.cloud.plugins.module_utils import aws_gpu

# RunInstances refusals after which the next attempt is made at once (no same-zone backoff): the capacity of one
# type in one zone on one market is gone, or the zone does not offer the type.
REFUSALS = ("InsufficientInstanceCapacity", "Unsupported")
# EC2 answers this for an instance profile made seconds ago (IAM is eventually consistent): the same attempt again.
PROFILE_NOT_READY = "Invalid IAM Instance Profile"
PROFILE_RETRIES = 3
PROFILE_DELAY_S = 10


class LaunchPlanError(Exception):
    """Bad settings for the launch, with a message meant for the operator."""


def _subnet_field(subnet, snake, camel):
    return subnet.get(snake, subnet.get(camel))


def _subnet_view(subnet):
    """One DescribeSubnets entry (amazon.aws's snake_case or boto3's CamelCase): id, zone, VPC, default-for-az."""
    return {
        "subnet_id": _subnet_field(subnet, "subnet_id", "SubnetId") or subnet.get("id"),
        "availability_zone": _subnet_field(subnet, "availability_zone", "AvailabilityZone"),
        "vpc_id": _subnet_field(subnet, "vpc_id", "VpcId"),
        "default_for_az": bool(_subnet_field(subnet, "default_for_az", "DefaultForAz")),
    }


def places(subnets, subnet_id="", availability_zone="", zones=(), zone_subnets=None, default_vpc_id="", region=""):
    """{zone: subnet id} to launch into, the zones' order, the VPC, and the problems (each a sentence).

    ``subnets``: DescribeSubnets entries of the region (the named ones, or the default VPC's default subnets).
    ``subnet_id`` pins one subnet; ``availability_zone`` pins one zone; ``zones`` orders (and limits) the zones;
    ``zone_subnets`` ({zone: subnet id}) names a subnet per zone instead of the default VPC's default subnets.
    """
    zone_subnets = dict(zone_subnets or {})
    zones = [str(z) for z in (zones or [])]
    problems = []
    known = {}
    for raw in subnets or []:
        view = _subnet_view(raw)
        known[view["subnet_id"]] = view
    if len(set(zones)) != len(zones):
        problems.append("aws_gpu_instance_zones lists a zone twice: " + ", ".join(zones))
    if subnet_id and (zones or zone_subnets):
        problems.append("aws_gpu_instance_subnet_id pins one subnet: leave aws_gpu_instance_zones and "
                        "aws_gpu_instance_zone_subnets empty, or give no subnet id")
    if availability_zone and zones:
        problems.append("aws_gpu_instance_availability_zone pins one zone and aws_gpu_instance_zones orders several: "
                        "give one of the two")

    where = {}
    if subnet_id:
        subnet = known.get(subnet_id)
        if subnet is None:
            problems.append(f"Subnet {subnet_id} not found in {region}: check aws_gpu_instance_subnet_id")
        else:
            where = {subnet["availability_zone"]: subnet_id}
            if availability_zone and availability_zone != subnet["availability_zone"]:
                problems.append(f"aws_gpu_instance_subnet_id {subnet_id} is in {subnet['availability_zone']}, not in "
                                f"aws_gpu_instance_availability_zone {availability_zone}: give one of the two")
    elif zone_subnets:
        for zone, sid in zone_subnets.items():
            subnet = known.get(sid)
            if subnet is None:
                problems.append(f"Subnet {sid} (aws_gpu_instance_zone_subnets, {zone}) not found in {region}")
            elif subnet["availability_zone"] != zone:
                problems.append(f"Subnet {sid} is in {subnet['availability_zone']}, not in {zone}: fix "
                                "aws_gpu_instance_zone_subnets")
            else:
                where[zone] = sid
    else:
        for subnet in known.values():
            if subnet["default_for_az"] and (not default_vpc_id or subnet["vpc_id"] == default_vpc_id):
                where.setdefault(subnet["availability_zone"], subnet["subnet_id"])
        if not where and not problems:
            problems.append(f"No default VPC with default subnets in {region}: give aws_gpu_instance_subnet_id, or a "
                            "subnet per zone in aws_gpu_instance_zone_subnets")

    vpcs = sorted({known[sid]["vpc_id"] for sid in where.values() if sid in known})
    if len(vpcs) > 1:
        problems.append("the subnets of aws_gpu_instance_zone_subnets are in several VPCs (" + ", ".join(vpcs) +
                        "): the run's security group lives in one VPC, so name subnets of one VPC")

    if availability_zone and not subnet_id:
        if availability_zone not in where and not problems:
            problems.append(f"no subnet to launch into in {availability_zone}: it is not a zone of {region} with a "
                            + ("subnet in aws_gpu_instance_zone_subnets" if zone_subnets else "default subnet"))
        order = [availability_zone]
    elif zones:
        missing = [z for z in zones if z not in where]
        if missing and not problems:
            problems.append("no subnet to launch into in " + ", ".join(missing) + f" (aws_gpu_instance_zones): not zones of "
                            f"{region} with a " + ("subnet in aws_gpu_instance_zone_subnets" if zone_subnets else "default subnet")
                            + "; zones that have one: " + (", ".join(sorted(where)) or "none"))
        order = [z for z in zones if z in where]
    else:
        order = sorted(where)
    return {"subnets": {z: where[z] for z in order if z in where}, "order": order,
            "vpc_id": vpcs[0] if len(vpcs) == 1 else "", "problems": problems}


def markets(market, on_demand_fallback=False):
    """The markets in the order they are tried: the chosen one, then on demand for spot when allowed."""
    if market not in ("on-demand", "spot"):
        raise LaunchPlanError(f"market must be on-demand or spot, not '{market}'")
    return [market] + (["on-demand"] if market == "spot" and on_demand_fallback else [])


def attempts(types, offered, place, market="on-demand", on_demand_fallback=False):
    """The launch attempts in order, the notes on what is not tried, and the problems.

    ``types``: the first choice, then the fallback types. ``offered``: {type: [zones offering it]}. ``place``: the
    result of ``places``. Each attempt: {instance_type, availability_zone, subnet_id, market}.
    """
    problems = list(place["problems"])
    notes = []
    types = [str(t).strip().lower() for t in types]
    repeated = sorted({t for t in types if types.count(t) > 1})
    if repeated:
        problems.append("aws_gpu_instance_fallback_types repeats " + ", ".join(repeated) +
                        " (the first choice, aws_gpu_instance_type, is tried first anyway)")
    zones_of = {}
    for itype in dict.fromkeys(types):
        offers = set(offered.get(itype) or [])
        tried = [z for z in place["order"] if z in offers]
        left_out = [z for z in place["order"] if z not in offers]
        zones_of[itype] = tried
        if not tried and place["order"]:
            which = "aws_gpu_instance_type" if itype == types[0] else "fallback type"
            problems.append(f"{which} {itype} is offered in none of the zones it may launch in ("
                            + ", ".join(place["order"]) + "); EC2 offers it in " + (", ".join(sorted(offers)) or "no zone")
                            + (": drop it from aws_gpu_instance_fallback_types" if itype != types[0] else "")
                            + " or allow one of those zones")
        elif left_out:
            notes.append(f"{itype} is not offered in " + ", ".join(left_out) + " (DescribeInstanceTypeOfferings): not tried there")
    order = []
    for mkt in markets(market, on_demand_fallback):
        for itype in dict.fromkeys(types):
            for zone in zones_of[itype]:
                order.append({"instance_type": itype, "availability_zone": zone, "subnet_id": place["subnets"][zone],
                              "market": mkt})
    return {"attempts": order if not problems else [], "notes": notes, "problems": problems}


def plan_lines(plan):
    """What the launch will try, in order, one line per type and market."""
    groups = []
    for a in plan["attempts"]:
        key = (a["market"], a["instance_type"])
        if groups and groups[-1][0] == key:
            groups[-1][1].append(a["availability_zone"])
        else:
            groups.append((key, [a["availability_zone"]]))
    lines = [f"Launch order ({len(plan['attempts'])} attempt(s), each one RunInstances call, the next at once after a "
             "refusal):"]
    for i, ((mkt, itype), zones) in enumerate(groups, 1):
        lines.append(f"  {i}. {itype} {mkt} in " + ", ".join(zones))
    return lines + [f"  ({n})" for n in plan["notes"]]


def plan(settings):
    """The filter's entry: {types, offered, market, on_demand_fallback, subnets, subnet_id, availability_zone, zones,
    zone_subnets, default_vpc_id, region} -> {attempts, notes, problems, vpc_id, subnets, lines}."""
    s = dict(settings or {})
    place = places(s.get("subnets"), s.get("subnet_id") or "", s.get("availability_zone") or "", s.get("zones") or [],
                   s.get("zone_subnets") or {}, s.get("default_vpc_id") or "", s.get("region") or "")
    result = attempts([s["types"]] if isinstance(s.get("types"), str) else list(s.get("types") or []),
                      s.get("offered") or {}, place, s.get("market") or "on-demand", bool(s.get("on_demand_fallback")))
    result.update({"vpc_id": place["vpc_id"], "subnets": place["subnets"]})
    result["lines"] = plan_lines(result) if result["attempts"] else []
    return result


# --- The launch: which attempts are still worth making, and what to say about each ---------------------------


def allowed(attempt, fleet_type, mixed_types):
    """Whether an attempt may run: a fleet keeps the type it started with unless mixed types are allowed."""
    return mixed_types or not fleet_type or attempt["instance_type"] == fleet_type


def outcome_kind(code, message):
    """'refused' (try the next attempt at once), 'profile' (the same attempt again shortly) or 'error' (stop)."""
    if code in REFUSALS:
        return "refused"
    if PROFILE_NOT_READY in (message or ""):
        return "profile"
    return "error"


def where(attempt):
    return f"{attempt['instance_type']} in {attempt['availability_zone']} ({attempt['market']})"


def attempt_line(number, total, outcome):
    """One line for one attempt: type, zone, market, and EC2's answer (code and message) or what launched."""
    head = f"attempt {number}/{total}: {where(outcome)}"
    if outcome["result"] == "launched":
        ids = ", ".join(outcome.get("instance_ids") or [])
        return f"{head}: launched {outcome['launched']} ({ids}) in {outcome['seconds']:.1f} s"
    return f"{head}: {outcome.get('code') or 'error'}: {' '.join(str(outcome.get('message') or '').split())} " \
           f"({outcome['seconds']:.1f} s)"


def summary_line(outcomes, count, existing=0):
    """Which attempt(s) launched, or that the run had its instances already."""
    launched = [o for o in outcomes if o["result"] == "launched"]
    refused = [o for o in outcomes if o["result"] != "launched"]
    if not launched:
        return f"{existing} of {count} instance(s) of this run already running: nothing launched"
    got = existing + sum(o["launched"] for o in launched)
    parts = "; ".join(f"{o['launched']} x {where(o)}" for o in launched)
    tail = f" after {len(refused)} refusal(s)" if refused else ""
    short = f" ({count - got} short of {count}: EC2 had no more capacity in any place allowed)" if got < count else ""
    return f"Launched {parts}{tail}; {got} of {count} instance(s) of this run running{short}"


def failure_message(region, outcomes, count, types, market, on_demand_fallback):
    """The one error when nothing launched: every attempt with EC2's answer, then the ways out."""
    made = [o for o in outcomes if o["result"] != "skipped"]
    lines = [f"No instance launched in {region}: EC2 refused all {len(made)} attempt(s) for {count} instance(s)."]
    lines += [attempt_line(i, len(made), o) for i, o in enumerate(made, 1)]
    ways = ["try another region (aws_gpu_instance_region; its quota, AMI and prices are its own)"]
    if len(types) == 1:
        ways.append("add fallback types, tried in order after the first choice (aws_gpu_instance_fallback_types, e.g. "
                    + ", ".join(t for t in ("g4dn.xlarge", "g5.xlarge", "g6.xlarge") if t != types[0]) + ")")
    else:
        ways.append("add more fallback types (aws_gpu_instance_fallback_types)")
    if market == "spot" and not on_demand_fallback:
        ways.append("allow on-demand when no spot capacity is left (aws_gpu_instance_spot_on_demand_fallback: true), or "
                    "use aws_gpu_instance_market: on-demand")
    elif market == "on-demand":
        ways.append("try spot capacity, a separate pool (aws_gpu_instance_market: spot)")
    codes = []
    for itype in types:
        for mkt in markets(market, on_demand_fallback) + (["spot"] if market == "on-demand" else []):
            try:
                code = aws_gpu.quota_code(itype, mkt)[0]
            except aws_gpu.AwsGpuError:
                continue
            if code not in codes:
                codes.append(code)
    if codes:
        ways.append("make sure the vCPU quota of each type and market you allow is high enough (Service Quotas "
                    + ", ".join(codes) + "; aws_gpu_instance_request_quota_increase: true files the request)")
    ways.append("or run again later: capacity comes back")
    return "\n".join(lines) + "\nWays out: " + "; ".join(ways) + "."


def run_spec(attempt, count, base):
    """RunInstances arguments for one attempt: BASE (image, key, groups, volumes, metadata, user data, tags, profile,
    spot launch template) with the attempt's type, subnet and market; between 1 and COUNT instances (EC2 launches as
    many as it can place above MinCount)."""
    spec = {k: v for k, v in base.items() if k not in ("LaunchTemplate", "TagSpecifications", "MarketTag")}
    spec.update({"InstanceType": attempt["instance_type"], "SubnetId": attempt["subnet_id"], "MinCount": 1,
                 "MaxCount": int(count)})
    if attempt["market"] == "spot":
        if not base.get("LaunchTemplate"):
            raise LaunchPlanError("a spot attempt needs the run's spot launch template")
        spec["LaunchTemplate"] = base["LaunchTemplate"]
    tags = dict(base.get("Tags") or {})
    if base.get("MarketTag"):
        tags[base["MarketTag"]] = attempt["market"]
    spec.pop("Tags", None)
    if tags:
        pairs = [{"Key": k, "Value": str(v)} for k, v in tags.items()]
        spec["TagSpecifications"] = [{"ResourceType": "instance", "Tags": pairs}, {"ResourceType": "volume", "Tags": pairs}]
    return spec
