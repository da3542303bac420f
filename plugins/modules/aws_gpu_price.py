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
  - When the API cannot be reached or lists nothing (no credentials included), it falls back to the collection's
    table of list prices, which carries its date and region, and says so in RV(source). With I(fallback=false) it
    fails instead.
  - Returns an estimate for I(count) instances running I(hours) hours. Never changes anything.
author:
  - mocha-cloud contributors (@mocha-cloud)
options:
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
    description: Use the dated list price table when the Pricing API gives no answer.
    type: bool
    default: true
  pricing_region:
    description: Region of the Pricing API endpoint (it only exists in a few regions).
    type: str
    default: us-east-1
    choices: [us-east-1, eu-central-1, ap-south-1]
attributes:
  check_mode:
    support: full
    description: The module only reads; it runs the same way in check mode.
  diff_mode:
    support: N/A
    details: It changes nothing, so there is no difference to show.
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
  - Credentials, profile, endpoint and region come from the amazon.aws options or the standard botocore chain.
    Left out, the endpoint is C(AWS_ENDPOINT_URL) from the environment.
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
  description: Where the price came from (C(pricing-api), C(spot-price-history) or the dated list price table).
  returned: success
  type: str
  sample: pricing-api
fallback_date:
  description: Date of the list price table (set when it was used).
  returned: when the table was used
  type: str
  sample: "2025-06-15"
estimate_usd:
  description: price_per_hour x hours x count, in USD, rounded to cents (null when the price is unknown).
  returned: success
  type: float
  sample: 4.21
problems:
  description: Why an API answer was not used, when it was not (also at the end of RV(msg)).
  returned: when an API gave no usable answer
  type: list
  elements: str
msg:
  description: One-line summary for the operator.
  returned: always
  type: str
"""

from ansible_collections.amazon.aws.plugins.module_utils.modules import AnsibleAWSModule  # noqa: E402 (after DOCUMENTATION)
from ansible_collections.amazon.aws.plugins.module_utils.retries import AWSRetry  # noqa: E402
from ansible_collections.mocha.cloud.plugins.module_utils import aws_gpu  # noqa: E402

try:
    from botocore.exceptions import BotoCoreError, ClientError
except ImportError:
    pass  # AnsibleAWSModule reports a missing boto3/botocore itself


def price(params, region, pricing, ec2):
    """The result dict. PRICING and EC2 are clients (AnsibleAWSModule.client with a retry decorator)."""
    itype = params["instance_type"].strip().lower()
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
        on_demand, note = aws_gpu.list_price(itype)
        source = note
        result["fallback_date"] = aws_gpu.PRICE_TABLE_DATE
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
    if hourly is None:
        result["msg"] = f"price of {itype} in {region} unknown ({source})"
    else:
        result["msg"] = (f"{params['market']} {itype} in {region}: {hourly:.4f} USD/h ({source}); "
                         f"{params['count']} x {params['hours']:g} h = about {estimate:.2f} USD")
    if problems:
        result["problems"] = problems
        result["msg"] += ". Not from the API: " + "; ".join(problems)
    return result


def main():
    module = AnsibleAWSModule(
        argument_spec=dict(
            instance_type=dict(type="str", required=True),
            market=dict(type="str", default="on-demand", choices=["on-demand", "spot"]),
            count=dict(type="int", default=1),
            hours=dict(type="float", default=1),
            fallback=dict(type="bool", default=True),
            pricing_region=dict(type="str", default="us-east-1", choices=["us-east-1", "eu-central-1", "ap-south-1"]),
        ),
        supports_check_mode=True,
    )
    p = module.params
    if p["count"] < 1 or p["hours"] <= 0:
        module.fail_json(msg="count must be >= 1 and hours > 0 (got count={}, hours={})".format(p["count"], p["hours"]))
    if not module.region:
        module.fail_json(msg="no AWS region: set region (or aws_gpu_instance_region in the settings), or AWS_REGION")
    retry = AWSRetry.jittered_backoff()
    pricing = module.client("pricing", region=p["pricing_region"], retry_decorator=retry)
    ec2 = module.client("ec2", retry_decorator=retry)
    result = price(p, module.region, pricing, ec2)
    if result.get("failed"):
        module.fail_json(**result)
    module.exit_json(**result)


if __name__ == "__main__":
    main()
