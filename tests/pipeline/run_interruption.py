#!/usr/bin/env python3
"""The offline interruption pipeline: a training run outlives its instance.

    tests/pipeline/run_interruption.py [--keep] [--max-iter N] [--pace S]

The stand-ins are the single-run pipeline's (tests/pipeline/run_pipeline.py, whose helpers this imports): moto for
EC2, S3 and IAM, a podman container per instance, local upstreams, the FAKE julia, and the FAKE IMDSv2 on 127.0.0.1.

Steps and what each must show (the settings ask for spot instances, as a user who wants this would):
1. leg 1: site.yml with cifar10_wait=false provisions, configures and starts a slow training, and detaches. The state
   keeper on the instance ships each complete snapshot to the run's S3 prefix (marker state running).
2. the spot interruption: the FAKE IMDS posts the two-minute notice. The keeper stops the training, ships what exists
   and marks the run interrupted in S3; the training is no longer running. Then the instance goes: the container is
   removed and the moto instance terminated.
3. leg 2: site.yml again, on a fresh container, detached again. The inventory finds no instance, so it provisions a
   new one with the same run id, configures it, restores the newest snapshot from S3 (checked) and trains on. Once it
   has shipped a newer snapshot, the instance goes without a word (no notice: the marker still says running).
4. leg 3: playbooks/recover.yml -e recover_watch=true finds the run (interrupted: its marker says running and no
   instance is live), launches a leg (site.yml -e recover=true in a child ansible-playbook) that restores the newest
   snapshot and, detached (cifar10_wait=false, as a user who walks away), trains to the end; the watch sees the run
   finished in S3 and stops. Nobody ends the instance: its idle watch powers it off a short grace after the training
   and the keeper's last round (aws_gpu_instance_idle_minutes), and EC2 terminates it (the FAKE EC2 host applies the
   instance's shutdown behaviour; state reason Client.InstanceInitiatedShutdown).
5. site.yml again: the run finished while the controller was away and its instance is gone, so nothing is launched and
   its results come home from its S3 state (log, legs, final snapshot, then metrics.json, the curve, report.md).
6. the run is one: metrics.json has exactly max_iter iterations, a resume at each restored snapshot's iteration, no
   iteration counted twice; the legs say interrupted, lost, finished, on three instances, with their hours and cost;
   report.md shows them; S3 holds the finished state.
7. teardown keeps the bucket with the results and says so; with teardown_delete_results=true nothing is left.
It prints the time of each leg and the iterations of each, and exits non-zero when any check fails.
"""

import argparse
import datetime
import json
import re
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import run_pipeline as rp  # noqa: E402  (the single-run pipeline's helpers: fixtures, servers, checks)
from run_pipeline import ec2_host  # noqa: E402  (the FAKE EC2 host)

REPO = rp.REPO
RUN_ID = "pipeline"
# The grace after which leg 3's instance ends itself (aws_gpu_instance_idle_minutes), short for the test.
IDLE_MINUTES = 0.25


def wait_for(what, probe, timeout, every=1.0):
    """probe() until it returns something true, or fail after TIMEOUT seconds."""
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        got = probe()
        if got:
            return got
        time.sleep(every)
    rp.check(False, f"{what} within {timeout} s")
    return None


def run_site(playbook, env, work, name, more=None, on_seen=None):
    """site.yml (PLAYBOOK) to the end; with ON_SEEN (text, action), action() once the output shows text (checked)."""
    t0 = time.monotonic()
    cmd = playbook + (["-e", json.dumps(more)] if more else [])
    if on_seen:
        text, action = on_seen
        seen = []
        run = rp.sh_releasing(cmd, re.escape(text), lambda: (seen.append(text), action()), env=env, cwd=REPO)
        rp.check(bool(seen), f"{name}: the output said '{text}'")
    else:
        run = rp.sh(cmd, env=env, cwd=REPO, capture_output=True)
    took = time.monotonic() - t0
    (work / f"{name}.log").write_text(run.stdout + run.stderr)
    print(run.stdout[-6000:], run.stderr[-3000:], sep="\n", flush=True)
    rp.check(run.returncode == 0, f"{name}: site.yml succeeded (rc={run.returncode}, {took:.0f} s)")
    rp.check_no_warnings(run.stdout + run.stderr, f"{name}: site.yml")
    return run, took


def configure_changed(output):
    """(host, the tasks configure changed on it) of the one GPU host of an ansible-playbook output."""
    hosts = [h for h in rp.recap(output) if h != "localhost"]
    rp.check(len(hosts) == 1, f"one GPU host configured: {hosts}")
    configure = rp.section(output, "Configure the GPU hosts")
    rp.check(bool(configure), "the output has the configure play")
    return hosts[0], rp.changed_tasks(configure, hosts[0])


def from_image(moto, host, instance, ami, output, name):
    """INSTANCE was launched from the run's image AMI, its machine is a container made from it, and configure changed
    nothing there. Returns the count of configure's changed tasks (0)."""
    (inst,) = [i for i in rp.all_instances(moto, RUN_ID) if i["InstanceId"] == instance]
    rp.check(inst["ImageId"] == ami, f"{name}: {instance} launched from the run's image {ami}: {inst['ImageId']}")
    rp.check(f"{host.containers[0]}-{instance}" in host.spawned, f"{name}: its machine is a container made from the image")
    _, changed = configure_changed(output)
    rp.check(not changed, f"{name}: configure changed nothing on the machine from the image: changed={len(changed)} {changed}")
    return len(changed)


def live_instances(moto):
    return rp.live_instances(moto, RUN_ID)


def training_status(container, env):
    out = rp.sh(["podman", "exec", container, "/var/lib/mocha-cifar10/run/jobctl", "status"], env=env,
                capture_output=True).stdout
    return json.loads(out.strip().splitlines()[-1]) if out.strip() else {}


def check_run(work, max_iter, resumed_at, instances, ends):
    """metrics.json of the finished run (the last leg's host): one continuous run, each resume marked, the legs
    priced."""
    found = [(p, json.loads(p.read_text())) for p in (work / "artifacts").glob(f"*/{RUN_ID}/metrics.json")]
    done = [(p, m) for p, m in found if m.get("completed")]
    rp.check(len(done) == 1, f"one finished run's metrics.json on the controller: {len(done)} of {len(found)}")
    path, m = done[0]
    iters = [point[0] for point in m["objective_curve"]]
    rp.check(m["iterations"] == max_iter, f"metrics.json shows exactly {max_iter} iterations: {m['iterations']}")
    rp.check(len(iters) == len(set(iters)) and iters == sorted(iters) and iters[-1] == max_iter,
             f"the curve is continuous, no iteration counted twice: {iters}")
    resumes = [r.get("iteration") for r in m.get("resumes") or []]
    rp.check(resumes == resumed_at, f"a resume marked at each restored snapshot's iteration {resumed_at}: {resumes}")
    legs = m.get("legs") or {}
    each = legs.get("legs", [])
    rp.check([g["end"] for g in each] == ends, f"{len(ends)} legs, {', '.join(ends)}: {each}")
    # The spot price is read at run time (DescribeSpotPriceHistory; moto's is a token 0.00001), below on demand.
    rp.check({g["market"] for g in each} == {"spot"}
             and all(0 < (g["hourly_usd"] or 0) < (legs["on_demand_cost_usd"] or 0) / (legs["total_hours"] or 1) for g in each),
             f"every leg on the spot market, at a spot price below on demand: {[(g['market'], g['hourly_usd']) for g in each]}")
    rp.check([g["instance_id"] for g in each] == instances,
             f"the legs name the instances: {[g['instance_id'] for g in each]} vs {instances}")
    rp.check([g["start_iteration"] for g in each] == [0, *resumed_at] and each[-1]["end_iteration"] == max_iter
             and all(g["end_iteration"] >= nxt for g, nxt in zip(each[:-1], resumed_at, strict=True)),
             f"each leg starts where the run resumed ({[0, *resumed_at]}) and reached the next one's start; the last "
             f"ends at {max_iter}: {[(g['start_iteration'], g['end_iteration']) for g in each]}")
    rp.check(legs["interruptions"] == len(ends) - 1 and all(g["hours"] is not None and g["cost_usd"] is not None for g in each)
             and legs["total_cost_usd"] is not None and legs["on_demand_cost_usd"] is not None,
             f"hours and cost of each leg, the interruptions, the total against on demand: {legs}")
    report = (path.parent / "report.md").read_text()
    rp.check("## Legs" in report and f"{len(ends) - 1} interruption(s)" in report and all(i in report for i in instances),
             "report.md shows the legs, the interruptions and every instance")
    return m


def leave(moto, env, container, imds_url, instances):
    """The instance goes: its container removed, the moto instance terminated, any notice taken back."""
    rp.sh(["podman", "rm", "-f", container], stdout=subprocess.DEVNULL, env=env)
    moto.client("ec2").terminate_instances(InstanceIds=instances)
    rp.imds_control(imds_url, "clear")  # the next instance has no notice
    rp.check(live_instances(moto) == [], "no instance of the run is left")


def ended_by_its_idle_watch(moto, host, container, env, instance, timeout=240):
    """Leg 3's instance, detached and left alone, powers itself off after the grace and EC2 terminates it: its container
    stops by itself, the instance is terminated with the state reason of an instance-initiated shutdown. Returns the
    seconds from the run's finished marker to the end."""
    def ended():
        (inst,) = [i for i in rp.all_instances(moto, RUN_ID) if i["InstanceId"] == instance]
        return inst if inst["State"]["Name"] in ("shutting-down", "terminated") else None

    inst = wait_for(f"{instance} ended by its idle watch", ended, timeout, 1.0)
    t_end = time.time()
    rp.check(inst["StateReason"]["Code"] == "Client.InstanceInitiatedShutdown" and inst["State"]["Name"] == "terminated",
             f"{instance} powered itself off and EC2 terminated it: {inst['State']}, {inst['StateReason']}")
    rp.check(ec2_host.container_state(container, env) == "exited" and container not in host.stopped_by_us,
             f"its container stopped by itself (the FAKE poweroff): {host.event_lines()[-3:]}")
    marker = rp.s3_run_state(moto, RUN_ID)[0] or {}
    finished = datetime.datetime.fromisoformat(marker["updated_at"].replace("Z", "+00:00")).timestamp()
    after = t_end - finished
    rp.check(IDLE_MINUTES * 60 - 5 <= after <= IDLE_MINUTES * 60 + 90,
             f"it ended {after:.0f} s after the run finished (grace {IDLE_MINUTES * 60:.0f} s, rounds and EC2 included)")
    print(f"interruption: leg 3's instance {instance} ended itself {after:.0f} s after its run finished "
          f"(state reason {inst['StateReason']['Code']})", flush=True)
    return after


def shipped_beyond(moto, iteration, timeout=240):
    """Wait until the keeper has shipped a complete snapshot newer than ITERATION while the run trains."""
    return wait_for(f"a complete snapshot newer than iteration {iteration} shipped to S3 while the run trains", lambda: (
        (m := rp.s3_run_state(moto, RUN_ID)[0]) and m.get("snapshot") and m.get("state") == "running"
        and m.get("iteration", 0) > iteration and m), timeout)


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--keep", action="store_true", help="keep the work directory and the container")
    ap.add_argument("--max-iter", type=int, default=400, help="CIFAR-10 iterations of the fake training")
    ap.add_argument("--pace", type=float, default=0.3, help="seconds per iteration of the FAKE training in leg 1")
    args = ap.parse_args()

    with rp.stand_ins("interruption", args.keep, imds=True, from_images=True) as s:
        work, (container,), moto, env, imds_url = s.work, s.containers, s.moto, s.env, s.imds_url
        inventory = rp.write_inventory(work, container)
        extra = rp.write_vars(work, s.data, s.data_port, args.max_iter, imds_url, moto.endpoint)
        import yaml

        more = yaml.safe_load(extra.read_text())
        # A snapshot every 50 iterations, so there is something to ship long before the end.
        more.update({"cifar10_snapshot_interval": 50, "cifar10_validation_interval": 100, "cifar10_summary_interval": 25,
                     # Spot instances (a launch template with spot market options), as the watch requires; with
                     # aws_gpu_instance_bake auto (the default) leg 1 bakes, and the later legs launch from its image.
                     "aws_gpu_instance_market": "spot"})
        extra.write_text(yaml.safe_dump(more))
        playbook = ["ansible-playbook", "-i", inventory, REPO / "site.yml", "-e", f"@{extra}"]
        # The legs after the first run on containers made from the image (the FAKE EC2 host names them by instance).
        imaged = rp.write_inventory(work, container, host=f"'{container}-' ~ ec2_instance_id", name="from-image")
        playbook_imaged = ["ansible-playbook", "-i", imaged, REPO / "site.yml", "-e", f"@{extra}"]
        # The image stays pending until leg 2 waits for it (EC2 takes minutes for a 100 GB volume): leg 1 must train
        # without waiting for it, and leg 2 must wait, since EC2 launches nothing from a pending image.
        moto.set_image_pending(3600)

        # 1. leg 1: a slow run, started and left.
        rp.start_container(container, env, work)
        gcc = rp.install_gcc(container, env)
        # Each leg's FAKE training holds at a given iteration while the hold file exists (FAKE_MOCHA_HOLD_FILE), so it is
        # still going when the notice comes or the plug is pulled, however slow the machine: leg 1 holds at 100, leg 2
        # at 300 (it resumes from leg 1's snapshot and ships newer ones first), leg 3 before its last step.
        hold = work / "hold"
        hold.write_text("the FAKE training waits while this file exists\n")

        def slow(hold_at=None):
            knobs = {"FAKE_MOCHA_SECONDS_PER_ITER": str(args.pace), "FAKE_MOCHA_HOLD_FILE": str(hold)}
            if hold_at:
                knobs["FAKE_MOCHA_HOLD_AT"] = str(hold_at)
            return {"cifar10_wait": False, "cifar10_environment": "{{ mocha_environment | combine(" + json.dumps(knobs) + ") }}"}

        run1, leg1_setup = run_site(playbook, env, work, "leg1", slow(args.max_iter // 4))
        first = live_instances(moto)
        rp.check(len(first) == 1, f"leg 1 runs on one instance: {first}")
        t_train = time.monotonic()
        images = moto.client("ec2").describe_images(Owners=["self"])["Images"]
        rp.check(len(images) == 1 and images[0]["State"] == "pending",
                 f"leg 1 baked one image (auto: a spot run) and trains while it is still pending: {images}")
        ami = images[0]["ImageId"]
        flat = " ".join(run1.stdout.split())
        rp.check(f"Baked {ami} (pending) from" in flat and "this run bakes one after configure (auto, a spot run" in flat,
                 "leg 1 said it bakes (a spot run) and that the image it made is pending")
        _, leg1_changed = configure_changed(run1.stdout)
        shipped_beyond(moto, 0)
        rp.check(training_status(container, env).get("running") is True, "the training is still running")

        # 2. the spot interruption notice, then the instance goes.
        t_notice = time.monotonic()
        rp.imds_control(imds_url, "interrupt")
        wait_for("the run marked interrupted in S3 after the notice",
                 lambda: (rp.s3_run_state(moto, RUN_ID)[0] or {}).get("state") == "interrupted", 60, 0.5)
        t_shipped = time.monotonic() - t_notice
        marker, legs = rp.check_shipped(moto, RUN_ID, "interrupted")
        resume1 = marker["iteration"]
        rp.check(0 < resume1 < args.max_iter, f"the shipped snapshot is mid-run: iteration {resume1} of {args.max_iter}")
        status = training_status(container, env)
        rp.check(status.get("running") is False, f"the notice stopped the training: {status.get('state')}")
        rp.check([g.get("end") for g in legs] == ["interrupted"] and legs[0].get("instance_id") == first[0],
                 f"leg 1 ended interrupted on {first[0]}: {legs}")
        leg1_train = time.monotonic() - t_train
        leave(moto, env, container, imds_url, first)

        # 3. leg 2: site.yml again on a fresh instance, slow and detached; lost without a notice once it shipped more.
        def release():
            """Leg 2 waits for the image still pending (EC2 finishes it meanwhile): it becomes available."""
            state = moto.client("ec2").describe_images(ImageIds=[ami])["Images"][0]["State"]
            rp.check(state == "pending", f"the image was still pending when leg 2 waited for it: {state}")
            moto.set_image_pending(3600, release=True)

        run2, leg2_setup = run_site(playbook_imaged, env, work, "leg2", slow(args.max_iter * 3 // 4),
                                    on_seen=(f"Image: {ami}", release))
        rp.check("is still pending: the launch waits for it" in " ".join(run2.stdout.split()),
                 "leg 2 said it waits for the image still pending")
        second = live_instances(moto)
        rp.check(len(second) == 1 and second != first, f"leg 2 runs on a new instance: {second} (leg 1: {first})")
        leg2_changed = from_image(moto, s.ec2_host, second[0], ami, run2.stdout, "leg 2")
        container2 = f"{container}-{second[0]}"
        flat = " ".join(run2.stdout.split())
        rp.check("resumes on" in flat and f"from {marker['snapshot']}" in flat and "shipped from" in flat,
                 f"leg 2 restored {marker['snapshot']} from S3 and said so")
        marker2 = shipped_beyond(moto, resume1)
        resume2 = marker2["iteration"]
        rp.check(resume2 < args.max_iter, f"leg 2 shipped iteration {resume2} of {args.max_iter} and trains on")
        leave(moto, env, container2, imds_url, second)

        # 4. leg 3: the recover watch finds the run, launches a detached leg that finishes it, and stops; the leg's
        #    instance then ends itself.
        t3 = time.monotonic()
        # The leg's training waits before its last step until the leg's site.yml has ended: then nobody is left to end
        # the instance but its idle watch (as when the controller went away), however busy this machine is.
        held = "{'FAKE_MOCHA_HOLD_FILE': '" + str(hold) + "'}"
        watch = subprocess.Popen(
            ["ansible-playbook", "-i", str(imaged), str(REPO / "playbooks" / "recover.yml"), "-e", f"@{extra}",
             "-e", json.dumps({"recover_watch": True, "recover_poll_seconds": 5, "cifar10_wait": False,
                               "aws_gpu_instance_idle_minutes": IDLE_MINUTES,
                               "cifar10_environment": "{{ mocha_environment | combine(" + held + ") }}"})],
            env=env, cwd=REPO, stdout=(work / "leg3-watch.out").open("w"), stderr=subprocess.STDOUT, text=True)
        wait_for("the leg's site.yml ended while its training waits", lambda: any(
            "PLAY RECAP" in p.read_text() for p in (work / "artifacts" / RUN_ID / "recover").glob("leg-*.log")), 1800, 2.0)
        leg3_site = time.monotonic() - t3
        hold.unlink()
        watch.wait(timeout=1800)
        watch = subprocess.CompletedProcess(watch.args, watch.returncode, (work / "leg3-watch.out").read_text(), "")
        leg3 = time.monotonic() - t3
        leg_logs = sorted((work / "artifacts" / RUN_ID / "recover").glob("leg-*.log"))
        rp.check(len(leg_logs) == 1, f"the watch launched one leg: {[p.name for p in leg_logs]}")
        rp.check_no_warnings(watch.stdout + watch.stderr + leg_logs[0].read_text(), "the recover watch and its leg")
        leg_log = " ".join(leg_logs[0].read_text().split())
        rp.check(f"from snapshot-{resume2:06d}.jld" in leg_log and "shipped from" in leg_log,
                 f"the watch's leg restored snapshot-{resume2:06d}.jld from S3")
        third = [i["InstanceId"] for i in rp.all_instances(moto, RUN_ID) if i["InstanceId"] not in first + second]
        rp.check(len(third) == 1, f"leg 3 ran on a third instance: {third}")
        leg3_changed = from_image(moto, s.ec2_host, third[0], ami, leg_logs[0].read_text(), "leg 3")
        ended_itself = ended_by_its_idle_watch(moto, s.ec2_host, f"{container}-{third[0]}", env, third[0])

        # 5. the results of the finished run come home from its S3 state; nothing is launched.
        home, home_took = run_site(playbook, env, work, "home")
        flat = " ".join(home.stdout.split())
        rp.check(f"Run {RUN_ID} finished: its results come home from its S3 state; nothing is launched." in flat
                 and "brought home from s3://" in flat and len(rp.all_instances(moto, RUN_ID)) == 3,
                 f"site.yml brought the results home from S3 and launched nothing ({home_took:.0f} s)")

        # 6. one run.
        m = check_run(work, args.max_iter, [resume1, resume2], first + second + third, ["interrupted", "lost", "finished"])
        rp.check_shipped(moto, RUN_ID, "finished", args.max_iter)

        # 7. teardown.
        rp.teardown_keeps_then_deletes_results(playbook, env, moto, RUN_ID, images=1)
        legs = m["legs"]["legs"]
        print(f"interruption legs: leg 1 site.yml {leg1_setup:.0f} s (base AMI, configure changed={len(leg1_changed)}, baked "
              f"{ami}); leg 2 site.yml {leg2_setup:.0f} s (from {ami}, configure changed={leg2_changed}); leg 3 recover "
              f"watch to the end of its leg's site.yml {leg3_site:.0f} s (from {ami}, configure changed={leg3_changed})",
              flush=True)
        print(f"interruption: leg 1 site.yml {leg1_setup:.0f} s, trained {leg1_train:.0f} s to iteration "
              f"{legs[0]['end_iteration']} (snapshot {marker['snapshot']} shipped; notice to marker {t_shipped:.1f} s); "
              f"leg 2 site.yml {leg2_setup:.0f} s, iterations {legs[1]['start_iteration']} to {legs[1]['end_iteration']}, "
              f"lost; leg 3 recover watch {leg3:.0f} s, iterations {legs[2]['start_iteration']} to {legs[2]['end_iteration']}, "
              f"ended itself {ended_itself:.0f} s after the run finished (grace {IDLE_MINUTES * 60:.0f} s); "
              f"results home from S3 in {home_took:.0f} s; "
              f"GCC {gcc}; legs {[(g['instance_id'], g['market'], g['end'], g['hours'], g['cost_usd']) for g in legs]}; "
              f"total {m['legs']['total_hours']} h ${m['legs']['total_cost_usd']} against ${m['legs']['on_demand_cost_usd']} "
              f"on demand", flush=True)


if __name__ == "__main__":
    main()
