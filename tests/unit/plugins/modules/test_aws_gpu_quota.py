"""The aws_gpu_quota module: its plan against stubbed EC2 and Service Quotas (a short quota gives the request to file,
filed once and never in check mode, usage counted, refusals), the offline plan, and main()'s refusals before any AWS
call."""

import pytest
from ansible_collections.mocha.cloud.plugins.module_utils import aws_gpu
from ansible_collections.mocha.cloud.plugins.modules import aws_gpu_quota
from ansible_collections.mocha.cloud.tests.unit.plugins.aws_stubs import G4DN, Failed, FakeModule, Stubber, client
from ansible_collections.mocha.cloud.tests.unit.plugins.modules.utils import run_module


def stub_ec2_plan(stub, running=()):
    stub.add_response("describe_regions", {"Regions": [
        {"RegionName": "us-east-1", "OptInStatus": "opt-in-not-required"},
        {"RegionName": "af-south-1", "OptInStatus": "not-opted-in"}]}, {"AllRegions": True})
    stub.add_response("describe_instance_types", {"InstanceTypes": [G4DN]}, {"InstanceTypes": ["g4dn.xlarge"]})
    stub.add_response("describe_instance_type_offerings", {"InstanceTypeOfferings": [
        {"InstanceType": "g4dn.xlarge", "Location": "us-east-1a"}]}, None)
    stub.add_response("describe_instances", {"Reservations": [{"Instances": list(running)}]}, None)


def test_quota_module_short_quota_gives_the_request():
    ec2, sq = client("ec2"), client("service-quotas")
    with Stubber(ec2) as es, Stubber(sq) as ss:
        stub_ec2_plan(es)
        ss.add_response("get_service_quota", {"Quota": {"Value": 0.0}}, None)
        result = aws_gpu_quota.plan(FakeModule(count=2), ec2, lambda: sq)
    quota = result["quota"]
    assert (quota["code"], quota["needed"], quota["sufficient"], result["changed"]) == ("L-DB2E81BA", 8, False, False)
    assert "--desired-value 8" in result["msg"] and "filed" not in quota


def test_quota_module_files_once_and_not_in_check_mode():
    ec2, sq = client("ec2"), client("service-quotas")
    with Stubber(ec2) as es, Stubber(sq) as ss:
        stub_ec2_plan(es)
        ss.add_response("get_service_quota", {"Quota": {"Value": 0.0}}, None)
        ss.add_response("list_requested_service_quota_change_history_by_quota", {"RequestedQuotas": []}, None)
        ss.add_response("request_service_quota_increase", {"RequestedQuota": {"Id": "r-7", "Status": "PENDING"}},
                        {"ServiceCode": "ec2", "QuotaCode": "L-DB2E81BA", "DesiredValue": 4.0})
        result = aws_gpu_quota.plan(FakeModule(request_increase=True), ec2, lambda: sq)
        ss.assert_no_pending_responses()
    assert result["changed"] and result["quota"]["filed"]["id"] == "r-7"

    with Stubber(ec2) as es, Stubber(sq) as ss:
        stub_ec2_plan(es)
        ss.add_response("get_service_quota", {"Quota": {"Value": 0.0}}, None)
        ss.add_response("list_requested_service_quota_change_history_by_quota", {"RequestedQuotas": []}, None)
        result = aws_gpu_quota.plan(FakeModule(check_mode=True, request_increase=True), ec2, lambda: sq)
        ss.assert_no_pending_responses()  # no request_service_quota_increase was made
    assert result["changed"] and "filed" not in result["quota"]


def test_quota_module_enough_with_usage_counted():
    ec2 = client("ec2")
    running = [{"InstanceType": "g4dn.2xlarge", "CpuOptions": {"CoreCount": 4, "ThreadsPerCore": 2}}]
    with Stubber(ec2) as es:
        stub_ec2_plan(es, running)
        result = aws_gpu_quota.plan(FakeModule(quota_vcpus=12), ec2, lambda: None)
    assert result["quota"]["in_use"] == 8 and result["quota"]["sufficient"]
    with Stubber(ec2) as es:
        stub_ec2_plan(es, running)
        result = aws_gpu_quota.plan(FakeModule(quota_vcpus=11), ec2, lambda: None)
    assert not result["quota"]["sufficient"] and "--desired-value 12" in result["msg"]


@pytest.mark.parametrize("params,message", [
    ({"instance_type": "p2.xlarge"}, "retired"),
    ({"region": "mars-1"}, "region 'mars-1' does not exist"),
    ({"region": "af-south-1"}, "not enabled for this account"),
])
def test_quota_module_refusals(params, message):
    ec2 = client("ec2")
    with Stubber(ec2) as es:
        es.add_response("describe_regions", {"Regions": [
            {"RegionName": "us-east-1", "OptInStatus": "opt-in-not-required"},
            {"RegionName": "af-south-1", "OptInStatus": "not-opted-in"}]}, {"AllRegions": True})
        with pytest.raises(Failed, match=message):
            aws_gpu_quota.plan(FakeModule(**params), ec2, lambda: None)


def test_quota_module_offline_plan():
    result = aws_gpu_quota.plan_offline(FakeModule(instance_type="g4dn.xlarge", count=3, region="eu-west-1", offline=True))
    quota = result["quota"]
    assert (quota["checked"], quota["offline"], quota["needed"], quota["code"]) == (False, True, 12, "L-DB2E81BA")
    assert quota["codes"]["spot"]["code"] == "L-3819A6DF"
    flat = result["msg"]
    assert "3 x g4dn.xlarge needs 12 vCPUs" in flat and "L-3819A6DF" in flat and "--desired-value 12 --region eu-west-1" in flat
    assert aws_gpu.PRICE_TABLE_DATE in flat
    with pytest.raises(Failed, match="retired"):
        aws_gpu_quota.plan_offline(FakeModule(instance_type="g3.4xlarge", offline=True))


def test_main_gives_the_offline_plan_without_aws(monkeypatch):
    for var in ("AWS_PROFILE", "AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN"):
        monkeypatch.delenv(var, raising=False)
    result = run_module(aws_gpu_quota.main, {"instance_type": "g5.xlarge", "count": 2, "offline": True, "region": "eu-west-1"})
    assert result["changed"] is False and not result.get("failed"), result
    assert (result["quota"]["needed"], result["quota"]["code"], result["quota"]["checked"]) == (8, "L-DB2E81BA", False)
    assert "--desired-value 8 --region eu-west-1" in result["msg"]


@pytest.mark.parametrize("args, message", [
    ({"count": 0}, "count must be at least 1, not 0"),
    ({"offline": True, "request_increase": True}, "mutually exclusive"),
])
def test_main_refuses_bad_input_before_any_aws_call(args, message):
    result = run_module(aws_gpu_quota.main, dict({"instance_type": "g4dn.xlarge", "region": "us-east-1"}, **args))
    assert result["failed"] is True and message in result["msg"], result
