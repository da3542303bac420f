"""Autodown on the controller (plugins/module_utils/autodown.py): whose instance it is, where the idle watch is armed,
what the controller ends after the train phase, and when a finished run comes home from its store."""

import pytest
from ansible_collections.mocha.cloud.plugins.module_utils import autodown

PROJECT = "mocha-cloud"
SETTINGS = {"keep": False, "idle_minutes": 15.0, "project": PROJECT}
EC2 = {"groups": ["all", "mocha_cloud_ec2", "gpu_hosts", "run_r1"], "instance_id": "i-0123456789abcdef0",
       "tags": {"mocha-cloud:project": PROJECT, "mocha-cloud:run-id": "r1"}, "refused": []}
# A host of a static inventory (inventory/onprem.yml, inventory/localhost.yml): no EC2 group, no ec2_ values.
ONPREM = {"groups": ["all", "gpu_hosts"], "instance_id": "", "tags": {}, "refused": []}
DONE = {"run_id": "r1", "state": "finished at 2026-12-01T10:00:00Z", "ended": True, "running": False,
        "results_home": True, "keeper_running": False}


@pytest.mark.parametrize("keep,idle,problem", [
    (False, 15, None), (True, 0.5, None), (False, 1440, None),
    (False, 0, "more than 0"), (False, -3, "more than 0"), (False, 1441, "at most 1440"),
    ("yes", 15, "true or false"), (False, True, "a number of minutes"), (False, "15", "a number of minutes"),
])
def test_settings_are_checked(keep, idle, problem):
    found = autodown.settings_problems(keep, idle)
    assert (problem is None and found == []) or (problem and any(problem in p for p in found)), found


def test_settings_published_form_and_refusal():
    assert autodown.settings(False, 15, PROJECT) == SETTINGS
    with pytest.raises(autodown.AutodownError, match="aws_gpu_instance_idle_minutes"):
        autodown.settings(False, 0, PROJECT)
    with pytest.raises(autodown.AutodownError, match="aws_gpu_instance_project"):
        autodown.settings(False, 15, "mocha*")


@pytest.mark.parametrize("change,why", [
    ({"groups": ["all", "gpu_hosts"]}, "static inventory"),
    ({"instance_id": ""}, "no EC2 instance id"),
    ({"instance_id": "i-xyz"}, "no EC2 instance id"),
    ({"tags": {"mocha-cloud:project": "other", "mocha-cloud:run-id": "r1"}}, "not tagged mocha-cloud:project=mocha-cloud"),
    ({"tags": {"mocha-cloud:project": PROJECT}}, "no well-formed mocha-cloud:run-id"),
    ({"tags": {"mocha-cloud:project": PROJECT, "mocha-cloud:run-id": "r*"}}, "no well-formed mocha-cloud:run-id"),
    ({"refused": ["its tag mocha-cloud:bastion is bad"]}, "refused by the inventory"),
])
def test_only_an_instance_of_the_projects_ec2_inventory_counts(change, why):
    ok, reason = autodown.launched_by_project(dict(EC2, project=PROJECT, **change))
    assert not ok and why in reason and "never shut down" in reason
    assert autodown.launched_by_project(dict(EC2, project=PROJECT))[0]


def test_the_watch_is_armed_only_on_an_instance_of_the_project_that_is_not_kept_while_it_trains():
    armed = autodown.arm_plan(EC2, SETTINGS, active=True)
    assert armed["action"] == "arm" and armed["idle_seconds"] == 900.0 and armed["instance_id"] == EC2["instance_id"]
    assert autodown.arm_plan(EC2, SETTINGS, active=False)["action"] == "none"
    assert autodown.arm_plan(EC2, dict(SETTINGS, keep=True), active=True)["action"] == "disarm"
    assert autodown.arm_plan(EC2, {}, active=True)["action"] == "disarm"


@pytest.mark.parametrize("settings", [SETTINGS, dict(SETTINGS, idle_minutes=0.1), dict(SETTINGS, keep=True)])
def test_a_static_host_is_never_armed_whatever_the_settings(settings):
    for host in (ONPREM, dict(ONPREM, instance_id="i-0123456789abcdef0"), dict(ONPREM, tags=EC2["tags"])):
        plan = autodown.arm_plan(host, settings, active=True)
        assert plan["action"] == "disarm" and plan["instance_id"] == "" and "never shut down" in plan["reason"], plan


def host(name, evidence=EC2, summary=DONE, sweep=None):
    return {"host": name, "evidence": evidence, "summary": summary, "sweep": sweep, "expires_at": "2026-12-02T08:00:00Z"}


def test_the_controller_terminates_a_finished_run_that_is_home_and_tears_its_run_down():
    plan = autodown.controller_plan([host("h1")], SETTINGS)
    assert plan["terminate"] == ["i-0123456789abcdef0"] and plan["runs"] == ["r1"]
    assert plan["hosts"][0]["action"] == "terminate" and "results are home" in plan["hosts"][0]["reason"]


@pytest.mark.parametrize("summary,why", [
    (None, "did not report"),
    (dict(DONE, running=True, ended=False, state="running since x"), "still training"),
    (dict(DONE, ended=False, state="never-started"), "has not ended"),
    (dict(DONE, results_home=False), "not home"),
    (dict(DONE, keeper_running=True), "last round"),
])
def test_the_controller_waits_for_a_run_that_is_not_over_and_home(summary, why):
    plan = autodown.controller_plan([host("h1", summary=summary)], SETTINGS)
    assert plan["terminate"] == [] and plan["runs"] == []
    assert plan["hosts"][0]["action"] == "wait" and why in plan["hosts"][0]["reason"]
    assert "idle watch ends it 15 min after" in plan["hosts"][0]["reason"]


def test_kept_instances_stay_until_their_expiry():
    plan = autodown.controller_plan([host("h1")], dict(SETTINGS, keep=True))
    assert plan["terminate"] == [] and plan["hosts"][0]["action"] == "keep"
    assert "until its expiry 2026-12-02T08:00:00Z" in plan["hosts"][0]["reason"]


def test_static_hosts_are_skipped_and_never_terminated():
    plan = autodown.controller_plan([host("gpu-box-1", evidence=ONPREM), host("h1")], SETTINGS)
    assert [h["action"] for h in plan["hosts"]] == ["skip", "terminate"]
    assert plan["terminate"] == ["i-0123456789abcdef0"]


def test_a_run_is_torn_down_only_when_every_instance_of_it_ends():
    other = dict(EC2, instance_id="i-0fedcba9876543210")
    plan = autodown.controller_plan([host("h1"), host("h2", evidence=other, summary=dict(DONE, running=True))], SETTINGS)
    assert plan["terminate"] == ["i-0123456789abcdef0"] and plan["runs"] == []


def test_a_sweep_host_ends_once_its_whole_queue_finished():
    records = [{"variant": "a", "status": "finished"}, {"variant": "b", "status": "finished"}]
    assert autodown.controller_plan([host("h1", sweep={"assigned": 2, "records": records})], SETTINGS)["terminate"]
    waiting = autodown.controller_plan([host("h1", sweep={"assigned": 3, "records": records})], SETTINGS)["hosts"][0]
    assert waiting["action"] == "wait" and "1 of its 3 sweep variant(s) have not trained yet" in waiting["reason"]
    failed = [records[0], {"variant": "b", "status": "failed"}]
    retry = autodown.controller_plan([host("h1", sweep={"assigned": 2, "records": failed})], SETTINGS)["hosts"][0]
    assert retry["action"] == "wait" and "b failed" in retry["reason"]


def run(verdict="finished", iteration=400, live=(), host_="mocha-cloud-r1-i-0abc", snapshot="snapshot-000400.jld"):
    return {"run_id": "r1", "verdict": verdict, "reason": "why", "live_instances": list(live),
            "marker": {"state": verdict, "iteration": iteration, "host": host_, "snapshot": snapshot}}


def test_a_finished_run_without_an_instance_comes_home_from_its_store():
    plan = autodown.store_plan(run(), 400)
    assert plan["from_store"] and plan["host"] == "mocha-cloud-r1-i-0abc" and plan["snapshot"] == "snapshot-000400.jld"
    assert "nothing is launched" in plan["reason"]


@pytest.mark.parametrize("given,max_iter,restart,why", [
    (None, 400, False, "no earlier run"),
    ({"run_id": "r1", "verdict": "vanished", "reason": "r", "instances": [], "marker": None, "objects": 0}, 400, False,
     "no earlier run r1 in the account: a new one starts"),
    (run("interrupted"), 400, False, "is interrupted"),
    (run(live=["i-1"]), 400, False, "still there"),
    (run(iteration=300), 400, False, "asks for more"),
    (run(), 400, True, "cifar10_restart_finished"),
    (run(host_=""), 400, False, "no usable host"),
])
def test_otherwise_an_instance_is_launched(given, max_iter, restart, why):
    plan = autodown.store_plan(given, max_iter, restart)
    assert not plan["from_store"] and why in plan["reason"], plan
