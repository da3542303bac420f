"""module_utils/aws_gpu.py: the pure helpers (families, quota codes, the dated price table, the offline plan) and the
boto3 layer.

Service Quotas and Pricing are not in moto: their boto3 layer is tested here with botocore's Stubber on clients
wrapped as the modules get them (tests/unit/plugins/aws_stubs.py).
"""

import datetime

import pytest
from ansible_collections.mocha.cloud.plugins.module_utils import aws_gpu
from ansible_collections.mocha.cloud.tests.unit.plugins.aws_stubs import G4DN, Stubber, client, price_item

# --- pure helpers -------------------------------------------------------------------------------


@pytest.mark.parametrize("itype,family,klass", [
    ("g4dn.xlarge", "g4dn", "G"), ("g6e.48xlarge", "g6e", "G"), ("vt1.3xlarge", "vt1", "G"),
    ("p5.48xlarge", "p5", "P"), ("p4d.24xlarge", "p4d", "P"), ("G5.XLARGE", "g5", "G"), ("t3.micro", "t3", None),
])
def test_family_and_quota_class(itype, family, klass):
    assert aws_gpu.family_of(itype) == family
    assert aws_gpu.quota_class(itype) == klass


@pytest.mark.parametrize("bad", ["", "g4dn", "xlarge", "g4dn xlarge", None])
def test_family_rejects_non_types(bad):
    with pytest.raises(aws_gpu.AwsGpuError, match="not an EC2 instance type"):
        aws_gpu.family_of(bad)


@pytest.mark.parametrize("itype,market,code", [
    ("g4dn.xlarge", "on-demand", "L-DB2E81BA"), ("p3.2xlarge", "on-demand", "L-417A185B"),
    ("g5.xlarge", "spot", "L-3819A6DF"), ("p5.48xlarge", "spot", "L-7212CCBC"),
])
def test_quota_code(itype, market, code):
    assert aws_gpu.quota_code(itype, market)[0] == code


def test_quota_code_refuses_other_families_and_markets():
    with pytest.raises(aws_gpu.AwsGpuError, match="no GPU vCPU quota"):
        aws_gpu.quota_code("t3.micro", "on-demand")
    with pytest.raises(aws_gpu.AwsGpuError, match="market"):
        aws_gpu.quota_code("g5.xlarge", "reserved")


@pytest.mark.parametrize("itype", ["p2.xlarge", "p2.16xlarge", "g3.4xlarge", "g3s.xlarge"])
def test_retired_types_suggest_g4dn(itype):
    msg = aws_gpu.retired_message(itype)
    assert "retired" in msg and "g4dn.xlarge" in msg and itype in msg


@pytest.mark.parametrize("itype", ["g4dn.xlarge", "p3.2xlarge", "g6.xlarge"])
def test_current_types_are_not_retired(itype):
    assert aws_gpu.retired_message(itype) is None


def test_vcpus_and_verdict():
    assert aws_gpu.vcpus_needed(4, 3) == 12
    with pytest.raises(aws_gpu.AwsGpuError):
        aws_gpu.vcpus_needed(4, 0)
    assert aws_gpu.quota_verdict(8, 4, 4)
    assert not aws_gpu.quota_verdict(8, 4, 5)
    assert not aws_gpu.quota_verdict(0, 0, 4)


def test_quota_request_is_exact():
    req = aws_gpu.quota_request("eu-west-1", "L-DB2E81BA", 7.2)
    assert req["desired_value"] == 8
    assert req["cli"] == ("aws service-quotas request-service-quota-increase --service-code ec2 "
                          "--quota-code L-DB2E81BA --desired-value 8 --region eu-west-1")
    assert req["console"].endswith("/servicequotas/home/services/ec2/quotas/L-DB2E81BA")


def test_parse_price_list():
    assert aws_gpu.parse_price_list([price_item("0.5260000000")]) == pytest.approx(0.526)
    assert aws_gpu.parse_price_list([price_item("0.0000000000"), price_item("0.7520000000")]) == pytest.approx(0.752)
    assert aws_gpu.parse_price_list([price_item("3.0", unit="Quantity")]) is None
    assert aws_gpu.parse_price_list([]) is None


def test_price_table_is_dated_and_complete():
    price, note = aws_gpu.list_price("g4dn.xlarge")
    assert price == pytest.approx(0.526)
    assert aws_gpu.PRICE_TABLE_DATE in note and aws_gpu.PRICE_TABLE_REGION in note
    datetime.date.fromisoformat(aws_gpu.PRICE_TABLE_DATE)
    assert aws_gpu.list_price("x9.huge")[0] is None
    assert aws_gpu.list_price(" G5.XLARGE ")[0] == pytest.approx(1.006)
    for itype, (vcpus, usd) in aws_gpu.GPU_TYPES.items():
        assert aws_gpu.quota_class(itype) in ("G", "P") and not aws_gpu.retired_message(itype), itype
        assert vcpus >= 4 and vcpus % 4 == 0 and usd > 0, itype
        size = itype.split(".")[1]
        if size.endswith("xlarge"):  # AWS sizes: xlarge = 4 vCPUs, Nxlarge = 4N
            assert vcpus == 4 * int(size[:-6] or 1), itype
    assert aws_gpu.table_vcpus("p4d.24xlarge") == 96 and aws_gpu.table_vcpus("g4dn.metal") == 96
    assert aws_gpu.estimate(0.526, 8, 2) == pytest.approx(8.42)
    assert aws_gpu.estimate(None, 8, 2) is None


def test_offline_plan_needs_no_aws():
    plan = aws_gpu.offline_plan("g5.xlarge", 2, "on-demand", "eu-west-1")
    assert (plan["needed"], plan["code"], plan["instance"]["vcpus"]) == (8, "L-DB2E81BA", 4)
    assert plan["codes"] == {"on-demand": {"code": "L-DB2E81BA", "name": "Running On-Demand G and VT instances"},
                             "spot": {"code": "L-3819A6DF", "name": "All G and VT Spot Instance Requests"}}
    assert plan["request"]["cli"].endswith("--quota-code L-DB2E81BA --desired-value 8 --region eu-west-1")
    spot = aws_gpu.offline_plan("p3.8xlarge", 1, "spot", "us-east-1")
    assert (spot["needed"], spot["code"], spot["codes"]["on-demand"]["code"]) == (32, "L-7212CCBC", "L-417A185B")
    unknown = aws_gpu.offline_plan("g6.96xlarge", 1, "on-demand", "us-east-1")  # a G type the table does not list
    assert unknown["needed"] is None and unknown["request"] is None and unknown["code"] == "L-DB2E81BA"
    with pytest.raises(aws_gpu.AwsGpuError, match="retired"):
        aws_gpu.offline_plan("p2.xlarge", 1, "on-demand", "us-east-1")
    with pytest.raises(aws_gpu.AwsGpuError, match="no GPU vCPU quota"):
        aws_gpu.offline_plan("t3.micro", 1, "on-demand", "us-east-1")


def test_home_region():
    assert aws_gpu.home_region("eu-west-3") == "us-east-1"
    assert aws_gpu.home_region("cn-northwest-1") == "cn-north-1"
    assert aws_gpu.home_region("us-gov-east-1") == "us-gov-west-1"


# --- boto3 layer with Stubber ---------------------------------------------------------------------


def test_get_vcpu_quota_applied_then_default():
    sq = client("service-quotas")
    with Stubber(sq) as stub:
        stub.add_response("get_service_quota", {"Quota": {"QuotaCode": "L-DB2E81BA", "Value": 64.0}},
                          {"ServiceCode": "ec2", "QuotaCode": "L-DB2E81BA"})
        assert aws_gpu.get_vcpu_quota(sq, "L-DB2E81BA") == (64.0, "applied")
        stub.add_client_error("get_service_quota", "NoSuchResourceException", "no applied value")
        stub.add_response("get_aws_default_service_quota", {"Quota": {"QuotaCode": "L-417A185B", "Value": 0.0}},
                          {"ServiceCode": "ec2", "QuotaCode": "L-417A185B"})
        assert aws_gpu.get_vcpu_quota(sq, "L-417A185B") == (0.0, "default")
        stub.assert_no_pending_responses()


def test_throttling_is_retried_other_errors_are_not():
    ec2 = client("ec2")
    with Stubber(ec2) as stub:
        stub.add_client_error("describe_regions", "RequestLimitExceeded", "slow down")
        stub.add_client_error("describe_regions", "Throttling", "slow down")
        stub.add_response("describe_regions", {"Regions": [{"RegionName": "us-east-1", "OptInStatus": "opt-in-not-required"}]},
                          {"AllRegions": True})
        assert aws_gpu.region_names(ec2) == {"us-east-1": "opt-in-not-required"}
        stub.assert_no_pending_responses()
        stub.add_client_error("describe_regions", "UnauthorizedOperation", "no ec2:DescribeRegions")
        stub.add_response("describe_regions", {"Regions": []}, {"AllRegions": True})
        with pytest.raises(Exception, match="UnauthorizedOperation"):
            aws_gpu.region_names(ec2)


def test_get_vcpu_quota_other_errors_propagate():
    sq = client("service-quotas")
    with Stubber(sq) as stub:
        stub.add_client_error("get_service_quota", "AccessDeniedException", "no servicequotas:GetServiceQuota")
        with pytest.raises(Exception, match="AccessDenied"):
            aws_gpu.get_vcpu_quota(sq, "L-DB2E81BA")


def test_quota_requests_open_and_filed():
    sq = client("service-quotas")
    with Stubber(sq) as stub:
        stub.add_response("list_requested_service_quota_change_history_by_quota", {"RequestedQuotas": [
            {"Id": "old", "Status": "APPROVED", "DesiredValue": 4.0, "QuotaCode": "L-DB2E81BA"},
            {"Id": "r-1", "Status": "CASE_OPENED", "DesiredValue": 8.0, "CaseId": "c-9", "QuotaCode": "L-DB2E81BA",
             "Created": datetime.datetime(2026, 11, 1)},
        ]}, {"ServiceCode": "ec2", "QuotaCode": "L-DB2E81BA"})
        assert aws_gpu.open_quota_request(sq, "L-DB2E81BA") == {
            "id": "r-1", "status": "CASE_OPENED", "desired_value": 8.0, "case_id": "c-9", "quota_code": "L-DB2E81BA"}
        stub.add_response("request_service_quota_increase",
                          {"RequestedQuota": {"Id": "r-2", "Status": "PENDING", "DesiredValue": 8.0, "QuotaCode": "L-DB2E81BA"}},
                          {"ServiceCode": "ec2", "QuotaCode": "L-DB2E81BA", "DesiredValue": 8.0})
        assert aws_gpu.file_quota_request(sq, "L-DB2E81BA", 7.5)["id"] == "r-2"
        stub.assert_no_pending_responses()


def test_on_demand_price_sends_exact_filters():
    pricing = client("pricing")
    with Stubber(pricing) as stub:
        stub.add_response("get_products", {"PriceList": [price_item("0.5260000000")], "FormatVersion": "aws_v1"}, {
            "ServiceCode": "AmazonEC2", "MaxResults": 10, "Filters": aws_gpu.pricing_filters("g4dn.xlarge", "us-east-1")})
        assert aws_gpu.on_demand_price(pricing, "g4dn.xlarge", "us-east-1") == pytest.approx(0.526)
    fields = {f["Field"]: f["Value"] for f in aws_gpu.pricing_filters("g5.xlarge", "eu-west-1")}
    assert fields["regionCode"] == "eu-west-1" and fields["operatingSystem"] == "Linux" and fields["tenancy"] == "Shared"


def test_spot_price_takes_latest_per_zone_then_lowest():
    ec2 = client("ec2")
    t = datetime.datetime(2026, 11, 26, 3, 0)
    with Stubber(ec2) as stub:
        stub.add_response("describe_spot_price_history", {"SpotPriceHistory": [
            {"AvailabilityZone": "us-east-1a", "SpotPrice": "0.30", "Timestamp": t},
            {"AvailabilityZone": "us-east-1a", "SpotPrice": "0.20", "Timestamp": t - datetime.timedelta(hours=5)},
            {"AvailabilityZone": "us-east-1b", "SpotPrice": "0.25", "Timestamp": t},
        ]}, {"InstanceTypes": ["g4dn.xlarge"], "ProductDescriptions": ["Linux/UNIX"], "MaxResults": 100})
        assert aws_gpu.spot_price(ec2, "g4dn.xlarge") == pytest.approx(0.25)


def test_describe_type_offerings_and_usage():
    ec2 = client("ec2")
    with Stubber(ec2) as stub:
        stub.add_client_error("describe_instance_types", "InvalidInstanceType", "nope")
        assert aws_gpu.describe_type(ec2, "g9.huge") is None
        stub.add_response("describe_instance_types", {"InstanceTypes": [G4DN]}, {"InstanceTypes": ["g4dn.xlarge"]})
        summary = aws_gpu.gpu_summary(aws_gpu.describe_type(ec2, "g4dn.xlarge"))
        assert (summary["vcpus"], summary["gpu_count"], summary["gpus"][0]["name"]) == (4, 1, "T4")

        stub.add_response("describe_instance_type_offerings", {
            "InstanceTypeOfferings": [{"InstanceType": "g4dn.xlarge", "Location": "us-east-1b"}], "NextToken": "n1"}, None)
        stub.add_response("describe_instance_type_offerings", {
            "InstanceTypeOfferings": [{"InstanceType": "g4dn.xlarge", "Location": "us-east-1a"}]}, None)
        assert aws_gpu.offered_locations(ec2, "g4dn.xlarge") == ["us-east-1a", "us-east-1b"]

        stub.add_response("describe_instances", {"Reservations": [{"Instances": [
            {"InstanceType": "g5.2xlarge", "CpuOptions": {"CoreCount": 4, "ThreadsPerCore": 2}},
            {"InstanceType": "g5.xlarge", "InstanceLifecycle": "spot", "CpuOptions": {"CoreCount": 2, "ThreadsPerCore": 2}},
            {"InstanceType": "p3.2xlarge", "CpuOptions": {"CoreCount": 4, "ThreadsPerCore": 2}},
            {"InstanceType": "t3.micro", "CpuOptions": {"CoreCount": 1, "ThreadsPerCore": 2}},
        ]}]}, None)
        assert aws_gpu.vcpus_in_use(ec2, "G", "on-demand") == 8
