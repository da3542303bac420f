#!/usr/bin/env python3
"""Time mocha.cloud.lscpu_facts against ansible.builtin.setup (gather_subset: hardware) on localhost.

Two measurements, each over --runs runs per module, medians compared:
  task:    one ansible-playbook run alternating the two modules; each task's duration from the
           ansible.posix.json callback (module transfer + run on the target, no controller start-up).
  command: whole `ansible localhost -i inventory/localhost.yml -m MODULE` commands, wall clock
           (what a person waits for; includes ansible's own start-up, the same for both).
Target (issue 2): lscpu_facts takes a third of setup's time or less. ansible.builtin.ping, a module
that does nothing, is timed too: it is the floor any Python module pays on that host.

    .venv/bin/python benchmarks/facts_bench.py [--runs 7] [--only task|command]
"""

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import datetime
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
INVENTORY = REPO / "inventory" / "localhost.yml"
BIN = Path(sys.executable).parent
MODULES = {
    "lscpu_facts": ("mocha.cloud.lscpu_facts", {}),
    "setup(hardware)": ("ansible.builtin.setup", {"gather_subset": ["hardware"]}),
    # The floor: a module that does nothing pays the same Python start-up and AnsiballZ import cost.
    "ping (floor)": ("ansible.builtin.ping", {}),
}


def env():
    e = dict(os.environ)
    e["ANSIBLE_CONFIG"] = str(REPO / "ansible.cfg")
    e["PATH"] = f"{BIN}:{e.get('PATH', '')}"
    return e


def parse_time(text):
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


def bench_tasks(runs):
    tasks = []
    for i in range(runs):
        for label, (module, args) in MODULES.items():
            tasks.append({"name": f"{label} #{i}", module: args or None})
    play = [{"name": "facts benchmark", "hosts": "localhost", "gather_facts": False, "tasks": tasks}]
    with tempfile.TemporaryDirectory() as tmp:
        book = Path(tmp) / "bench.yml"
        book.write_text(json.dumps(play))
        e = env()
        e["ANSIBLE_STDOUT_CALLBACK"] = "ansible.posix.json"
        out = subprocess.run([str(BIN / "ansible-playbook"), "-i", str(INVENTORY), str(book)],
                             env=e, cwd=REPO, capture_output=True, text=True, check=True)
    result = json.loads(out.stdout)
    times = {label: [] for label in MODULES}
    for task in result["plays"][0]["tasks"]:
        label = task["task"]["name"].rsplit(" #", 1)[0]
        span = task["task"]["duration"]
        times[label].append((parse_time(span["end"]) - parse_time(span["start"])).total_seconds())
    return times


def bench_commands(runs):
    times = {label: [] for label in MODULES}
    for _ in range(runs):
        for label, (module, args) in MODULES.items():
            argv = [str(BIN / "ansible"), "localhost", "-i", str(INVENTORY), "-m", module]
            if args:
                argv += ["-a", json.dumps(args)]
            start = time.perf_counter()
            subprocess.run(argv, env=env(), cwd=REPO, capture_output=True, check=True)
            times[label].append(time.perf_counter() - start)
    return times


def report(kind, times):
    med = {label: statistics.median(v) for label, v in times.items()}
    print(f"{kind}: {len(next(iter(times.values())))} runs each")
    for label, values in times.items():
        print(f"  {label:16s} median {med[label]:.3f} s   (min {min(values):.3f}, max {max(values):.3f})")
    ratio = med["lscpu_facts"] / med["setup(hardware)"]
    verdict = "meets" if ratio <= 1 / 3 else "misses"
    print(f"  ratio lscpu_facts / setup(hardware) = {ratio:.2f}  ({verdict} the <= 0.33 target)")
    return ratio


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--runs", type=int, default=7)
    ap.add_argument("--only", choices=["task", "command"])
    args = ap.parse_args()
    if args.runs < 1:
        ap.error("--runs must be at least 1")
    print(f"host: {os.uname().nodename}, {os.cpu_count()} CPUs, {os.uname().release}")
    if args.only in (None, "task"):
        report("task (module time inside one playbook)", bench_tasks(args.runs))
    if args.only in (None, "command"):
        report("command (whole `ansible -m` invocations)", bench_commands(args.runs))


if __name__ == "__main__":
    main()
