"""The bill and the status (plugins/module_utils/run_bill.py): instance hours and cost at the price paid, what still
runs and until when, what is left and its monthly cost, and the one command that removes it."""

import json

import pytest
from ansible_collections.mocha.cloud.plugins.module_utils import run_bill

NOW = "2026-12-01T12:00:00Z"


def inst(iid, state, launch, end="", market="on-demand", itype="g4dn.xlarge", reason="", expires="2026-12-02T06:00:00Z"):
    return {"instance_id": iid, "instance_type": itype, "market": market, "availability_zone": "us-east-1a",
            "state": state, "state_reason_code": reason, "launch_time": launch, "end_time": end, "run_id": "r1",
            "expires_at": expires}


def run(instances, objects=5, size=3 * 1024 ** 3, verdict="finished", rid="r1"):
    return {"run_id": rid, "verdict": verdict, "reason": "state.json says finished", "instances": instances,
            "objects": objects, "bytes": size, "prefix": f"mocha-cloud/{rid}/"}


LEGS = json.dumps({"legs": [{"leg": 1, "instance_id": "i-a", "hourly_usd": 0.2, "market": "spot"},
                            {"leg": 2, "instance_id": "i-b", "hourly_usd": "bad"}]})


def spec(runs, **more):
    return dict({"scope": "journey", "project": "mocha-cloud", "region": "us-east-1", "now": NOW, "run_id": "r1",
                 "started_at": None, "runs": runs, "legs": {"r1": LEGS}, "images": [],
                 "autodown": {"keep": False, "idle_minutes": 15.0}, "aws": True}, **more)


def test_an_ended_instance_is_billed_launch_to_end_at_the_price_its_leg_recorded():
    out = run_bill.report(spec([run([inst("i-a", "terminated", "2026-12-01T10:00:00Z", "2026-12-01T11:30:00Z", market="spot")])]))
    (i,) = out["instances"]
    assert i["seconds"] == 5400 and i["hourly_usd"] == 0.2 and i["cost_usd"] == 0.3
    assert "leg recorded at run time" in i["price_source"]
    assert out["total_cost_usd"] == 0.3 and out["hourly_running_usd"] == 0


def test_on_demand_without_a_leg_takes_the_list_price_and_spot_without_one_is_unknown():
    out = run_bill.report(spec([run([inst("i-b", "terminated", "2026-12-01T10:00:00Z", "2026-12-01T11:00:00Z"),
                                     inst("i-c", "terminated", "2026-12-01T10:00:00Z", "2026-12-01T11:00:00Z", market="spot")])]))
    od, spot = out["instances"]
    assert od["hourly_usd"] == 0.526 and od["cost_usd"] == 0.526 and "list price" in od["price_source"]
    assert spot["hourly_usd"] is None and spot["cost_usd"] is None
    assert out["total_cost_usd"] == 0.526


def test_the_market_and_price_are_what_the_leg_paid():
    """A spot instance whose EC2 record does not say spot (an emulator) is billed as the spot leg it was, at its price."""
    legs = json.dumps({"legs": [{"instance_id": "i-a", "hourly_usd": 0.00001, "market": "spot"}]})
    out = run_bill.report(spec([run([inst("i-a", "terminated", "2026-12-01T10:00:00Z", "2026-12-01T11:00:00Z")])],
                               legs={"r1": legs}))
    assert out["instances"][0]["market"] == "spot" and out["instances"][0]["hourly_usd"] == 0.00001
    assert "spot: terminated, up since 2026-12-01T10:00:00Z until 2026-12-01T11:00:00Z, 1.000 h at $0.00001/h" in "\n".join(out["lines"])


def test_billing_has_a_one_minute_minimum_and_a_running_instance_counts_until_now():
    out = run_bill.report(spec([run([inst("i-b", "terminated", "2026-12-01T10:00:00Z", "2026-12-01T10:00:10Z"),
                                     inst("i-a", "running", "2026-12-01T11:00:00Z", market="spot")])]))
    short, live = out["instances"]
    assert short["seconds"] == 60
    assert live["seconds"] == 3600 and live["cost_usd"] == 0.2 and live["live"] and out["hourly_running_usd"] == 0.2


def test_lines_say_what_runs_until_when_what_is_left_and_the_command():
    out = run_bill.report(spec([run([inst("i-a", "running", "2026-12-01T11:00:00Z", market="spot")])],
                               started_at=1764586800 - 3600))
    text = "\n".join(out["lines"])
    assert "wall time" in text
    assert "still running  i-a (r1), $0.2/h, until 15 min after its training ends (its idle watch), at the latest 2026-12-02T06:00:00Z" in text
    assert "results s3://.../mocha-cloud/r1/ (5 object(s), 3221.2 MB): $0.07/month" in text
    assert out["monthly_usd"] == pytest.approx(0.069)
    assert out["command"] == "ansible-playbook playbooks/teardown.yml -e aws_gpu_instance_teardown_run_id=r1 -e teardown_delete_results=true"
    kept = run_bill.report(spec([run([inst("i-a", "running", "2026-12-01T11:00:00Z", market="spot")])],
                                autodown={"keep": True, "idle_minutes": 15.0}))
    assert "until its expiry 2026-12-02T06:00:00Z (aws_gpu_instance_keep)" in "\n".join(kept["lines"])


def test_nothing_left_nothing_to_remove():
    out = run_bill.report(spec([run([inst("i-b", "terminated", "2026-12-01T10:00:00Z", "2026-12-01T11:00:00Z")], objects=0, size=0)]))
    text = "\n".join(out["lines"])
    assert "still running  nothing" in text and "left           nothing" in text and "nothing to remove" in text
    assert out["command"] == ""


def test_status_lists_every_run_and_says_which_can_be_resumed():
    runs = [run([inst("i-b", "terminated", "2026-12-01T10:00:00Z", "2026-12-01T11:00:00Z")]),
            run([], verdict="interrupted", rid="r2")]
    out = run_bill.report(spec(runs, scope="status", run_id=""))
    assert [r["run_id"] for r in out["results"]] == ["r1", "r2"]
    assert [r["resumable"] for r in out["results"]] == [False, True]
    text = "\n".join(out["lines"])
    assert "What runs and what it costs" in text and "run r1: i-b" in text
    assert "resumable with ansible-playbook playbooks/recover.yml -e aws_gpu_instance_run_id=r2" in text
    assert out["command"] == "ansible-playbook playbooks/teardown.yml -e teardown_delete_results=true"


def test_a_journey_bill_is_about_its_own_run_only():
    out = run_bill.report(spec([run([], rid="other"), run([inst("i-b", "terminated", "2026-12-01T10:00:00Z", "2026-12-01T11:00:00Z")])]))
    assert [r["run_id"] for r in out["results"]] == ["r1"] and len(out["instances"]) == 1


def test_images_are_priced_as_snapshots():
    out = run_bill.report(spec([], images=[{"image_id": "ami-1", "name": "baked", "size_gb": 100}]))
    assert out["images"][0]["monthly_usd"] == 5.0 and out["monthly_usd"] == 5.0
    # As ec2_ami_info gives them: the sizes of the volumes their snapshots hold.
    raw = {"image_id": "ami-1", "name": "baked", "block_device_mappings": [{"ebs": {"volume_size": 100}}, {"virtual_name": "x"}]}
    assert run_bill.report(spec([], images=[raw]))["images"][0]["size_gb"] == 100
    assert "image ami-1 baked (100 GB of snapshots): $5.00/month at most" in "\n".join(out["lines"])


def test_an_onprem_journey_says_nothing_is_billed():
    out = run_bill.report(spec([], aws=False, onprem_hosts=["gpu-box-1"]))
    text = "\n".join(out["lines"])
    assert "gpu-box-1 (static inventory): nothing billed by this project, never shut down by it" in text
    assert "AWS            not used by this journey" in text


def test_a_bad_now_is_refused():
    with pytest.raises(ValueError, match="now must be"):
        run_bill.report(spec([], now="yesterday"))
