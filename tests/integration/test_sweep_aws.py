"""Sweeps against moto (the fake AWS): what is refused before anything is created, and the fleet provision launches.

Bad sweep settings, a fleet the quota cannot hold, a plan longer than the instances' life or dearer than the sweep's
budget: each stops before any resource exists. A good sweep launches one instance per variant up to its cap, in one
call, and teardown removes them.
"""

import re

import pytest
from ansible_collections.mocha.cloud.plugins.module_utils import aws_images
from moto_server import run_playbook
from test_aws_images import bake
from test_aws_provision import AL2023, assert_nothing_left, base_vars

THREE = {"name": "lr-scan", "variants": [{"name": "low", "lr": 0.0001}, {"name": "base"}, {"name": "high", "lr": 0.003}]}


def flat(out):
    return " ".join(out.stdout.split())


@pytest.mark.parametrize("playbook", ["site.yml", "playbooks/provision.yml"])
def test_bad_sweep_settings_are_refused_before_any_aws_call(aws, playbook):
    before = aws.request_count()
    bad = {"name": "lr scan", "variants": [{"name": "a", "lr": 2}, {"name": "a", "momentum": 1}]}
    out = run_playbook(playbook, aws.env, base_vars(aws.tmp, cifar10_sweep=bad))
    assert out.returncode != 0
    text = flat(out)
    assert "Bad cifar10_sweep (nothing was created; fix it in settings.yml or -e, then run again):" in text, text[-3000:]
    for part in ("cifar10_sweep.name must be 1-32 lower-case letters", "variant a: lr (the first stage's learning rate) "
                 "must be in (0, 1], got 2", "variant a: momentum (SGD momentum) must be in [0, 1), got 1",
                 "names must be unique, a appear(s) more than once"):
        assert part in text, part
    assert aws.request_count() == before
    assert_nothing_left(aws)


def test_the_quota_check_counts_every_instance_of_the_sweep(aws):
    """Three variants, three g4dn.xlarge: 12 vCPUs against a quota of 8, refused before anything is created."""
    out = run_playbook("playbooks/provision.yml", aws.env,
                       base_vars(aws.tmp, cifar10_sweep=THREE, aws_gpu_instance_quota_vcpus=8))
    assert out.returncode != 0
    text = flat(out)
    assert "Sweep lr-scan: 3 variant(s) on 3 host(s)" in text
    assert re.search(r"needs 12 vCPUs", text), text[-3000:]
    assert "Create the key pair, security group and instances" not in text
    assert_nothing_left(aws)


def test_too_many_instances_for_one_launch_are_refused_with_the_cap_to_set(aws):
    before = aws.request_count()
    wide = {"name": "wide", "variants": [{"name": f"v{i}"} for i in range(9)]}
    out = run_playbook("site.yml", aws.env, base_vars(aws.tmp, cifar10_sweep=wide))
    assert out.returncode != 0
    assert "the sweep needs 9 instances, one per variant, but at most 8 are launched at once" in flat(out), flat(out)[-3000:]
    assert "set cifar10_sweep.hosts to 8 or fewer" in flat(out)
    assert aws.request_count() == before


def test_the_longest_queue_must_fit_the_instance_life(aws):
    """Two hosts, three variants: the queued host trains two runs one after another; at the CPU figure that is
    too long for 3 hours, while each run alone would fit."""
    sweep = dict(THREE, hosts=2)
    out = run_playbook("site.yml", aws.env, base_vars(aws.tmp, cifar10_sweep=sweep, cifar10_max_iter=3500,
                                                      aws_gpu_instance_max_hours=3))
    assert out.returncode != 0
    text = flat(out)
    assert "the longest of 2 queue(s): host 1, low then high" in text, text[-3000:]
    assert "TOO SHORT: the plan needs" in text and "Raise aws_gpu_instance_max_hours" in text
    single = run_playbook("playbooks/preflight.yml", aws.env, base_vars(aws.tmp, cifar10_max_iter=3500, aws_gpu_instance_max_hours=3))
    assert single.returncode == 0 and "the plan fits" in flat(single), flat(single)[-3000:]
    assert_nothing_left(aws)


def test_a_sweep_dearer_than_its_budget_is_refused(aws):
    sweep = dict(THREE, max_cost_usd=0.5)
    out = run_playbook("site.yml", aws.env, base_vars(aws.tmp, cifar10_sweep=sweep))
    assert out.returncode != 0
    text = flat(out)
    assert re.search(r"The sweep lr-scan is planned to cost about \$[0-9.]+ \(3 instance\(s\) for [0-9.]+ h\), more than "
                     r"cifar10_sweep.max_cost_usd \$0.5", text), text[-3000:]
    assert_nothing_left(aws)


def test_provision_launches_one_instance_per_variant_up_to_the_cap_from_the_image_then_teardown(aws):
    """The two-step sweep: an earlier run baked the configured machine; every instance of the sweep's fleet launches
    from that image (the settings an image covers are given here as {}, so the test knows the fingerprint)."""
    ec2 = aws.client("ec2")
    base = aws.client("ssm").get_parameter(Name=AL2023)["Parameter"]["Value"]
    arch = ec2.describe_images(ImageIds=[base])["Images"][0]["Architecture"]
    aws.set_image_pending(0)
    ami = bake(aws, ec2, {"mocha-cloud:project": "mocha-cloud", "mocha-cloud:baked-by-run": "single",
                          "mocha-cloud:fingerprint": aws_images.fingerprint(base, "us-east-1", arch, "g4dn.xlarge", {}),
                          "mocha-cloud:baked-at": "2026-12-08T01:00:00Z"})
    ec2.terminate_instances(InstanceIds=[i["InstanceId"] for r in ec2.describe_instances()["Reservations"] for i in r["Instances"]])
    extra = base_vars(aws.tmp, cifar10_sweep=dict(THREE, hosts=2), aws_gpu_instance_quota_vcpus=8, mocha_cloud_image_settings={})
    out = run_playbook("playbooks/provision.yml", aws.env, extra)
    assert out.returncode == 0, flat(out)[-4000:]
    reservations = ec2.describe_instances(
        Filters=[{"Name": "instance-state-name", "Values": ["pending", "running"]}])["Reservations"]
    instances = [i for r in reservations for i in r["Instances"]]
    assert len(instances) == 2 and sorted(i["AmiLaunchIndex"] for i in instances) == [0, 1]
    assert len(reservations) == 1  # one RunInstances call
    assert [i["ImageId"] for i in instances] == [ami, ami]
    assert f"Image: launching from {ami}" in flat(out) and "by run single" in flat(out) and "configure only verifies" in flat(out)
    down = run_playbook("playbooks/teardown.yml", aws.env, extra)
    assert down.returncode == 0, flat(down)[-3000:]
    assert_nothing_left(aws)


def test_teardown_waits_for_a_sweep_variant_still_training(aws, tmp_path):
    """teardown.yml looks in every sweep variant's run directory, not only the single run's, before removing anything.

    The host is this machine (local connection) with stand-in control scripts (FAKE jobctl) that print what jobctl
    status prints (roles/common/templates/jobctl.sh.j2, cmd_status): every key, in its order, read by
    mocha.cloud.job_status through module_utils/job.py's parse_status."""
    import json
    import sys

    base = tmp_path / "cifar10"

    def ctl(path, running):
        path.parent.mkdir(parents=True, exist_ok=True)
        log = path.parent / "training.log"
        status = {"job": "cifar10", "running": running,
                  "state": "running since 2026-12-08T01:00:00Z" if running else "finished at 2026-12-08T01:20:00Z",
                  "rc": None if running else 0, "pid": 4242 if running else None, "child_pid": 4250 if running else None,
                  "started_at": 1765155600, "ended_at": None if running else 1765156800, "elapsed_s": 600 if running else 1200,
                  "supervisor": "setsid", "log": str(log),
                  "last_line": "[2026-12-08 01:10:00 | info | Mocha]:  TRAIN iter=000400 obj_val=2.10350013",
                  "checked_at": "2026-12-08T01:10:00Z"}
        path.write_text("#!/bin/sh\ncat <<'EOF'\n" + json.dumps(status) + "\nEOF\n")
        path.chmod(0o755)

    ctl(base / "run" / "jobctl", False)
    ctl(base / "sweeps" / "lr-scan" / "low" / "jobctl", False)
    ctl(base / "sweeps" / "lr-scan" / "high" / "jobctl", True)
    inventory = tmp_path / "inventory.yml"
    inventory.write_text(json.dumps({"all": {"children": {"gpu_hosts": {"hosts": {"box": {
        "ansible_connection": "local", "ansible_python_interpreter": sys.executable, "mocha_cloud_run_id": "sweep"}}}}}}))
    extra = {"cifar10_dir": str(base), "mocha_cloud_become": False}
    out = run_playbook("playbooks/teardown.yml", aws.env, extra, inventory=str(inventory))
    assert out.returncode != 0
    assert "A training run is still going on box: tearing down now would lose it." in flat(out), flat(out)[-3000:]
    ctl(base / "sweeps" / "lr-scan" / "high" / "jobctl", False)
    out = run_playbook("playbooks/teardown.yml", aws.env, extra, inventory=str(inventory))
    assert out.returncode == 0, flat(out)[-3000:]
