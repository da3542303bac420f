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
author:
  - mocha-cloud contributors (@mocha-cloud)
options:
  region:
    description: AWS region, e.g. C(us-east-1).
    type: str
    required: true
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
  endpoint_url:
    description:
      - Endpoint for every AWS call. Left out, botocore reads C(AWS_ENDPOINT_URL) from the environment,
        so an emulator can be used without changing any task.
    type: str
  profile:
    description: Named profile from the AWS shared configuration.
    type: str
requirements:
  - boto3
notes:
  - Credentials come from the standard botocore chain (environment, shared files, instance profile).
  - Supports check mode; only I(request_increase) changes anything.
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
msg:
  description: One-line summary.
  returned: always
  type: str
"""

import traceback  # noqa: E402 (ansible-test wants imports after DOCUMENTATION)

from ansible.module_utils.basic import AnsibleModule, missing_required_lib  # noqa: E402 (after DOCUMENTATION)
from ansible_collections.mocha.cloud.plugins.module_utils import aws_gpu  # noqa: E402 (after DOCUMENTATION)

try:
    import boto3  # noqa: F401  pylint: disable=unused-import
    from botocore.exceptions import BotoCoreError, ClientError, EndpointConnectionError, NoCredentialsError

    HAS_BOTO3 = True
    BOTO3_IMPORT_ERROR = None
except ImportError:
    HAS_BOTO3 = False
    BOTO3_IMPORT_ERROR = traceback.format_exc()


def plan(module, ec2, quotas_factory, home_ec2=None):
    """Run every check; returns the result dict or calls fail_json."""
    p = module.params
    region, itype = p["region"], p["instance_type"].strip().lower()

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


def main():
    module = AnsibleModule(
        argument_spec=dict(
            region=dict(type="str", required=True),
            instance_type=dict(type="str", required=True),
            count=dict(type="int", default=1),
            market=dict(type="str", default="on-demand", choices=["on-demand", "spot"]),
            availability_zone=dict(type="str"),
            check_quota=dict(type="bool", default=True),
            quota_vcpus=dict(type="float"),
            request_increase=dict(type="bool", default=False),
            endpoint_url=dict(type="str"),
            profile=dict(type="str"),
        ),
        supports_check_mode=True,
    )
    if not HAS_BOTO3:
        module.fail_json(msg=missing_required_lib("boto3"), exception=BOTO3_IMPORT_ERROR)
    p = module.params
    if p["count"] < 1:
        module.fail_json(msg=f"count must be at least 1, not {p['count']}")

    def client(service):
        return aws_gpu.boto3_client(service, p["region"], p["endpoint_url"], p["profile"])

    try:
        home = aws_gpu.boto3_client("ec2", aws_gpu.home_region(p["region"]), p["endpoint_url"], p["profile"])
        result = plan(module, client("ec2"), lambda: client("service-quotas"), home)
    except NoCredentialsError as exc:
        module.fail_json(msg=f"no AWS credentials ({exc}): run 'aws configure', or set AWS_PROFILE, or "
                             "AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY")
    except (ClientError, BotoCoreError) as exc:
        module.fail_json(msg="AWS call failed while planning {} in {}: {}".format(p["instance_type"], p["region"], exc),
                         exception=traceback.format_exc())
    module.exit_json(**result)


if __name__ == "__main__":
    main()
