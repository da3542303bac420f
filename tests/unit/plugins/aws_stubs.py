"""Stand-ins shared by the tests of the AWS module_utils and modules: boto3 clients wrapped as the modules get them,
botocore's Stubber on them, AWS-shaped answers, and the part of AnsibleAWSModule that the modules' logic reads.

The clients are wrapped as AnsibleAWSModule.client(..., retry_decorator=AWSRetry.jittered_backoff()) wraps them, so
the retry path is the modules' own. Their endpoint is a closed local port: a call that the test did not stub fails
instead of reaching AWS.
"""

import json

import boto3
from ansible_collections.amazon.aws.plugins.module_utils.retries import AWSRetry, RetryingBotoClientWrapper
from botocore.stub import Stubber as BotoStubber

RETRY = AWSRetry.jittered_backoff(retries=3, delay=0.01, max_delay=0.02)
ENDPOINT = "http://127.0.0.1:9"


def client(service, region="us-east-1"):
    """A boto3 client as the modules get it: wrapped with AnsibleAWSModule's retrying wrapper."""
    raw = boto3.client(
        service, region_name=region, endpoint_url=ENDPOINT,
        aws_access_key_id="testing", aws_secret_access_key="testing",  # noqa: S106 - fake
    )
    return RetryingBotoClientWrapper(raw, RETRY)


def Stubber(wrapped):  # noqa: N802 - stands for botocore's Stubber, on the client inside the retry wrapper
    return BotoStubber(wrapped.client)


def price_item(usd, unit="Hrs"):
    """One PriceList entry shaped like Pricing GetProducts returns it (a JSON string)."""
    return json.dumps({
        "product": {"attributes": {"instanceType": "g4dn.xlarge", "regionCode": "us-east-1"}},
        "terms": {"OnDemand": {"ABC.JRTCKXETXF": {"priceDimensions": {
            "ABC.JRTCKXETXF.6YS6EN2CT7": {"unit": unit, "pricePerUnit": {"USD": usd}, "description": "x"},
        }}}},
    })


# DescribeInstanceTypes' entry for g4dn.xlarge (the fields the modules read).
G4DN = {
    "InstanceType": "g4dn.xlarge", "VCpuInfo": {"DefaultVCpus": 4}, "MemoryInfo": {"SizeInMiB": 16384},
    "ProcessorInfo": {"SupportedArchitectures": ["x86_64"]},
    "GpuInfo": {"Gpus": [{"Name": "T4", "Manufacturer": "NVIDIA", "Count": 1, "MemoryInfo": {"SizeInMiB": 16384}}]},
}


class Failed(Exception):
    """FakeModule.fail_json was called; args[0] is the message."""


class FakeModule:
    """What the modules' logic (aws_gpu_quota.plan, aws_gpu_price.price) reads of an AnsibleAWSModule: params, region,
    check_mode, fail_json."""

    def __init__(self, check_mode=False, region="us-east-1", **params):
        self.params = {"instance_type": "g4dn.xlarge", "count": 1, "market": "on-demand", "availability_zone": None,
                       "check_quota": True, "quota_vcpus": None, "request_increase": False, "offline": False,
                       "hours": 8.0, "fallback": True}
        self.params.update(params)
        self.region = region
        self.check_mode = check_mode

    def fail_json(self, **kwargs):
        raise Failed(kwargs["msg"])
