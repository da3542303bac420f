"""The FAKE EC2 host (tests/fakes/ec2_host.py) against moto: it must do to a container and an instance what EC2 does,
or the pipelines that rely on it prove nothing. The containers' states are given (no podman here); the calls it makes
to podman are recorded."""

import pytest
from conftest import REPO, load_source

ec2_host = load_source(REPO / "tests" / "fakes" / "ec2_host.py", "fake_ec2_host")
imds = load_source(REPO / "tests" / "fakes" / "imds.py", "fake_imds_host")
TAGS = [{"Key": "mocha-cloud:project", "Value": "mocha-cloud"}, {"Key": "mocha-cloud:run-id", "Value": "r1"}]


@pytest.fixture
def host(aws, monkeypatch):
    states, stopped = {}, []
    monkeypatch.setattr(ec2_host, "container_state", lambda name, env=None: states.get(name, ""))
    monkeypatch.setattr(ec2_host.subprocess, "run", lambda argv, **kw: stopped.append(argv))
    server, state = imds.serve()
    fake = ec2_host.FakeEc2Host(aws, ["box"], imds_state=state)
    yield fake, states, stopped, state
    server.shutdown()


def launch(aws, behaviour=None):
    ec2 = aws.client("ec2")
    ami = ec2.describe_images(Owners=["amazon"])["Images"][0]["ImageId"]
    extra = {"InstanceInitiatedShutdownBehavior": behaviour} if behaviour else {}
    return ec2.run_instances(ImageId=ami, InstanceType="g4dn.xlarge", MinCount=1, MaxCount=1, **extra,
                             TagSpecifications=[{"ResourceType": "instance", "Tags": TAGS}])["Instances"][0]["InstanceId"]


def described(aws, iid):
    return aws.client("ec2").describe_instances(InstanceIds=[iid])["Reservations"][0]["Instances"][0]


@pytest.mark.parametrize("behaviour,ended", [("terminate", "terminated"), ("stop", "stopped"), (None, "stopped")])
def test_a_container_that_powers_itself_off_gets_ec2s_rule(aws, host, behaviour, ended):
    fake, states, stopped, imds_state = host
    iid = launch(aws, behaviour)
    states["box"] = "running"
    fake.round(aws.client("ec2"))
    assert fake.bound == {"box": iid} and imds_state.instance_id == iid
    states["box"] = "exited"
    fake.round(aws.client("ec2"))
    got = described(aws, iid)
    assert got["State"]["Name"] == ended and got["StateReason"]["Code"] == "Client.InstanceInitiatedShutdown"
    assert not any(t["Key"].startswith("fake:") for t in got["Tags"]) and stopped == [] and fake.bound == {}


def test_an_instance_ended_through_the_api_stops_its_container(aws, host):
    fake, states, stopped, _ = host
    iid = launch(aws, "terminate")
    states["box"] = "running"
    fake.round(aws.client("ec2"))
    aws.client("ec2").terminate_instances(InstanceIds=[iid])
    fake.round(aws.client("ec2"))
    assert stopped and stopped[0][:2] == ["podman", "stop"] and stopped[0][-1] == "box"
    assert described(aws, iid)["StateReason"]["Code"] == "Client.UserInitiatedShutdown" and fake.bound == {}


def test_a_container_removed_by_the_test_leaves_its_instance_alone(aws, host):
    fake, states, stopped, _ = host
    iid = launch(aws, "terminate")
    states["box"] = "running"
    fake.round(aws.client("ec2"))
    del states["box"]
    fake.round(aws.client("ec2"))
    assert described(aws, iid)["State"]["Name"] == "running" and fake.bound == {} and stopped == []
