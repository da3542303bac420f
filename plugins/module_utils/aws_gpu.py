# -*- coding: utf-8 -*-
# Copyright: mocha-cloud contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Helpers for planning AWS GPU instances: pure functions plus a thin boto3 layer.

The pure part (instance family, quota code, vCPUs needed, retired families, the one dated table of GPU types
with their vCPUs and list prices, Pricing API parsing) takes plain values and returns plain values. The boto3
part takes ready-made clients (AnsibleAWSModule.client with a retry decorator), so tests can hand it a client
wrapped in botocore's Stubber. boto3 itself is checked by AnsibleAWSModule.
"""


import json
import math
import re

try:
    from botocore.exceptions import ClientError
except ImportError:  # pragma: no cover - the modules report missing boto3 themselves
    ClientError = Exception

SUGGESTED_TYPE = "g4dn.xlarge"

# Families AWS has retired (no new launches). p2 (K80) and g3 (M60) are the tutorial's.
RETIRED_FAMILIES = {
    "p2": "NVIDIA K80",
    "g3": "NVIDIA M60",
    "g3s": "NVIDIA M60",
    "g2": "NVIDIA GRID K520",
    "cg1": "NVIDIA Tesla M2050",
}

# Service Quotas codes (service code "ec2"); every one is counted in vCPUs.
QUOTA_CODES = {
    ("on-demand", "G"): ("L-DB2E81BA", "Running On-Demand G and VT instances"),
    ("on-demand", "P"): ("L-417A185B", "Running On-Demand P instances"),
    ("spot", "G"): ("L-3819A6DF", "All G and VT Spot Instance Requests"),
    ("spot", "P"): ("L-7212CCBC", "All P Spot Instance Requests"),
}

# The one table of GPU instance types this collection knows offline: default vCPUs and the on-demand Linux list
# price (shared tenancy, us-east-1, USD per hour, as published on the AWS EC2 on-demand pricing page on the date
# below). Used when the Pricing API cannot be reached (aws_gpu_price), for the offline plan without credentials
# (aws_gpu_quota offline=true) and for the cost estimate of a training run (the aws_gpu_list_price filter).
# Other regions differ (often by 10-30 %): the date and region are always reported with a price from here.
PRICE_TABLE_DATE = "2025-06-15"
PRICE_TABLE_REGION = "us-east-1"
GPU_TYPES = {  # instance type: (default vCPUs, USD per hour)
    "g4dn.xlarge": (4, 0.526),
    "g4dn.2xlarge": (8, 0.752),
    "g4dn.4xlarge": (16, 1.204),
    "g4dn.8xlarge": (32, 2.176),
    "g4dn.12xlarge": (48, 3.912),
    "g4dn.16xlarge": (64, 4.352),
    "g4dn.metal": (96, 7.824),
    "g5.xlarge": (4, 1.006),
    "g5.2xlarge": (8, 1.212),
    "g5.4xlarge": (16, 1.624),
    "g5.8xlarge": (32, 2.448),
    "g5.12xlarge": (48, 5.672),
    "g5.16xlarge": (64, 4.096),
    "g5.24xlarge": (96, 8.144),
    "g5.48xlarge": (192, 16.288),
    "g6.xlarge": (4, 0.8048),
    "g6.2xlarge": (8, 0.9776),
    "g6.4xlarge": (16, 1.3232),
    "g6.8xlarge": (32, 2.0144),
    "g6.12xlarge": (48, 4.6016),
    "g6.16xlarge": (64, 3.3968),
    "g6.24xlarge": (96, 6.6752),
    "g6.48xlarge": (192, 13.3504),
    "g6e.xlarge": (4, 1.861),
    "g6e.2xlarge": (8, 2.24208),
    "g6e.4xlarge": (16, 3.00424),
    "g6e.8xlarge": (32, 4.52856),
    "g6e.12xlarge": (48, 10.49264),
    "g6e.16xlarge": (64, 7.57719),
    "g6e.24xlarge": (96, 15.06559),
    "g6e.48xlarge": (192, 30.13118),
    "p3.2xlarge": (8, 3.06),
    "p3.8xlarge": (32, 12.24),
    "p3.16xlarge": (64, 24.48),
    "p4d.24xlarge": (96, 21.96),
    "p5.48xlarge": (192, 55.04),
}

_TYPE_RE = re.compile(r"\A([a-z]+[0-9]+[a-z-]*)\.([a-z0-9]+)\Z")


class AwsGpuError(Exception):
    """A planning error with a message meant for the operator."""


def family_of(instance_type):
    """'g4dn.xlarge' -> 'g4dn'. Raises AwsGpuError for something that is not an instance type."""
    match = _TYPE_RE.match((instance_type or "").strip().lower())
    if not match:
        raise AwsGpuError(
            f"'{instance_type}' is not an EC2 instance type (expected FAMILY.SIZE, e.g. {SUGGESTED_TYPE})"
        )
    return match.group(1)


def quota_class(instance_type):
    """The vCPU quota class of a GPU type: 'G' (G and VT families) or 'P'; None for other families."""
    family = family_of(instance_type)
    if family.startswith("vt") or family.startswith("g"):
        return "G"
    if family.startswith("p"):
        return "P"
    return None


def quota_code(instance_type, market):
    """(code, name) of the Service Quotas vCPU quota that limits this type on this market."""
    if market not in ("on-demand", "spot"):
        raise AwsGpuError(f"market must be on-demand or spot, not '{market}'")
    klass = quota_class(instance_type)
    if klass is None:
        raise AwsGpuError(
            f"{instance_type} is not in a G, VT or P family: no GPU vCPU quota applies (GPU types: g4dn, g5, g6, g6e, p3, p4d, p5)"
        )
    return QUOTA_CODES[(market, klass)]


def retired_message(instance_type):
    """An error message when the type's family is retired, else None."""
    family = family_of(instance_type)
    if family in RETIRED_FAMILIES:
        return (
            f"{instance_type} is a retired instance family ({family}, {RETIRED_FAMILIES[family]}): AWS no longer launches it. "
            f"Use a current GPU type instead, e.g. aws_gpu_instance_type: {SUGGESTED_TYPE} (NVIDIA T4, 4 vCPUs, 16 GiB GPU memory)."
        )
    return None


def vcpus_needed(vcpus_per_instance, count):
    """vCPUs that COUNT instances of a type with VCPUS_PER_INSTANCE default vCPUs take from the quota."""
    if count < 1:
        raise AwsGpuError(f"count must be at least 1, not {count}")
    return int(vcpus_per_instance) * int(count)


def quota_request(region, code, desired):
    """The exact request to make when a quota is short: an AWS CLI command and the console page."""
    desired = int(math.ceil(desired))
    return {
        "service_code": "ec2",
        "quota_code": code,
        "desired_value": desired,
        "region": region,
        "cli": "aws service-quotas request-service-quota-increase --service-code ec2 "
        f"--quota-code {code} --desired-value {desired} --region {region}",
        "console": f"https://{region}.console.aws.amazon.com/servicequotas/home/services/ec2/quotas/{code}",
    }


def quota_verdict(quota_vcpus, in_use_vcpus, needed_vcpus):
    """True when NEEDED more vCPUs fit under the quota next to IN_USE."""
    return float(in_use_vcpus) + float(needed_vcpus) <= float(quota_vcpus)


def gpu_summary(type_info):
    """From one DescribeInstanceTypes entry: vCPUs, architectures and GPUs (None when it has no GPU)."""
    gpus = (type_info.get("GpuInfo") or {}).get("Gpus") or []
    return {
        "instance_type": type_info.get("InstanceType"),
        "vcpus": (type_info.get("VCpuInfo") or {}).get("DefaultVCpus"),
        "memory_mib": (type_info.get("MemoryInfo") or {}).get("SizeInMiB"),
        "architectures": (type_info.get("ProcessorInfo") or {}).get("SupportedArchitectures") or [],
        "gpus": [
            {
                "name": g.get("Name"),
                "manufacturer": g.get("Manufacturer"),
                "count": g.get("Count"),
                "memory_mib": (g.get("MemoryInfo") or {}).get("SizeInMiB"),
            }
            for g in gpus
        ],
        "gpu_count": sum(int(g.get("Count") or 0) for g in gpus),
    }


def parse_price_list(price_list):
    """USD per hour from a Pricing GetProducts PriceList (a list of JSON strings); None if absent.

    With several matching products (it happens when filters are loose), the lowest positive
    on-demand hourly price wins, which is the plain Linux shared-tenancy one.
    """
    prices = []
    for item in price_list or []:
        product = json.loads(item) if isinstance(item, str) else item
        for term in (product.get("terms") or {}).get("OnDemand", {}).values():
            for dim in (term.get("priceDimensions") or {}).values():
                if dim.get("unit") not in ("Hrs", "Hours", None):
                    continue
                usd = (dim.get("pricePerUnit") or {}).get("USD")
                try:
                    value = float(usd)
                except (TypeError, ValueError):
                    continue
                if value > 0:
                    prices.append(value)
    return min(prices) if prices else None


def pricing_filters(instance_type, region):
    """GetProducts filters for on-demand Linux, shared tenancy, no pre-installed software."""
    pairs = [
        ("instanceType", instance_type),
        ("regionCode", region),
        ("operatingSystem", "Linux"),
        ("tenancy", "Shared"),
        ("preInstalledSw", "NA"),
        ("capacitystatus", "Used"),
        ("licenseModel", "No License required"),
    ]
    return [{"Type": "TERM_MATCH", "Field": f, "Value": v} for f, v in pairs]


def table_note():
    """Where a price from the table comes from, for the operator."""
    return f"list price table of {PRICE_TABLE_DATE} ({PRICE_TABLE_REGION} on-demand Linux)"


def list_price(instance_type):
    """(USD per hour, note) from the dated table, or (None, note) for a type it does not list."""
    entry = GPU_TYPES.get((instance_type or "").strip().lower())
    if entry is None:
        return None, f"no list price for {instance_type} (table of {PRICE_TABLE_DATE}, {PRICE_TABLE_REGION})"
    return entry[1], table_note()


def table_vcpus(instance_type):
    """Default vCPUs of a type from the dated table, or None for a type it does not list."""
    entry = GPU_TYPES.get((instance_type or "").strip().lower())
    return entry[0] if entry else None


def offline_plan(instance_type, count, market, region):
    """What COUNT instances need, from the table alone (no AWS call): vCPUs, both markets' quota codes, the request.

    Raises AwsGpuError for something that is not a GPU type. vcpus and needed are None for a type the table does not
    list (the request then cannot be sized).
    """
    family = family_of(instance_type)
    retired = retired_message(instance_type)
    if retired:
        raise AwsGpuError(retired)
    code, name = quota_code(instance_type, market)
    klass = quota_class(instance_type)
    vcpus = table_vcpus(instance_type)
    needed = vcpus_needed(vcpus, count) if vcpus is not None else None
    return {
        "instance": {"instance_type": instance_type, "family": family, "vcpus": vcpus},
        "needed": needed,
        "code": code,
        "name": name,
        "codes": {m: {"code": QUOTA_CODES[(m, klass)][0], "name": QUOTA_CODES[(m, klass)][1]} for m in ("on-demand", "spot")},
        # New accounts start at 0 vCPUs for GPU classes: the request to make is for what the run needs.
        "request": quota_request(region, code, needed) if needed is not None else None,
    }


def estimate(price_per_hour, hours, count):
    """Cost of COUNT instances for HOURS at PRICE_PER_HOUR, rounded to cents; None without a price."""
    if price_per_hour is None:
        return None
    return round(float(price_per_hour) * float(hours) * int(count), 2)


# ---------------------------------------------------------------------------------------------
# boto3 layer: each function takes a client made by AnsibleAWSModule.client(..., retry_decorator=
# AWSRetry.jittered_backoff()) and returns plain data. Every call passes aws_retry=True, so throttling and
# transient errors are retried with jittered backoff.


def _error_code(exc):
    return getattr(exc, "response", {}).get("Error", {}).get("Code", "")


def home_region(region):
    """A region that always answers in REGION's partition, to ask which regions exist."""
    if region.startswith("cn-"):
        return "cn-north-1"
    if region.startswith("us-gov-"):
        return "us-gov-west-1"
    if region.startswith("us-iso"):
        return region
    return "us-east-1"


def region_names(ec2):
    """Every region name the account can see, with its opt-in status."""
    resp = ec2.describe_regions(AllRegions=True, aws_retry=True)
    return dict((r["RegionName"], r.get("OptInStatus", "opt-in-not-required")) for r in resp.get("Regions", []))


def describe_type(ec2, instance_type):
    """The DescribeInstanceTypes entry for a type, or None when EC2 does not know it."""
    try:
        resp = ec2.describe_instance_types(InstanceTypes=[instance_type], aws_retry=True)
    except ClientError as exc:
        if _error_code(exc) in ("InvalidInstanceType", "InvalidParameterValue"):
            return None
        raise
    types = resp.get("InstanceTypes") or []
    return types[0] if types else None


def offered_locations(ec2, instance_type, location_type="availability-zone"):
    """Where the type is offered: availability zone names (or the region when location_type=region)."""
    locations = []
    kwargs = {
        "LocationType": location_type,
        "Filters": [{"Name": "instance-type", "Values": [instance_type]}],
    }
    while True:
        resp = ec2.describe_instance_type_offerings(**kwargs, aws_retry=True)
        locations.extend(o["Location"] for o in resp.get("InstanceTypeOfferings", []))
        token = resp.get("NextToken")
        if not token:
            break
        kwargs["NextToken"] = token
    return sorted(set(locations))


def vcpus_in_use(ec2, klass, market):
    """vCPUs of pending/running instances that count against the same quota (class and market)."""
    used = 0
    kwargs = {"Filters": [{"Name": "instance-state-name", "Values": ["pending", "running"]}]}
    while True:
        resp = ec2.describe_instances(**kwargs, aws_retry=True)
        for reservation in resp.get("Reservations", []):
            for inst in reservation.get("Instances", []):
                try:
                    if quota_class(inst["InstanceType"]) != klass:
                        continue
                except AwsGpuError:
                    continue
                is_spot = inst.get("InstanceLifecycle") == "spot"
                if is_spot != (market == "spot"):
                    continue
                cpu = inst.get("CpuOptions") or {}
                used += int(cpu.get("CoreCount", 0)) * int(cpu.get("ThreadsPerCore", 1)) or 0
        token = resp.get("NextToken")
        if not token:
            break
        kwargs["NextToken"] = token
    return used


def get_vcpu_quota(quotas, code):
    """(value, source) of the account's quota; the AWS default when the account has no applied value."""
    try:
        resp = quotas.get_service_quota(ServiceCode="ec2", QuotaCode=code, aws_retry=True)
        return float(resp["Quota"]["Value"]), "applied"
    except ClientError as exc:
        if _error_code(exc) != "NoSuchResourceException":
            raise
    resp = quotas.get_aws_default_service_quota(ServiceCode="ec2", QuotaCode=code, aws_retry=True)
    return float(resp["Quota"]["Value"]), "default"


def open_quota_request(quotas, code):
    """The newest open increase request for a quota (PENDING, CASE_OPENED), or None."""
    resp = quotas.list_requested_service_quota_change_history_by_quota(ServiceCode="ec2", QuotaCode=code, aws_retry=True)
    open_ones = [r for r in resp.get("RequestedQuotas", []) if r.get("Status") in ("PENDING", "CASE_OPENED")]
    if not open_ones:
        return None
    newest = sorted(open_ones, key=lambda r: str(r.get("Created", "")))[-1]
    return _request_view(newest)


def file_quota_request(quotas, code, desired):
    """File an increase request for a quota; returns id, status, desired value, case id."""
    resp = quotas.request_service_quota_increase(
        ServiceCode="ec2", QuotaCode=code, DesiredValue=float(int(math.ceil(desired))), aws_retry=True)
    return _request_view(resp["RequestedQuota"])


def _request_view(req):
    return {
        "id": req.get("Id"),
        "status": req.get("Status"),
        "desired_value": req.get("DesiredValue"),
        "case_id": req.get("CaseId"),
        "quota_code": req.get("QuotaCode"),
    }


def on_demand_price(pricing, instance_type, region):
    """USD per hour from the Pricing API, or None when it lists no matching product."""
    resp = pricing.get_products(
        ServiceCode="AmazonEC2", Filters=pricing_filters(instance_type, region), MaxResults=10, aws_retry=True)
    return parse_price_list(resp.get("PriceList"))


def spot_price(ec2, instance_type, availability_zone=None):
    """The lowest current Linux spot price (USD per hour) over the region's zones, or None."""
    kwargs = {"InstanceTypes": [instance_type], "ProductDescriptions": ["Linux/UNIX"], "MaxResults": 100}
    if availability_zone:
        kwargs["AvailabilityZone"] = availability_zone
    resp = ec2.describe_spot_price_history(**kwargs, aws_retry=True)
    latest = {}
    for entry in resp.get("SpotPriceHistory", []):
        zone = entry.get("AvailabilityZone")
        stamp = str(entry.get("Timestamp"))
        if zone not in latest or stamp > latest[zone][0]:
            latest[zone] = (stamp, float(entry["SpotPrice"]))
    return min(price for _stamp, price in latest.values()) if latest else None
