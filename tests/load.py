#!/usr/bin/env python3
"""Run a command while this machine is kept busy: races that only a quiet machine hides show up under load.

    python tests/load.py [--workers N] [--io] -- COMMAND [ARGS...]

Starts N CPU-bound worker processes (default: one per CPU), and with --io one more that writes and syncs a scratch file
in a loop, runs COMMAND, then stops the workers it started (by their process ids) and exits with COMMAND's exit
status. It prints the load average before and after. Used to show the cifar10 role's results fetch under load, e.g.

    python tests/load.py -- env MOLECULE_SCENARIOS=cifar10 ./scripts/test molecule
"""

import argparse
import multiprocessing
import os
import subprocess
import sys
import tempfile
import time


def burn():
    x = 0
    while True:
        x = (x * 1103515245 + 12345) % 2147483648


def churn(directory):
    path = os.path.join(directory, "load.bin")
    block = os.urandom(1 << 20)
    while True:
        with open(path, "wb") as handle:
            for _ in range(16):
                handle.write(block)
            handle.flush()
            os.fsync(handle.fileno())
        time.sleep(0.05)


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--workers", type=int, default=os.cpu_count() or 2, help="CPU-bound workers (default: one per CPU)")
    ap.add_argument("--io", action="store_true", help="one more worker writing and syncing a scratch file")
    ap.add_argument("command", nargs=argparse.REMAINDER, help="-- COMMAND [ARGS...]")
    args = ap.parse_args(argv)
    command = args.command[1:] if args.command[:1] == ["--"] else args.command
    if not command:
        ap.error("give the command to run after --")
    workers = [multiprocessing.Process(target=burn, daemon=True) for _ in range(max(0, args.workers))]
    with tempfile.TemporaryDirectory(prefix="mocha-cloud-load-") as scratch:
        if args.io:
            workers.append(multiprocessing.Process(target=churn, args=(scratch,), daemon=True))
        for worker in workers:
            worker.start()
        print(f"load: {len(workers)} worker(s) started (pids {', '.join(str(w.pid) for w in workers)}); "
              f"load average {os.getloadavg()[0]:.2f}", flush=True)
        try:
            rc = subprocess.run(command, check=False).returncode
        finally:
            for worker in workers:
                worker.terminate()
            for worker in workers:
                worker.join(timeout=10)
            print(f"load: workers stopped; load average {os.getloadavg()[0]:.2f}", flush=True)
    return rc


if __name__ == "__main__":
    sys.exit(main())
