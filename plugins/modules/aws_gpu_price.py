#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: mocha-cloud contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

DOCUMENTATION = r"""
---
module: aws_gpu_price
short_description: Hourly price of an EC2 GPU instance type and an estimate for a planned run
version_added: "0.1.0"
description:
  - Looks up the on-demand Linux price of I(instance_type) in I(region) through the AWS Pricing API
    (GetProducts, shared tenancy, no pre-installed software). For I(market=spot) it reads the current
    spot price (DescribeSpotPriceHistory) and reports the on-demand price as the ceiling.
  - When the API cannot be reached or lists nothing, it falls back to a table of list prices that carries
    its date and region, and says so in RV(source). With I(fallback=false) it fails instead.
  - Returns an estimate for I(count) instances running I(hours) hours. Never changes anything.
author:
  - mocha-cloud contributors (@mocha-cloud)
options:
  region:
    description: AWS region the instance runs in.
    type: str
    required: true
  instance_type:
    description: EC2 instance type.
    type: str
    required: true
  market:
    description: On-demand or spot.
    type: str
    choices: [on-demand, spot]
    default: on-demand
  count:
    description: Number of instances, for the estimate.
    type: int
    default: 1
  hours:
    description: Planned hours, for the estimate (the cost guard's I(max_hours) is the ceiling).
    type: float
    default: 1
  fallback:
    description: Use the dated fallback table when the Pricing API gives no answer.
    type: bool
    default: true
  pricing_region:
    description: Region of the Pricing API endpoint (it only exists in a few regions).
    type: str
    default: us-east-1
    choices: [us-east-1, eu-central-1, ap-south-1]
  endpoint_url:
    description: Endpoint for every AWS call. Left out, botocore reads C(AWS_ENDPOINT_URL) from the environment.
    type: str
  profile:
    description: Named profile from the AWS shared configuration.
    type: str
requirements:
  - boto3
notes:
  - Prices are list prices before tax, savings plans and credits; the estimate is an upper bound for the run
    when the cost guard stops the instance at I(hours).
seealso:
  - module: mocha.cloud.aws_gpu_quota
"""

EXAMPLES = r"""
- name: What would 8 hours of one g4dn.xlarge cost?
  mocha.cloud.aws_gpu_price:
    region: us-east-1
    instance_type: g4dn.xlarge
    hours: 8
  register: price

- name: Show it
  ansible.builtin.debug:
    msg: "{{ price.price_per_hour }} USD/h ({{ price.source }}): about {{ price.estimate_usd }} USD"
"""

RETURN = r"""
price_per_hour:
  description: USD per hour for one instance (null when unknown).
  returned: success
  type: float
  sample: 0.526
on_demand_price_per_hour:
  description: The on-demand price, also for spot (the ceiling a spot price never passes by default).
  returned: success
  type: float
source:
  description: Where the price came from (C(pricing-api), C(spot-price-history) or the dated fallback table).
  returned: success
  type: str
  sample: pricing-api
fallback_date:
  description: Date of the fallback table (set when it was used).
  returned: when the fallback table was used
  type: str
  sample: "2025-06-15"
estimate_usd:
  description: price_per_hour x hours x count, in USD, rounded to cents (null when the price is unknown).
  returned: success
  type: float
  sample: 4.21
warnings:
  description: Why the API answer was not used, when it was not.
  returned: when the fallback was used
  type: list
  elements: str
msg:
  description: One-line summary for the operator.
  returned: always
  type: str
"""

import traceback  # noqa: E402 (ansible-test wants imports after DOCUMENTATION)

from ansible.module_utils.basic import AnsibleModule, missing_required_lib  # noqa: E402 (after DOCUMENTATION)
from ansible_collections.mocha.cloud.plugins.module_utils import aws_gpu  # noqa: E402 (after DOCUMENTATION)

try:
    import boto3  # noqa: F401  pylint: disable=unused-import
    from botocore.exceptions import BotoCoreError, ClientError

    HAS_BOTO3 = True
    BOTO3_IMPORT_ERROR = None
except ImportError:
    HAS_BOTO3 = False
    BOTO3_IMPORT_ERROR = traceback.format_exc()


def price(params, pricing, ec2):
    """The result dict. PRICING and EC2 are clients (or None to skip that API)."""
    itype, region = params["instance_type"].strip().lower(), params["region"]
    problems = []
    on_demand, source = None, None
    try:
        on_demand = aws_gpu.on_demand_price(pricing, itype, region)
        source = "pricing-api"
        if on_demand is None:
            problems.append(f"the Pricing API lists no on-demand Linux price for {itype} in {region}")
    except (ClientError, BotoCoreError, ValueError, KeyError) as exc:
        problems.append(f"Pricing API: {exc}")

    result = {"changed": False}
    if on_demand is None:
        if not params["fallback"]:
            return dict(failed=True, msg="no price for {} in {}: {}".format(itype, region, "; ".join(problems)))
        on_demand, note = aws_gpu.fallback_price(itype)
        source = note
        result["fallback_date"] = aws_gpu.PRICE_FALLBACK_DATE
    hourly = on_demand
    if params["market"] == "spot":
        try:
            spot = aws_gpu.spot_price(ec2, itype)
        except (ClientError, BotoCoreError, ValueError, KeyError) as exc:
            spot = None
            problems.append(f"spot price history: {exc}")
        if spot is not None:
            hourly, source = spot, "spot-price-history"
        else:
            problems.append(f"no spot price for {itype} in {region}: showing the on-demand price as the ceiling")
    estimate = aws_gpu.estimate(hourly, params["hours"], params["count"])
    result.update(
        price_per_hour=hourly,
        on_demand_price_per_hour=on_demand,
        source=source,
        estimate_usd=estimate,
    )
    if problems:
        result["warnings"] = problems
    if hourly is None:
        result["msg"] = f"price of {itype} in {region} unknown ({source})"
    else:
        result["msg"] = (f"{params['market']} {itype} in {region}: {hourly:.4f} USD/h ({source}); "
                         f"{params['count']} x {params['hours']:g} h = about {estimate:.2f} USD")
    return result


def main():
    module = AnsibleModule(
        argument_spec=dict(
            region=dict(type="str", required=True),
            instance_type=dict(type="str", required=True),
            market=dict(type="str", default="on-demand", choices=["on-demand", "spot"]),
            count=dict(type="int", default=1),
            hours=dict(type="float", default=1),
            fallback=dict(type="bool", default=True),
            pricing_region=dict(type="str", default="us-east-1", choices=["us-east-1", "eu-central-1", "ap-south-1"]),
            endpoint_url=dict(type="str"),
            profile=dict(type="str"),
        ),
        supports_check_mode=True,
    )
    if not HAS_BOTO3:
        module.fail_json(msg=missing_required_lib("boto3"), exception=BOTO3_IMPORT_ERROR)
    p = module.params
    if p["count"] < 1 or p["hours"] <= 0:
        module.fail_json(msg="count must be >= 1 and hours > 0 (got count={}, hours={})".format(p["count"], p["hours"]))
    pricing = aws_gpu.boto3_client("pricing", p["pricing_region"], p["endpoint_url"], p["profile"])
    ec2 = aws_gpu.boto3_client("ec2", p["region"], p["endpoint_url"], p["profile"])
    result = price(p, pricing, ec2)
    for warning in result.pop("warnings", []):
        module.warn(warning)
    if result.get("failed"):
        module.fail_json(**result)
    module.exit_json(**result)


if __name__ == "__main__":
    main()
