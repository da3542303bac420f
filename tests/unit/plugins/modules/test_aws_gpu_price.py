"""The aws_gpu_price module: the Pricing API answer, else the dated list price table (also without credentials), the
spot price history, and main()'s refusals before any AWS call."""


import boto3
import pytest
from ansible_collections.amazon.aws.plugins.module_utils.retries import RetryingBotoClientWrapper
from ansible_collections.mocha.cloud.plugins.module_utils import aws_gpu
from ansible_collections.mocha.cloud.plugins.modules import aws_gpu_price
from ansible_collections.mocha.cloud.tests.unit.plugins.aws_stubs import RETRY, FakeModule, Stubber, client, price_item
from ansible_collections.mocha.cloud.tests.unit.plugins.modules.utils import run_module


def test_price_module_api_then_fallback():
    pricing, ec2 = client("pricing"), client("ec2")
    with Stubber(pricing) as ps:
        ps.add_response("get_products", {"PriceList": [price_item("0.5260000000")]}, None)
        result = aws_gpu_price.price(FakeModule(count=2).params, "us-east-1", pricing, ec2)
    assert (result["source"], result["estimate_usd"]) == ("pricing-api", 8.42)
    with Stubber(pricing) as ps:
        ps.add_client_error("get_products", "AccessDeniedException", "no pricing:GetProducts")
        result = aws_gpu_price.price(FakeModule(instance_type="g5.xlarge").params, "us-east-1", pricing, ec2)
    assert result["price_per_hour"] == pytest.approx(1.006)
    assert aws_gpu.PRICE_TABLE_DATE in result["source"] and result["fallback_date"] == aws_gpu.PRICE_TABLE_DATE
    assert any("AccessDenied" in w for w in result["problems"])
    with Stubber(pricing) as ps:
        ps.add_client_error("get_products", "AccessDeniedException", "no")
        result = aws_gpu_price.price(FakeModule(fallback=False).params, "us-east-1", pricing, ec2)
    assert result["failed"] and "no price" in result["msg"]


def test_price_module_without_credentials_uses_the_dated_table(no_credentials):
    """No credentials anywhere: botocore raises NoCredentialsError before sending; the price comes from the table."""
    session = boto3.session.Session()
    pricing = RetryingBotoClientWrapper(session.client("pricing", region_name="us-east-1", endpoint_url="http://127.0.0.1:9"), RETRY)
    ec2 = RetryingBotoClientWrapper(session.client("ec2", region_name="us-east-1", endpoint_url="http://127.0.0.1:9"), RETRY)
    result = aws_gpu_price.price(FakeModule(instance_type="g4dn.xlarge", market="spot", count=1, hours=4.0).params,
                                 "us-east-1", pricing, ec2)
    assert result["price_per_hour"] == pytest.approx(0.526) and result["estimate_usd"] == pytest.approx(2.10)
    assert result["fallback_date"] == aws_gpu.PRICE_TABLE_DATE
    assert any("credentials" in w.lower() for w in result["problems"]), result["problems"]


@pytest.mark.parametrize("args", [{"count": 0}, {"hours": 0}, {"hours": -2.5}])
def test_main_refuses_bad_count_or_hours_before_any_aws_call(args):
    result = run_module(aws_gpu_price.main, dict({"instance_type": "g4dn.xlarge", "region": "us-east-1"}, **args))
    assert result["failed"] is True and "count must be >= 1 and hours > 0" in result["msg"], result
