#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: mocha-cloud contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

DOCUMENTATION = r"""
---
module: aws_gpu_quota
short_description: Check that an AWS region can run some GPU instances, and ask for more vCPU quota
version_added: "0.1.0"
description:
  - Answers "can I launch I(count) instances of I(instance_type) in I(region) now?" before anything is created.
  - Refuses retired families (p2, g3, g3s, g2, cg1) and suggests C(g4dn.xlarge) instead.
  - Checks that the region exists (EC2 DescribeRegions), that the type exists and has a GPU
    (DescribeInstanceTypes C(GpuInfo)) and that it is offered in the region or in the given availability zone
    (DescribeInstanceTypeOfferings).
  - Compares the vCPUs needed (count times the type's default vCPUs) plus the vCPUs already running in the same
    quota class with the account's Service Quotas vCPU quota (L-DB2E81BA On-Demand G and VT, L-417A185B On-Demand P,
    L-3819A6DF Spot G and VT, L-7212CCBC Spot P). When it is short the result carries the exact request to make.
  - With I(request_increase=true) it files that request (once; an open request is reported, not duplicated).
    New accounts start at 0 vCPUs for GPU families, so this request is the first step on a fresh account.
  - Failures of the planning checks are reported with C(failed=true) and a message that says how to fix them.
    A quota that is too low is not a failure of the module; see RV(quota.sufficient).
  - With I(offline=true) it makes no AWS call at all and plans from the collection's dated table of GPU types
    (the vCPUs needed, the quota codes that apply for on-demand and spot, and the request to make). That is what
    C(playbooks/quota.yml) shows when there are no AWS credentials.
author:
  - mocha-cloud contributors (@mocha-cloud)
options:
  instance_type:
    description: EC2 instance type, e.g. C(g4dn.xlarge).
    type: str
    required: true
  count:
    description: How many instances are planned.
    type: int
    default: 1
  market:
    description: On-demand or spot capacity (they have separate quotas).
    type: str
    choices: [on-demand, spot]
    default: on-demand
  availability_zone:
    description: When set, the type must be offered in this zone (not only somewhere in the region).
    type: str
  check_quota:
    description:
      - Ask Service Quotas. Set to V(false) where Service Quotas is not available (e.g. an emulator);
        the quota part of the result is then empty.
    type: bool
    default: true
  quota_vcpus:
    description:
      - Use this vCPU quota instead of asking Service Quotas (offline planning, tests).
        Implies the quota check even when I(check_quota=false).
    type: float
  request_increase:
    description:
      - When the quota is short, file a Service Quotas increase request for the vCPUs needed.
        In check mode the request is only reported.
    type: bool
    default: false
  offline:
    description:
      - Make no AWS call, and plan from the dated table of GPU types only (vCPUs needed, quota codes, the request).
        The account's quota is not read (RV(quota.checked) is V(false)); the region is not checked.
      - Cannot be combined with I(request_increase).
    type: bool
    default: false
attributes:
  check_mode:
    support: full
    description: Every check runs; with I(request_increase=true) the request is reported, not filed.
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
  - Credentials, profile, endpoint and region come from the amazon.aws options or the standard botocore chain
    (environment, shared files, instance profile). Left out, the endpoint is C(AWS_ENDPOINT_URL) from the environment,
    so an emulator can be used without changing any task.
  - A failure for want of credentials carries RV(credentials_missing), so a play can fall back to I(offline=true).
  - AWS calls are retried with jittered backoff when throttled.
seealso:
  - module: mocha.cloud.aws_gpu_price
"""

EXAMPLES = r"""
- name: Can this account run two g5.xlarge on-demand in eu-west-1?
  mocha.cloud.aws_gpu_quota:
    region: eu-west-1
    instance_type: g5.xlarge
    count: 2
  register: plan

- name: Ask for the quota when it is short, then stop
  mocha.cloud.aws_gpu_quota:
    region: us-east-1
    instance_type: g4dn.xlarge
    request_increase: true
  register: plan

- name: Plan against an emulator that has no Service Quotas
  mocha.cloud.aws_gpu_quota:
    region: us-east-1
    instance_type: g4dn.xlarge
    check_quota: false

- name: What would two g5.xlarge need? (no credentials, no AWS call)
  mocha.cloud.aws_gpu_quota:
    region: us-east-1
    instance_type: g5.xlarge
    count: 2
    offline: true
"""

RETURN = r"""
instance:
  description: What EC2 says about the type.
  returned: success
  type: dict
  contains:
    instance_type: {description: The type., type: str, sample: g4dn.xlarge}
    vcpus: {description: Default vCPUs of one instance., type: int, sample: 4}
    memory_mib: {description: Memory of one instance in MiB., type: int, sample: 16384}
    architectures: {description: Supported CPU architectures., type: list, elements: str, sample: [x86_64]}
    gpus: {description: GPU models with count and memory., type: list, elements: dict}
    gpu_count: {description: GPUs per instance., type: int, sample: 1}
    family: {description: Instance family., type: str, sample: g4dn}
    source: {description: "C(ec2) (DescribeInstanceTypes), or the dated table with O(offline=true).", type: str}
offered_in:
  description: Availability zones of the region where the type is offered.
  returned: success
  type: list
  elements: str
  sample: [us-east-1a, us-east-1b]
quota:
  description: The vCPU quota check; empty when it was not made.
  returned: success
  type: dict
  contains:
    checked: {description: Whether a quota was compared., type: bool}
    offline: {description: Whether this is the offline plan (O(offline=true)); the quota was not read., type: bool}
    codes:
      description: With O(offline=true), the quota code and name for each market (C(on-demand), C(spot)).
      type: dict
    code: {description: Service Quotas code., type: str, sample: L-DB2E81BA}
    name: {description: Quota name., type: str, sample: Running On-Demand G and VT instances}
    value: {description: The quota in vCPUs., type: float, sample: 0.0}
    source:
      description: Where the value came from, C(applied), C(default) or C(given).
      type: str
    in_use: {description: vCPUs of running instances in the same class and market., type: int}
    needed: {description: vCPUs the planned instances take., type: int, sample: 4}
    sufficient: {description: Whether in_use + needed fits., type: bool}
    request:
      description: The exact request to make when short (CLI command, console page, desired value).
      type: dict
    filed:
      description: The increase request, filed now or already open (id, status, desired_value, case_id).
      type: dict
credentials_missing:
  description: Set (V(true)) on a failure because no AWS credentials were found.
  returned: failure
  type: bool
msg:
  description: One-line summary.
  returned: always
  type: str
"""

from ansible_collections.amazon.aws.plugins.module_utils.modules import AnsibleAWSModule  # noqa: E402 (after DOCUMENTATION)
from ansible_collections.amazon.aws.plugins.module_utils.retries import AWSRetry  # noqa: E402
from ansible_collections.mocha.cloud.plugins.module_utils import aws_gpu  # noqa: E402

try:
    from botocore.exceptions import BotoCoreError, ClientError, EndpointConnectionError, NoCredentialsError, PartialCredentialsError
except ImportError:
    pass  # AnsibleAWSModule reports a missing boto3/botocore itself


def plan(module, ec2, quotas_factory, home_ec2=None):
    """Run every check; returns the result dict or calls fail_json."""
    p = module.params
    region, itype = module.region, p["instance_type"].strip().lower()

    try:
        family = aws_gpu.family_of(itype)
        retired = aws_gpu.retired_message(itype)
    except aws_gpu.AwsGpuError as exc:
        module.fail_json(msg=str(exc))
    if retired:
        module.fail_json(msg=retired, suggested_instance_type=aws_gpu.SUGGESTED_TYPE)

    try:
        regions = aws_gpu.region_names(home_ec2 or ec2)
    except EndpointConnectionError as exc:
        module.fail_json(msg=f"cannot reach EC2 in region '{region}' ({exc}): check the region name")
    if region not in regions:
        module.fail_json(msg="region '{}' does not exist; regions: {}".format(region, ", ".join(sorted(regions))))
    if regions[region] == "not-opted-in":
        module.fail_json(msg=f"region '{region}' is not enabled for this account: opt in first (Account settings > "
                             "AWS Regions) or pick another region")

    info = aws_gpu.describe_type(ec2, itype)
    if info is None:
        module.fail_json(msg=f"EC2 does not know the instance type '{itype}' in {region}; try {aws_gpu.SUGGESTED_TYPE}")
    summary = aws_gpu.gpu_summary(info)
    summary["family"] = family
    summary["source"] = "ec2"
    if summary["gpu_count"] < 1:
        module.fail_json(msg=f"{itype} has no GPU (no GpuInfo in DescribeInstanceTypes); pick a GPU type such as {aws_gpu.SUGGESTED_TYPE}", instance=summary)

    zones = aws_gpu.offered_locations(ec2, itype, "availability-zone")
    if not zones:
        module.fail_json(msg=f"{itype} is not offered in {region}; pick another region or type (e.g. {aws_gpu.SUGGESTED_TYPE})",
                         instance=summary)
    az = p["availability_zone"]
    if az and az not in zones:
        module.fail_json(msg=f"{itype} is not offered in availability zone {az}; it is offered in: {', '.join(zones)}",
                         instance=summary, offered_in=zones)

    result = {"changed": False, "instance": summary, "offered_in": zones, "quota": {"checked": False}}
    if not p["check_quota"] and p["quota_vcpus"] is None:
        result["msg"] = f"{itype} ({summary['gpu_count']} GPU, {summary['vcpus']} vCPUs) is offered in {region}; quota not checked"
        return result

    code, name = aws_gpu.quota_code(itype, p["market"])
    needed = aws_gpu.vcpus_needed(summary["vcpus"], p["count"])
    in_use = aws_gpu.vcpus_in_use(ec2, aws_gpu.quota_class(itype), p["market"])
    quotas = None
    if p["quota_vcpus"] is not None:
        value, source = float(p["quota_vcpus"]), "given"
    else:
        quotas = quotas_factory()
        value, source = aws_gpu.get_vcpu_quota(quotas, code)
    sufficient = aws_gpu.quota_verdict(value, in_use, needed)
    quota = {"checked": True, "code": code, "name": name, "value": value, "source": source,
             "in_use": in_use, "needed": needed, "sufficient": sufficient}
    result["quota"] = quota
    if sufficient:
        result["msg"] = f"{p['count']} x {itype} needs {needed} vCPUs ({in_use} in use) of quota {code} '{name}' = {value:g}: enough"
        return result

    request = aws_gpu.quota_request(region, code, in_use + needed)
    quota["request"] = request
    result["msg"] = (
        f"vCPU quota too low in {region}: {p['count']} x {itype} needs {needed} vCPUs, {in_use} already in use, "
        f"quota {code} '{name}' is {value:g}. Request {request['desired_value']} vCPUs: {request['cli']} "
        f"(or the console: {request['console']})")
    if p["request_increase"]:
        if quotas is None:
            quotas = quotas_factory()
        existing = aws_gpu.open_quota_request(quotas, code)
        if existing:
            quota["filed"] = existing
            result["msg"] += ". An increase request is already open: {} ({})".format(existing["id"], existing["status"])
        elif module.check_mode:
            result["changed"] = True
            result["msg"] += ". Check mode: the request would be filed now"
        else:
            quota["filed"] = aws_gpu.file_quota_request(quotas, code, request["desired_value"])
            result["changed"] = True
            result["msg"] += ". Filed request {} ({})".format(quota["filed"]["id"], quota["filed"]["status"])
    return result


def plan_offline(module):
    """The plan from the dated table alone: no AWS call."""
    p = module.params
    itype = p["instance_type"].strip().lower()
    try:
        offline = aws_gpu.offline_plan(itype, p["count"], p["market"], module.region)
    except aws_gpu.AwsGpuError as exc:
        module.fail_json(msg=str(exc), suggested_instance_type=aws_gpu.SUGGESTED_TYPE)
    instance = dict(offline["instance"], source=aws_gpu.table_note())
    quota = {"checked": False, "offline": True, "code": offline["code"], "name": offline["name"], "codes": offline["codes"],
             "needed": offline["needed"], "sufficient": None}
    codes = "; ".join("{}: {} '{}'".format(m, c["code"], c["name"]) for m, c in offline["codes"].items())
    if offline["needed"] is None:
        msg = (f"{itype} is not in the {aws_gpu.table_note()}: its vCPUs are unknown offline. "
               f"Quota codes for its class: {codes}")
    else:
        quota["request"] = offline["request"]
        msg = (f"{p['count']} x {itype} needs {offline['needed']} vCPUs ({offline['instance']['vcpus']} each, {aws_gpu.table_note()}) "
               f"of quota {offline['code']} '{offline['name']}' ({p['market']}). Quota codes for its class: {codes}. "
               f"New accounts start at 0 vCPUs: request {offline['request']['desired_value']} with "
               f"{offline['request']['cli']} (or the console: {offline['request']['console']})")
    return {"changed": False, "instance": instance, "offered_in": [], "quota": quota, "msg": msg}


def main():
    module = AnsibleAWSModule(
        argument_spec=dict(
            instance_type=dict(type="str", required=True),
            count=dict(type="int", default=1),
            market=dict(type="str", default="on-demand", choices=["on-demand", "spot"]),
            availability_zone=dict(type="str"),
            check_quota=dict(type="bool", default=True),
            quota_vcpus=dict(type="float"),
            request_increase=dict(type="bool", default=False),
            offline=dict(type="bool", default=False),
        ),
        mutually_exclusive=[("offline", "request_increase")],
        supports_check_mode=True,
    )
    p = module.params
    if p["count"] < 1:
        module.fail_json(msg=f"count must be at least 1, not {p['count']}")
    if not module.region:
        module.fail_json(msg="no AWS region: set region (or aws_gpu_instance_region in the settings), or AWS_REGION")
    if p["offline"]:
        module.exit_json(**plan_offline(module))

    retry = AWSRetry.jittered_backoff()
    try:
        home = module.client("ec2", region=aws_gpu.home_region(module.region), retry_decorator=retry)
        result = plan(module, module.client("ec2", retry_decorator=retry),
                      lambda: module.client("service-quotas", retry_decorator=retry), home)
    except (NoCredentialsError, PartialCredentialsError) as exc:
        module.fail_json(msg=f"no AWS credentials ({exc}): export AWS_PROFILE (a profile in ~/.aws/credentials or "
                             "~/.aws/config), or AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, then run again",
                         credentials_missing=True)
    except (ClientError, BotoCoreError) as exc:
        module.fail_json_aws(exc, msg="AWS call failed while planning {} in {}".format(p["instance_type"], module.region))
    module.exit_json(**result)


if __name__ == "__main__":
    main()
