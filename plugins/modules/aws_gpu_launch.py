#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: mocha-cloud contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

DOCUMENTATION = r"""
---
module: aws_gpu_launch
short_description: Launch a run's GPU instances, trying zone after zone, then fallback types, then on demand
version_added: "0.1.0"
description:
  - Launches the instances a run is missing (I(count) minus those already pending or running that match I(filters)),
    making the launch I(attempts) in order, each one C(RunInstances) call for one instance type in one availability
    zone (through one subnet) on one market. The order comes from the filter P(mocha.cloud.aws_gpu_attempts#filter).
  - When EC2 refuses an attempt for capacity (C(InsufficientInstanceCapacity), on demand or spot) or because the zone
    does not offer the type (C(Unsupported)), the next attempt is made at once. There is no same-zone backoff (EC2's
    capacity does not come back in seconds), and the EC2 client makes each call once (botocore's own retries of
    HTTP 500 answers, which C(InsufficientInstanceCapacity) is, are off); throttling is retried with jittered backoff.
  - Each call asks for between 1 and the instances still missing; EC2 launches as many as it can place in the zone, and
    the rest go on to the next attempt. A fleet keeps the type it started with (or that the run's running instances
    have) unless I(mixed_types=true).
  - Every instance gets IMDSv2 only (hop limit 1), an encrypted gp3 root volume deleted with it, instance-initiated
    shutdown behaviour C(terminate), the tags given (also on its volumes) and, with I(market_tag), a tag saying its market.
  - When nothing launches (and none of the run was running), fails with one message listing every attempt with EC2's
    error code and message, and the ways out. An error other than a refusal stops the launch and fails; what launched
    before it is in RV(instances), for the caller to clean up.
author:
  - mocha-cloud contributors (@mocha-cloud)
options:
  attempts:
    description:
      - The launch attempts in order, each a dict with C(instance_type), C(availability_zone), C(subnet_id) and C(market)
        (C(on-demand) or C(spot)); the C(attempts) of the filter P(mocha.cloud.aws_gpu_attempts#filter).
    type: list
    elements: dict
    required: true
  count:
    description: How many instances the run should have running.
    type: int
    default: 1
  mixed_types:
    description: Let a fleet that got some instances of one type go on with the next types for the rest.
    type: bool
    default: false
  filters:
    description: EC2 filters that select the run's instances (its tags); the pending and running ones count as launched.
    type: dict
    required: true
  image_id:
    description: The AMI.
    type: str
    required: true
  key_name:
    description: The key pair.
    type: str
  security_group_ids:
    description: Security groups of the instances (of the subnets' VPC).
    type: list
    elements: str
    default: []
  iam_instance_profile_arn:
    description: Instance profile to attach, by ARN.
    type: str
  launch_template_name:
    description: The launch template with the spot market options; used by the spot attempts (required for them).
    type: str
  root_device_name:
    description: The AMI's root device.
    type: str
    default: /dev/sda1
  volume_size_gb:
    description: Size of the encrypted gp3 root volume in GiB.
    type: int
    default: 100
  user_data:
    description: User data (cloud-init) for the instances.
    type: str
  name:
    description: Value of the C(Name) tag.
    type: str
  tags:
    description: Tags of the instances and their volumes.
    type: dict
    default: {}
  market_tag:
    description: A tag key whose value is set to each instance's market (C(on-demand) or C(spot)).
    type: str
  wait:
    description: Wait until the launched instances run.
    type: bool
    default: true
  wait_timeout:
    description: Seconds to wait for them.
    type: int
    default: 600
attributes:
  check_mode:
    support: full
    description: Reads the run's instances and reports what would be launched and the first attempt; launches nothing.
  diff_mode:
    support: none
  platform:
    platforms: posix
  action_group:
    support: full
    membership: [mocha.cloud.aws]
extends_documentation_fragment:
  - amazon.aws.common.modules
  - amazon.aws.region.modules
  - amazon.aws.boto3
  - ansible.builtin.action_common_attributes
  - ansible.builtin.action_common_attributes.actiongroups
notes:
  - Calls EC2 DescribeInstances and RunInstances (with a client token per attempt, so a retried call launches once).
  - EC2 answers C(Invalid IAM Instance Profile) for an instance profile made seconds before; that attempt is made again
    up to three times, 10 s apart.
seealso:
  - module: mocha.cloud.aws_gpu_quota
"""

EXAMPLES = r"""
- name: Launch one g4dn.xlarge, in us-east-1a or else us-east-1b, else a g5.xlarge
  mocha.cloud.aws_gpu_launch:
    region: us-east-1
    attempts:
      - {instance_type: g4dn.xlarge, availability_zone: us-east-1a, subnet_id: subnet-0a, market: on-demand}
      - {instance_type: g4dn.xlarge, availability_zone: us-east-1b, subnet_id: subnet-0b, market: on-demand}
      - {instance_type: g5.xlarge, availability_zone: us-east-1a, subnet_id: subnet-0a, market: on-demand}
    filters:
      "tag:mocha-cloud:run-id": exp1
    image_id: ami-0123456789abcdef0
    security_group_ids: [sg-0123456789abcdef0]
    tags:
      "mocha-cloud:run-id": exp1
  register: launch
"""

RETURN = r"""
launch_attempts:
  description: Every attempt made, in order, with what EC2 answered.
  returned: always
  type: list
  elements: dict
  contains:
    instance_type: {description: The type asked for., type: str, sample: g4dn.xlarge}
    availability_zone: {description: The zone (of the subnet)., type: str, sample: us-east-1a}
    subnet_id: {description: The subnet., type: str}
    market: {description: C(on-demand) or C(spot)., type: str}
    result: {description: "C(launched), C(refused) or C(error).", type: str}
    code: {description: EC2's error code when not launched., type: str, sample: InsufficientInstanceCapacity}
    message: {description: EC2's error message when not launched., type: str}
    launched: {description: Instances launched by this attempt., type: int}
    instance_ids: {description: Their ids., type: list, elements: str}
    seconds: {description: Seconds from the start of the module to the end of this attempt., type: float}
lines:
  description: One line per attempt (type, zone, market, EC2's answer), then which one(s) launched.
  returned: always
  type: list
  elements: str
instances:
  description: The run's instances (already running and launched now), each with its type, zone and market.
  returned: always
  type: list
  elements: dict
  contains:
    instance_id: {description: Instance id., type: str}
    instance_type: {description: Its type., type: str}
    availability_zone: {description: Its zone., type: str}
    market: {description: Its market., type: str}
    launched_now: {description: Whether this run of the module launched it., type: bool}
count:
  description: The instances asked for.
  returned: always
  type: int
running:
  description: The run's instances now (RV(instances) length); fewer than RV(count) when EC2 had no more capacity.
  returned: always
  type: int
msg:
  description: One-line summary, or the failure with every attempt.
  returned: always
  type: str
"""

import time  # noqa: E402
import uuid  # noqa: E402

from ansible_collections.amazon.aws.plugins.module_utils.modules import AnsibleAWSModule  # noqa: E402
from ansible_collections.amazon.aws.plugins.module_utils.retries import AWSRetry  # noqa: E402
from ansible_collections.mocha.cloud.plugins.module_utils import aws_launch  # noqa: E402

try:
    from botocore.config import Config
    from botocore.exceptions import BotoCoreError, ClientError, NoCredentialsError, PartialCredentialsError
except ImportError:
    pass  # AnsibleAWSModule reports a missing boto3/botocore itself

# One HTTP request per call: botocore would repeat a 500 (InsufficientInstanceCapacity is one) up to 4 times with
# backoff in its default mode, in the same zone. Throttling is retried by the jittered backoff around each call.
NO_BOTOCORE_RETRIES = {"retries": {"max_attempts": 1, "mode": "standard"}}


def _filters(filters, states):
    out = [{"Name": k, "Values": [str(x) for x in (v if isinstance(v, list) else [v])]} for k, v in (filters or {}).items()
           if k != "instance-state-name"]
    return out + [{"Name": "instance-state-name", "Values": states}]


def _instance_view(inst, market_tag, now=False):
    tags = {t["Key"]: t["Value"] for t in inst.get("Tags") or []}
    market = "spot" if inst.get("InstanceLifecycle") == "spot" else tags.get(market_tag or "", "on-demand")
    return {"instance_id": inst["InstanceId"], "instance_type": inst.get("InstanceType", ""),
            "availability_zone": (inst.get("Placement") or {}).get("AvailabilityZone", ""),
            "market": market if market in ("on-demand", "spot") else "on-demand", "launched_now": now}


def find_running(ec2, filters, market_tag):
    resp = ec2.describe_instances(Filters=_filters(filters, ["pending", "running"]), aws_retry=True)
    found = [i for r in resp.get("Reservations", []) for i in r.get("Instances", [])]
    return [_instance_view(i, market_tag) for i in sorted(found, key=lambda i: (str(i.get("LaunchTime")), i.get("AmiLaunchIndex", 0)))]


def base_spec(p):
    """The RunInstances arguments every attempt shares."""
    base = {
        "ImageId": p["image_id"],
        "SecurityGroupIds": p["security_group_ids"],
        "BlockDeviceMappings": [{"DeviceName": p["root_device_name"], "Ebs": {
            "VolumeType": "gp3", "VolumeSize": p["volume_size_gb"], "Encrypted": True, "DeleteOnTermination": True}}],
        # IMDSv2 only; a hop limit of 1 keeps the role's credentials from containers behind a bridge on the instance.
        "MetadataOptions": {"HttpEndpoint": "enabled", "HttpTokens": "required", "HttpPutResponseHopLimit": 1},
        "InstanceInitiatedShutdownBehavior": "terminate",
        "Tags": dict(p["tags"] or {}, **({"Name": p["name"]} if p["name"] else {})),
        "MarketTag": p["market_tag"],
    }
    for key, arg in (("KeyName", "key_name"), ("UserData", "user_data")):
        if p[arg]:
            base[key] = p[arg]
    if p["iam_instance_profile_arn"]:
        base["IamInstanceProfile"] = {"Arn": p["iam_instance_profile_arn"]}
    if p["launch_template_name"]:
        base["LaunchTemplate"] = {"LaunchTemplateName": p["launch_template_name"]}
    return base


def try_attempt(ec2, spec, sleep=time.sleep):
    """One attempt: (instances, None) or (None, (code, message)); the same call again while the profile is not ready."""
    spec = dict(spec, ClientToken=uuid.uuid4().hex)
    for tries in range(aws_launch.PROFILE_RETRIES + 1):
        try:
            return ec2.run_instances(**spec, aws_retry=True).get("Instances", []), None
        except ClientError as exc:
            err = exc.response.get("Error", {})
            code, message = err.get("Code", ""), err.get("Message", str(exc))
            if aws_launch.outcome_kind(code, message) == "profile" and tries < aws_launch.PROFILE_RETRIES:
                sleep(aws_launch.PROFILE_DELAY_S)
                continue
            return None, (code, message)
    return None, ("", "unreachable")  # pragma: no cover


def launch(module, ec2, clock=time.monotonic, sleep=time.sleep):
    """Make the attempts until the run has its instances; returns the result dict or calls fail_json."""
    p = module.params
    start = clock()
    running = find_running(ec2, p["filters"], p["market_tag"])
    needed = p["count"] - len(running)
    result = {"changed": False, "launch_attempts": [], "lines": [], "instances": running, "count": p["count"], "running": len(running)}
    attempts = [dict(a) for a in p["attempts"]]
    fleet_type = running[0]["instance_type"] if running and not p["mixed_types"] else ""
    if needed <= 0:
        result["msg"] = aws_launch.summary_line([], p["count"], len(running))
        result["lines"] = [result["msg"]]
        return result
    if module.check_mode:
        first = next((a for a in attempts if aws_launch.allowed(a, fleet_type, p["mixed_types"])), None)
        result["changed"] = True
        result["msg"] = f"Would launch {needed} instance(s), first as {aws_launch.where(first)}" if first else \
            "Would launch nothing: no attempt allowed"
        result["lines"] = [result["msg"]]
        return result

    base = base_spec(p)
    outcomes = []
    for attempt in attempts:
        if needed <= 0:
            break
        if not aws_launch.allowed(attempt, fleet_type, p["mixed_types"]):
            continue
        instances, refusal = try_attempt(ec2, aws_launch.run_spec(attempt, needed, base), sleep=sleep)
        outcome = dict(attempt, seconds=round(clock() - start, 2))
        if instances:
            ids = [i["InstanceId"] for i in instances]
            outcome.update(result="launched", launched=len(ids), instance_ids=ids)
            result["instances"] = result["instances"] + [dict(_instance_view(i, None), market=attempt["market"], launched_now=True)
                                                         for i in instances]
            needed -= len(ids)
            result["changed"] = True
            fleet_type = fleet_type or ("" if p["mixed_types"] else attempt["instance_type"])
        else:
            code, message = refusal or ("", "EC2 launched no instance and gave no error")
            kind = aws_launch.outcome_kind(code, message)
            outcome.update(result="refused" if kind == "refused" else "error", code=code, message=message, launched=0, instance_ids=[])
        outcomes.append(outcome)
        if outcome["result"] == "error":
            break
    made = len(outcomes)
    result["launch_attempts"] = outcomes
    result["lines"] = [aws_launch.attempt_line(i, made, o) for i, o in enumerate(outcomes, 1)]
    result["running"] = len(result["instances"])
    types = list(dict.fromkeys(a["instance_type"] for a in attempts))
    if outcomes and outcomes[-1]["result"] == "error":
        module.fail_json(msg="\n".join([f"EC2 refused a launch attempt with an error that is not about capacity: "
                                        f"{outcomes[-1]['code']}: {outcomes[-1]['message']}"] + result["lines"]), **result)
    if not result["instances"]:
        market = attempts[0]["market"] if attempts else "on-demand"
        fallback = any(a["market"] == "on-demand" for a in attempts) and market == "spot"
        module.fail_json(msg=aws_launch.failure_message(module.region, outcomes, p["count"], types, market, fallback), **result)
    result["msg"] = aws_launch.summary_line(outcomes, p["count"], len(running))
    result["lines"].append(result["msg"])
    new_ids = [i["instance_id"] for i in result["instances"] if i["launched_now"]]
    if p["wait"] and new_ids:
        waiter = ec2.get_waiter("instance_running")
        waiter.wait(InstanceIds=new_ids, WaiterConfig={"Delay": 5, "MaxAttempts": max(1, p["wait_timeout"] // 5)})
    return result


def main():
    module = AnsibleAWSModule(
        argument_spec=dict(
            attempts=dict(type="list", elements="dict", required=True),
            count=dict(type="int", default=1),
            mixed_types=dict(type="bool", default=False),
            filters=dict(type="dict", required=True),
            image_id=dict(type="str", required=True),
            key_name=dict(type="str"),
            security_group_ids=dict(type="list", elements="str", default=[]),
            iam_instance_profile_arn=dict(type="str"),
            launch_template_name=dict(type="str"),
            root_device_name=dict(type="str", default="/dev/sda1"),
            volume_size_gb=dict(type="int", default=100),
            user_data=dict(type="str"),
            name=dict(type="str"),
            tags=dict(type="dict", default={}),
            market_tag=dict(type="str"),
            wait=dict(type="bool", default=True),
            wait_timeout=dict(type="int", default=600),
        ),
        supports_check_mode=True,
    )
    p = module.params
    problems = []
    if p["count"] < 1:
        problems.append(f"count must be at least 1, not {p['count']}")
    for i, a in enumerate(p["attempts"], 1):
        missing = [k for k in ("instance_type", "availability_zone", "subnet_id", "market") if not a.get(k)]
        if missing or a.get("market") not in ("on-demand", "spot"):
            problems.append(f"attempt {i} needs instance_type, availability_zone, subnet_id and market (on-demand or spot): {a}")
        elif a["market"] == "spot" and not p["launch_template_name"]:
            problems.append(f"attempt {i} is spot: give launch_template_name (the template with the spot market options)")
    if not p["attempts"]:
        problems.append("no attempts: give at least one (the filter mocha.cloud.aws_gpu_attempts makes them)")
    if problems:
        module.fail_json(msg="; ".join(problems))
    try:
        ec2 = module.client("ec2", retry_decorator=AWSRetry.jittered_backoff(), config=Config(**NO_BOTOCORE_RETRIES))
        result = launch(module, ec2)
    except (NoCredentialsError, PartialCredentialsError) as exc:
        module.fail_json(msg=f"no AWS credentials ({exc}): export AWS_PROFILE, or AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY")
    except (ClientError, BotoCoreError) as exc:
        module.fail_json_aws(exc, msg=f"AWS call failed while launching in {module.region}")
    module.exit_json(**result)


if __name__ == "__main__":
    main()
