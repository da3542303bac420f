#!/usr/bin/env python3
"""The offline sweep pipeline: site.yml with a three-variant cifar10_sweep on two instances, then torn down.

    tests/pipeline/run_sweep.py [--keep] [--once] [--max-iter N] [--pace SECONDS] [--hosts 1|2]

The stand-ins are the single-run pipeline's (tests/pipeline/run_pipeline.py, whose helpers this imports): moto for
EC2, the FAKE julia and its FAKE training, local git upstreams, a synthetic CIFAR-10 archive served on 127.0.0.1.
Here provisioning launches two moto instances (cifar10_sweep.hosts: 2, one RunInstances call, the quota check
counting both), and the test's EC2 inventory maps each to its own podman container by its launch index.

The sweep, in the settings file as a user would write it: three variants on two hosts, so one is queued.
- broken (host 1, first): crashes mid-run (FAKE_MOCHA_FAIL_AT in its environment, the fake's injected failure);
- low    (host 2): learning rate 0.0001, learns slowly;
- high   (host 1, after broken): learning rate 0.003, learns fastest within the few iterations here.
The FAKE training's accuracy depends on the learning rate it reads from the rendered cifar10.jl.

Checks: site.yml ends failed, naming the broken variant and why, after the other two finished on their hosts (the
queued one after the failure on the same host); artifacts/<sweep>/comparison.md has the rows high, low, broken
(FAILED with the reason) with settings, accuracies, seconds per 200 iterations and cost; comparison.json holds three
curves and comparison.png is a PNG whose figure has those three labelled curves; each variant's results sit in
artifacts/<sweep>/<variant>/ with its run id <sweep>--<variant>; each host's run directories are its own variants'.
A second run trains nothing that finished (the host with only finished variants changes nothing) and gives the
same assignment. Teardown leaves nothing in moto. It prints the sweep's wall time and the variants' training
times, against running them one after another (--hosts 1 runs the same sweep on one instance, for comparison).
"""

import argparse
import importlib.util
import json
import re
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
import run_pipeline as rp  # noqa: E402  (the single-run pipeline's helpers: fixtures, servers, checks)

REPO = rp.REPO
SWEEP = "lr-scan"


def sweep_settings(pace, fail_at, hosts=2):
    env = {"FAKE_MOCHA_SECONDS_PER_ITER": str(pace)}
    return {
        "name": SWEEP,
        "hosts": hosts,
        "variants": [
            {"name": "broken", "lr": 0.001, "environment": dict(env, FAKE_MOCHA_FAIL_AT=str(fail_at))},
            {"name": "low", "lr": 0.0001, "environment": env},
            {"name": "high", "lr": 0.003, "momentum": 0.9, "environment": env},
        ],
    }


def write_inventory(work, containers):
    """The project's EC2 inventory; the instance with launch index i connects to container i."""
    path = rp.write_inventory(work, containers[0])
    import yaml

    inv = yaml.safe_load(path.read_text())
    inv["compose"]["ansible_host"] = f"{containers!r}[ec2_ami_launch_index | int]"
    path.write_text(yaml.safe_dump(inv, sort_keys=False))
    return path


def load_plotter():
    spec = importlib.util.spec_from_file_location("plot_sweep", REPO / "playbooks" / "files" / "plot_sweep.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def table_rows(markdown):
    """The comparison table's data rows, as lists of cells."""
    rows = []
    for line in markdown.splitlines():
        if re.match(r"^\| (\d+|-) \|", line):
            rows.append([c.strip() for c in re.split(r"(?<!\\)\|", line)[1:-1]])
    return rows


def check_comparison(work, max_iter, fail_at, hosts=2):
    sweep_dir = work / "artifacts" / SWEEP
    md = (sweep_dir / "comparison.md").read_text()
    print(md, flush=True)
    rows = table_rows(md)
    rp.check([r[1] for r in rows] == ["high", "low", "broken"], f"comparison rows best first, failure last: {[r[1] for r in rows]}")
    rp.check([r[0] for r in rows] == ["1", "2", "-"], f"ranks 1, 2 and none for the failure: {[r[0] for r in rows]}")
    high, low, broken = rows
    rp.check("lr 0.003" in high[2] and "lr 0.0001" in low[2] and f"{max_iter} iterations" in high[2], f"settings column: {high[2]} / {low[2]}")
    acc = [float(r[3].rstrip("%")) for r in (high, low)]
    rp.check(acc[0] > acc[1] + 3, f"final accuracy follows the learning rate: high {acc[0]}% > low {acc[1]}%")
    rp.check(re.fullmatch(r"\d+\.\d\d% \(\d+\)", high[4]) is not None, f"best accuracy and its iteration: {high[4]}")
    rp.check(all(re.fullmatch(r"\d+\.\d\d", r[5]) for r in (high, low)), f"seconds per 200 iterations: {high[5]}, {low[5]}")
    rp.check(all(re.fullmatch(r"\$\d+\.\d{4}", r[6]) for r in (high, low)), f"cost of each finished variant: {high[6]}, {low[6]}")
    rp.check(broken[3].startswith("FAILED") and f"FAKE_MOCHA_FAIL_AT={fail_at} reached" in broken[3]
             and "failed with exit code 1" in broken[3], f"the failure and its reason in the table: {broken[3]}")
    rp.check(f"- broken on {broken[7]}: failed with exit code 1" in md, "the failure listed below the table with its host")
    rp.check(high[7] == broken[7] and (low[7] != broken[7]) == (hosts == 2),
             f"high was queued on broken's host, low had {'its own' if hosts == 2 else 'the same'}: {high[7]}, {broken[7]}, {low[7]}")

    doc = json.loads((sweep_dir / "comparison.json").read_text())
    curves = {r["variant"]: r["accuracy_curve"] for r in doc["rows"]}
    # Mocha v0.3.1 validates once before the first step (iteration 0), then every quarter of the run here.
    rp.check(len(curves["high"]) == len(curves["low"]) == 5 and len(curves["broken"]) == 3,
             f"comparison.json: five test accuracies per finished variant, three before the crash: "
             f"{ {k: len(v) for k, v in curves.items()} }")
    rp.check(curves["broken"][0][0] < fail_at, f"the failed variant's curve stops before iteration {fail_at}: {curves['broken']}")
    png = (sweep_dir / "comparison.png").read_bytes()
    rp.check(png[:8] == b"\x89PNG\r\n\x1a\n", "comparison.png is a PNG")
    fig = load_plotter().build_figure(doc)
    labels = [t.get_text() for t in fig.axes[0].get_legend().get_texts()]
    rp.check(len(labels) == 4 and labels[0].startswith("high (lr 0.003): ") and labels[2] == "broken (lr 0.001): FAILED",
             f"the figure has one labelled curve per variant (and the tutorial's line): {labels}")

    for name in ("high", "low"):
        d = sweep_dir / name
        metrics = json.loads((d / "metrics.json").read_text())
        rp.check(metrics["run_id"] == f"{SWEEP}--{name}" and metrics["iterations"] == max_iter and metrics["completed"],
                 f"{name}: an ordinary run with run id {metrics['run_id']}, {metrics['iterations']} iterations")
        for f in ("report.md", "learning_curve.png", "training.log"):
            rp.check((d / f).is_file(), f"{name}/{f} home")
    rp.check((sweep_dir / "broken" / "training.log").is_file(), "the failed variant's log is home")
    return doc


def check_hosts(containers, env):
    """Each host holds its own variants' run directories, nothing of the others'."""
    got = []
    for c in containers:
        out = rp.sh(["podman", "exec", c, "sh", "-c", f"ls /var/lib/mocha-cifar10/sweeps/{SWEEP}"], env=env,
                    capture_output=True).stdout.split()
        got.append(sorted(out))
    want = [["broken", "high"], ["low"]] if len(containers) == 2 else [["broken", "high", "low"]]
    rp.check(got == want, f"run directories on the hosts: {got}")
    ids = rp.sh(["podman", "exec", containers[0], "cat", f"/var/lib/mocha-cifar10/sweeps/{SWEEP}/high/run_id"], env=env,
                capture_output=True).stdout.strip()
    rp.check(ids == f"{SWEEP}--high", f"the run id on the host is <sweep>--<variant>: {ids}")


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--keep", action="store_true", help="keep the work directory and the containers")
    ap.add_argument("--max-iter", type=int, default=400, help="iterations of each variant")
    ap.add_argument("--pace", type=float, default=0.05, help="seconds per iteration of the FAKE training")
    ap.add_argument("--once", action="store_true", help="skip the second run")
    ap.add_argument("--hosts", type=int, choices=(1, 2), default=2,
                    help="instances for the three variants (1: one after another on one host, for a comparison)")
    args = ap.parse_args()
    fail_at = args.max_iter * 3 // 4

    with rp.stand_ins("sweep", args.keep, hosts=args.hosts) as s:
        work, containers, env = s.work, s.containers, s.env
        for c in containers:
            rp.start_container(c, env, work)
        with ThreadPoolExecutor(len(containers)) as pool:  # both instances' compilers at once
            list(pool.map(lambda c: rp.install_gcc(c, env), containers))
        inventory = write_inventory(work, containers)
        extra = rp.write_vars(work, s.data, s.data_port, args.max_iter)
        import yaml

        settings = yaml.safe_load((work / "settings.yml").read_text())
        settings["cifar10_sweep"] = sweep_settings(args.pace, fail_at, args.hosts)
        (work / "settings.yml").write_text(yaml.safe_dump(settings))
        more = yaml.safe_load(extra.read_text())
        # The quota check runs, with the quota given (Service Quotas is not in moto): 8 vCPUs, two g4dn.xlarge.
        more.update({"aws_gpu_instance_check_quota": True, "aws_gpu_instance_quota_vcpus": 4 * args.hosts, "aws_gpu_instance_run_id": "sweep",
                     # A test accuracy every quarter of the run: four points per curve.
                     "cifar10_validation_interval": max(1, args.max_iter // 4),
                     # Baking (auto bakes a sweep) and launching from the image are shown by run_pipeline.py.
                     "aws_gpu_instance_bake": "never"})
        extra.write_text(yaml.safe_dump(more))
        playbook = ["ansible-playbook", "-i", inventory, REPO / "site.yml", "-e", f"@{extra}"]

        t0 = time.monotonic()
        run = rp.sh(playbook, env=env, cwd=REPO, capture_output=True)
        wall = time.monotonic() - t0
        (work / "run1.log").write_text(run.stdout + run.stderr)
        print(run.stdout[-8000:], run.stderr[-3000:], sep="\n", flush=True)
        flat = " ".join(run.stdout.split())
        rp.check(run.returncode != 0, f"site.yml ended failed because a variant failed (rc={run.returncode})")
        rp.check_no_warnings(run.stdout + run.stderr, "site.yml with a sweep")
        rp.check(f"1 of 3 variant(s) of sweep {SWEEP} failed: broken: failed with exit code 1" in flat,
                 "the play's failure names the broken variant and why")
        hosts = rp.recap(run.stdout)
        rp.check(len([h for h in hosts if h != "localhost"]) == args.hosts and all(
            r["failed"] == 0 and r["unreachable"] == 0 for h, r in hosts.items() if h != "localhost"),
            f"both instances ran their queue without a failed task (the failure was rescued): {hosts}")
        doc = check_comparison(work, args.max_iter, fail_at, args.hosts)
        check_hosts(containers, env)

        times = {r["variant"]: r["wall_time_s"] or 0 for r in doc["rows"]}
        if not args.once:
            t1 = time.monotonic()
            again = rp.sh(playbook, env=env, cwd=REPO, capture_output=True)
            second = time.monotonic() - t1
            (work / "run2.log").write_text(again.stdout + again.stderr)
            print(again.stdout[-4000:], again.stderr[-2000:], sep="\n", flush=True)
            rp.check(again.returncode != 0 and "broken: failed with exit code 1" in " ".join(again.stdout.split()),
                     "second run: the broken variant was tried again (resumed) and failed again")
            rp.check_no_warnings(again.stdout + again.stderr, "the sweep's second run")
            if args.hosts == 2:
                recap2 = rp.recap(again.stdout)
                low_host = doc["rows"][1]["host"]
                rp.check(recap2.get(low_host, {}).get("changed") == 0,
                         f"second run: the host with only a finished variant changed nothing: {recap2.get(low_host)}")
            doc2 = json.loads((work / "artifacts" / SWEEP / "comparison.json").read_text())
            rp.check([(r["variant"], r["host"]) for r in doc2["rows"]] == [(r["variant"], r["host"]) for r in doc["rows"]],
                     "second run: same assignment and order")
            print(f"sweep: second run {second:.1f} s", flush=True)

        down = rp.sh(playbook + ["--tags", "teardown", "-e", "teardown=true"], env=env, cwd=REPO, capture_output=True)
        print(down.stdout[-3000:], down.stderr[-2000:], sep="\n", flush=True)
        rp.check(down.returncode == 0, "teardown succeeded")
        rp.check_no_warnings(down.stdout + down.stderr, "the sweep's teardown")
        left = rp.aws_leftovers(s.moto)
        rp.check(not any(left.values()), f"nothing left in AWS after teardown: {left}")

        longest = max(times["broken"] + times["high"], times["low"]) if args.hosts == 2 else sum(times.values())
        print(f"sweep: site.yml {wall:.1f} s wall for 3 variants on {args.hosts} host(s); training wall times "
              + ", ".join(f"{k} {v:.1f} s" for k, v in times.items())
              + f"; one after another {sum(times.values()):.1f} s of training, side by side the longest queue {longest:.1f} s",
              flush=True)


if __name__ == "__main__":
    main()
