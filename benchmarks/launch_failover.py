#!/usr/bin/env python3
"""Time the launch failover on the fake EC2: how long a refused zone costs, and the whole provision with full zones.

Against moto's server started through tests/integration/moto_launcher.py, whose capacity map makes RunInstances refuse
as EC2 does (InsufficientInstanceCapacity, HTTP 500, EC2's message) in the zones said full. Each run provisions one
g4dn.xlarge with playbooks/provision.yml (the project's own role, check_quota/show_price off as in the AWS tests) while
the first --full zones (us-east-1a, us-east-1b, ...) are full, then the fake is reset.

Measured per run:
  hops:      from each refusal to the end of the next attempt (the launch in the next zone, or its refusal), from
             the attempts' own times (mocha.cloud.aws_gpu_launch's launch_attempts[].seconds): what a refused zone costs.
  launch:    the whole launch task (module start-up included), from the ansible.posix.json callback.
  provision: the whole ansible-playbook run, wall clock (preflight, bucket, role, profile, group, key, launch, verify).
Targets: under 15 s per refused zone; the whole provision with two full zones within 150 s.

--baseline also times amazon.aws.ec2_instance launching into one full zone (what the role did before): it retries
InsufficientInstanceCapacity in that same zone with jittered backoff and then fails (minutes).

    .venv/bin/python benchmarks/launch_failover.py [--runs 3] [--full 2] [--baseline]
"""

import argparse
import json
import re
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "tests" / "integration"))
from moto_server import FakeAws, aws_env  # noqa: E402  (the fake AWS of the tests)

ZONES = ["us-east-1a", "us-east-1b", "us-east-1c", "us-east-1d", "us-east-1f"]  # where moto offers g4dn.xlarge
AL2023 = "/aws/service/ami-amazon-linux-latest/al2023-ami-kernel-default-x86_64"  # carried by moto itself


def extra_vars(tmp, run_id):
    return {"aws_gpu_instance_check_quota": False, "aws_gpu_instance_show_price": False,
            "aws_gpu_instance_ssh_cidr": "203.0.113.7/32", "aws_gpu_instance_ami_ssm_parameter": AL2023,
            "aws_gpu_instance_private_key_dir": str(tmp / "keys"), "aws_gpu_instance_max_hours": 2,
            "aws_gpu_instance_run_id": run_id, "cifar10_max_iter": 200}


def task_results(stdout, name_part):
    """(duration s, result) of the first task whose name contains NAME_PART, from the ansible.posix.json output."""
    from datetime import datetime

    doc = json.loads(stdout[stdout.index("{"):])
    for play in doc["plays"]:
        for task in play["tasks"]:
            if name_part in task["task"]["name"]:
                dur = task["task"]["duration"]
                start, end = (datetime.fromisoformat(dur[k].replace("Z", "+00:00")) for k in ("start", "end"))
                return (end - start).total_seconds(), task["hosts"]["localhost"]
    raise SystemExit(f"no task named like {name_part!r} in the run")


def one_run(aws, tmp, n, full):
    aws.reset()
    aws.set_capacity({f"g4dn.xlarge@{z}": 0 for z in ZONES[:full]})
    env = aws_env(aws.endpoint, tmp) | {"ANSIBLE_STDOUT_CALLBACK": "ansible.posix.json"}
    t0 = time.monotonic()
    out = subprocess.run(["ansible-playbook", "-i", "localhost,", str(REPO / "playbooks/provision.yml"), "-e",
                          json.dumps(extra_vars(tmp, f"bench{n}"))], cwd=REPO, env=env, capture_output=True, text=True,
                         check=False)
    wall = time.monotonic() - t0
    if out.returncode != 0:
        raise SystemExit(f"provision failed (rc {out.returncode}):\n{out.stdout[-3000:]}\n{out.stderr[-2000:]}")
    launch_s, result = task_results(out.stdout, "Launch the instances")
    attempts = result["launch_attempts"]
    landed = attempts[-1]
    if landed["result"] != "launched" or landed["availability_zone"] != ZONES[full]:
        raise SystemExit(f"expected a launch in {ZONES[full]}: {result['lines']}")
    stamps = [a["seconds"] for a in attempts]
    hops = [b - a for a, b in zip(stamps, stamps[1:], strict=False)]
    return {"wall": wall, "launch": launch_s, "hops": hops, "first_refusal_to_launch": stamps[-1] - stamps[0],
            "lines": result["lines"]}


BASELINE_PLAY = """
- hosts: localhost
  connection: local
  gather_facts: false
  vars:
    ansible_python_interpreter: "{{ ansible_playbook_python }}"
  tasks:
    - amazon.aws.ec2_vpc_subnet_info:
        filters: {default-for-az: "true", availability-zone: us-east-1a}
        region: us-east-1
      register: subnet
    - amazon.aws.ec2_instance:
        region: us-east-1
        instance_type: g4dn.xlarge
        image_id: "{{ lookup('amazon.aws.ssm_parameter', 'AL2023', region='us-east-1') }}"
        vpc_subnet_id: "{{ subnet.subnets[0].id }}"
        wait: false
""".replace("AL2023", AL2023)


def baseline(aws, tmp):
    """amazon.aws.ec2_instance into one full zone: its own retries in that zone, then the failure."""
    aws.reset()
    aws.set_capacity({"g4dn.xlarge@us-east-1a": 0})
    play = tmp / "baseline.yml"
    play.write_text(BASELINE_PLAY)
    env = aws_env(aws.endpoint, tmp)
    env.pop("AWS_MAX_ATTEMPTS")  # botocore's default retry mode, as on a user's machine
    before = refusals(aws)
    t0 = time.monotonic()
    out = subprocess.run(["ansible-playbook", "-i", "localhost,", str(play)], cwd=REPO, env=env, capture_output=True,
                         text=True, check=False)
    wall = time.monotonic() - t0
    return wall, out.returncode, refusals(aws) - before


def refusals(aws):
    """Requests moto answered with HTTP 500 so far (its werkzeug request log, coloured, one line per request)."""
    return len(re.findall(r'POST / HTTP/1\.1\S*" 500 ', aws.log.read_text(errors="replace")))


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--full", type=int, default=2, help="how many zones are full (1 to 4)")
    ap.add_argument("--baseline", action="store_true", help="also time amazon.aws.ec2_instance into a full zone (minutes)")
    args = ap.parse_args()
    if not 1 <= args.full <= len(ZONES) - 1:
        raise SystemExit(f"--full must be 1 to {len(ZONES) - 1}")

    with tempfile.TemporaryDirectory(prefix="mocha-bench-failover-") as tmp:
        tmp = Path(tmp)
        aws = FakeAws(tmp).start()
        try:
            runs = [one_run(aws, tmp, n, args.full) for n in range(args.runs)]
            for line in runs[0]["lines"]:
                print("  " + line)
            hops = [h for r in runs for h in r["hops"]]
            print(f"zones full: {', '.join(ZONES[:args.full])}; {args.runs} run(s)")
            print(f"per refused zone (refusal -> next attempt done): median {statistics.median(hops):.2f} s, "
                  f"max {max(hops):.2f} s (target < 15 s)")
            print(f"first refusal -> launch in {ZONES[args.full]}: median "
                  f"{statistics.median(r['first_refusal_to_launch'] for r in runs):.2f} s")
            print(f"launch task (module start-up included): median {statistics.median(r['launch'] for r in runs):.1f} s")
            walls = [r["wall"] for r in runs]
            print(f"whole provision: median {statistics.median(walls):.1f} s, max {max(walls):.1f} s (target <= 150 s)")
            ok = max(hops) < 15 and max(walls) <= 150
            if args.baseline:
                wall, rc, tries = baseline(aws, tmp)
                print(f"baseline amazon.aws.ec2_instance into the full zone: {wall:.1f} s, {tries} RunInstances answered "
                      f"500, then {'failed' if rc else 'succeeded'} (rc {rc})")
        finally:
            aws.stop()
    print("PASS" if ok else "FAIL: over target")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
