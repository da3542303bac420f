"""playbooks/recover.yml (site.yml -e recover=true) and its watch against a moto server (the fake AWS): choosing the
run to resume, refusing what must be refused, and the watch's budget and legs. The decisions themselves are
unit-tested in tests/unit/plugins/module_utils/test_recover.py.

A run is planted as the state keeper and an ended instance leave it: the results bucket tagged for the project, the
run's state.json (and legs.json) under <project>/<run id>/, and no live instance. moto cannot end an instance with a
spot interruption; a marker saying running with no live instance is the same verdict (interrupted).
"""

import json
import re
import subprocess

from moto_server import REPO, run_playbook
from test_aws_provision import base_vars, live

BUCKET = "mocha-cloud-results-123456789012-us-east-1"


def flat(out):
    return " ".join(out.stdout.split())


def bucket(aws):
    s3 = aws.client("s3")
    s3.create_bucket(Bucket=BUCKET)
    s3.put_bucket_tagging(Bucket=BUCKET, Tagging={"TagSet": [{"Key": "mocha-cloud:project", "Value": "mocha-cloud"}]})
    return s3


def plant(aws, run_id, state="running", iteration=400, legs=None):
    s3 = bucket(aws)
    marker = {"state": state, "iteration": iteration, "updated_at": "2026-01-01T03:00:00Z", "run_id": run_id}
    s3.put_object(Bucket=BUCKET, Key=f"mocha-cloud/{run_id}/state.json", Body=json.dumps(marker).encode())
    if legs is not None:
        s3.put_object(Bucket=BUCKET, Key=f"mocha-cloud/{run_id}/state/legs.json", Body=json.dumps({"legs": legs}).encode())


def leg(n, start, end):
    return {
        "leg": n,
        "host": f"h{n}",
        "instance_id": f"i-{n}",
        "market": "spot",
        "started_at": start,
        "ended_at": end,
        "start_iteration": 0,
        "end_iteration": 200 * n,
        "end": "interrupted",
    }


def recover(aws, check=False, **overrides):
    return run_playbook("playbooks/recover.yml", aws.env, base_vars(aws.tmp, **overrides), check=check)


def test_nothing_to_recover_creates_nothing(aws):
    out = recover(aws)
    assert out.returncode == 0, out.stdout[-4000:]
    assert "No interrupted or vanished run to recover (0 run(s) looked at): nothing is created." in flat(out)
    left = live(aws)
    assert not left["instances"] and not left["buckets"] and not left["roles"] and not left["groups"], left
    # The phases did nothing: the provision play had no host, preflight said nothing, no template error on the way.
    assert re.search(r"PLAY \[Provision GPU instances on AWS\] \*+ skipping: no hosts matched", flat(out))
    assert "No host in gpu_hosts yet" not in out.stdout and "template error" not in out.stdout


def test_finished_and_empty_runs_are_not_recovered(aws):
    plant(aws, "done1", state="finished", iteration=200)
    aws.client("iam").create_role(
        RoleName="mocha-cloud-empty",
        Path="/mocha-cloud/mocha-cloud/",
        AssumeRolePolicyDocument="{}",
        Tags=[{"Key": "mocha-cloud:project", "Value": "mocha-cloud"}, {"Key": "mocha-cloud:run-id", "Value": "empty"}],
    )
    out = recover(aws)
    assert out.returncode == 0, out.stdout[-4000:]
    assert "No interrupted or vanished run to recover (2 run(s) looked at)" in flat(out)
    assert not live(aws)["instances"] and not live(aws)["profiles"]
    # Asked for by id, each says why not.
    asked = recover(aws, aws_gpu_instance_run_id="done1")
    assert asked.returncode != 0 and "run done1 has finished (iteration 200): nothing to do" in flat(asked)
    asked = recover(aws, aws_gpu_instance_run_id="empty")
    assert asked.returncode != 0 and "run empty has nothing to resume" in flat(asked)


def test_one_interrupted_run_is_chosen_and_its_run_id_reaches_provision(aws):
    plant(aws, "cut1", state="running", iteration=400)
    plant(aws, "done1", state="finished", iteration=200)
    # The journey in check mode: the run id the aws_gpu_instance role plans with is the chosen one; nothing is made.
    out = recover(aws, check=True, aws_gpu_instance_check_quota=False)
    text = flat(out)
    assert out.returncode == 0, out.stdout[-6000:]
    assert "Recovering run cut1 is interrupted: state.json says running at iteration 400" in text
    assert "mocha-cloud-cut1" in text  # the key pair / role / profile the role plans are the run's
    assert "mocha-cloud-default" not in text
    assert not live(aws)["instances"] and [b["Name"] for b in live(aws)["buckets"]] == [BUCKET]


def test_several_runs_fail_listing_them(aws):
    plant(aws, "cut1")
    plant(aws, "cut2", state="interrupted", iteration=800)
    out = recover(aws)
    text = flat(out)
    assert out.returncode != 0
    assert "2 runs could be recovered" in text and "run cut1 is interrupted" in text and "run cut2 is interrupted" in text
    assert "-e aws_gpu_instance_run_id=<cut1|cut2>" in text
    assert not live(aws)["instances"]


def test_a_watch_without_spot_is_refused_before_any_aws_call(aws):
    out = recover(aws, recover_watch=True, aws_gpu_instance_market="on-demand")
    assert out.returncode != 0
    assert "recover_watch keeps launching new instances after spot interruptions, so it runs only with aws_gpu_instance_market: spot" in flat(out)
    assert not live(aws)["buckets"]


def test_the_watch_refuses_a_leg_that_could_pass_the_budget(aws):
    legs = [leg(1, "2026-01-01T00:00:00Z", "2026-01-01T01:30:00Z"), leg(2, "2026-01-01T02:00:00Z", "2026-01-01T03:00:00Z")]
    plant(aws, "cut1", state="interrupted", iteration=400, legs=legs)
    out = recover(aws, recover_watch=True, aws_gpu_instance_market="spot", aws_gpu_instance_run_id="cut1", recover_budget_hours=3)
    text = flat(out)
    assert out.returncode != 0, out.stdout[-4000:]
    assert "Run cut1 is interrupted at iteration 400, but 2.5 h of the 3 h budget spent over 2 leg(s)" in text
    assert "which could pass it" in text and "no leg launched" in text
    assert not live(aws)["instances"]
    # The default budget is the instance's max hours (2 here): spent already.
    out = recover(aws, recover_watch=True, aws_gpu_instance_market="spot", aws_gpu_instance_run_id="cut1")
    assert out.returncode != 0 and "2.5 h of the 2 h budget spent over 2 leg(s)" in flat(out)


def test_the_watch_counts_legs_whose_times_cannot_be_read_from_launch_to_now(aws):
    """Times legs.json cannot parse, or that run backwards, once counted 0 h: a host could make the watch think nothing
    was spent. Each counts from its start to now, at most the instance's life (aws_gpu_instance_max_hours, 2 here)."""
    legs = [leg(1, "2026-01-01T00:00:00Z", "not a time"), leg(2, "2026-01-01T02:00:00Z", "2026-01-01T01:00:00Z")]
    plant(aws, "cut1", state="interrupted", iteration=400, legs=legs)
    out = recover(aws, recover_watch=True, aws_gpu_instance_market="spot", aws_gpu_instance_run_id="cut1", recover_budget_hours=4.5)
    text = flat(out)
    assert out.returncode != 0, out.stdout[-4000:]
    assert ("4 h of the 4.5 h budget spent over 2 leg(s) (2 of them counted from launch to now: legs.json does not say when "
            "they started and ended)") in text and "no leg launched" in text, text[-3000:]
    assert not live(aws)["instances"]


def test_runs_info_reads_legs_json_within_its_limit(aws):
    from test_aws_run_results import discover

    plant(aws, "cut1", state="interrupted", iteration=400, legs=[leg(1, "2026-01-01T00:00:00Z", "2026-01-01T01:00:00Z")])
    (run,) = discover(aws, run_id="cut1", legs=True)["runs"]
    assert json.loads(run["legs"])["legs"][0]["leg"] == 1 and run["legs_error"] == ""
    big = json.dumps({"legs": [leg(1, "2026-01-01T00:00:00Z", "2026-01-01T01:00:00Z")]}).encode() + b" " * (2 << 20)
    aws.client("s3").put_object(Bucket=BUCKET, Key="mocha-cloud/cut1/state/legs.json", Body=big)
    (run,) = discover(aws, run_id="cut1", legs=True)["runs"]
    assert run["legs"] == "" and run["legs_error"] == (f"s3://{BUCKET}/mocha-cloud/cut1/state/legs.json is larger than 1048576 "
                                                       f"bytes ({len(big)})")


def vaulted(text, password):
    from ansible.parsing.vault import VaultLib, VaultSecret

    return VaultLib([("default", VaultSecret(password.encode()))]).encrypt(text.encode()).decode()


def test_the_watch_launches_a_leg_with_the_same_settings_and_stops_at_max_legs(aws):
    """The leg gets the parent's -e arguments and vault options: an inline value (here a stand-in secret) only in a
    0600 file removed after the leg, never on the leg's command line or in the parent's -v output; a vaulted @file
    decrypted by the leg with the parent's --vault-password-file."""
    plant(aws, "cut1", state="interrupted", iteration=400)
    artifacts = aws.tmp / "artifacts"
    password = aws.tmp / "vault-password"
    password.write_text("open sesame\n")
    # cifar10_max_iter 0 makes the leg's own preflight refuse at once (after its recover chose cut1): the leg ran, with
    # this run's -e arguments, and failed without creating anything. It comes from a vaulted file: the leg decrypted it.
    secret_file = aws.tmp / "secret.yml"
    secret_file.write_text(vaulted("cifar10_max_iter: 0\n", "open sesame"))
    settings = base_vars(aws.tmp, recover=True, recover_watch=True, aws_gpu_instance_market="spot", recover_max_legs=1,
                         cifar10_artifacts_dir=str(artifacts), recover_poll_seconds=1, mocha_cloud_test_token="tok-8d2f31c7")
    out = subprocess.run(
        ["ansible-playbook", "-v", "-i", "localhost,", str(REPO / "playbooks/recover.yml"), "-e", json.dumps(settings),
         "-e", f"@{secret_file}", "--vault-password-file", str(password)],
        cwd=REPO, env=aws.env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, timeout=300, check=False)
    text = flat(out)
    assert out.returncode != 0, out.stdout[-4000:]
    assert "launching leg 1" in text and "Leg 1 of run cut1 ended with status 2" in text, text[-4000:]
    assert "has had 1 leg(s), the most recover_max_legs (1) allows: no leg launched" in text
    assert "tok-8d2f31c7" not in out.stdout  # the parent's -v output shows no inline value
    recover_dir = artifacts / "cut1" / "recover"
    (log,) = recover_dir.glob("leg-1-*.log")
    leg_text = " ".join(log.read_text().split())
    assert "Recovering run cut1 is interrupted" in leg_text and "cifar10_max_iter must be 1 or more, got 0" in leg_text
    assert not list(recover_dir.glob("leg-1-vars-*")), sorted(p.name for p in recover_dir.iterdir())  # removed after the leg
    assert not live(aws)["instances"]
