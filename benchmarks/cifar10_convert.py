#!/usr/bin/env python3
"""Benchmark: CIFAR-10 conversion (mocha.cloud.cifar10_hdf5's code) against a raw write of the same bytes.

    benchmarks/cifar10_convert.py [--workdir DIR] [--per-batch 10000] [--repeat 3]

Makes the full 60,000 records (synthetic, in the real binary format) with tests/fixtures/make_cifar10.py,
then times, each in a fresh process whose peak RSS comes from os.wait4's rusage:
  - the conversion (true training mean, seeded in-batch shuffle, float32, chunked h5py writes, lists);
  - dd writing the same number of output bytes (both HDF5 files) from /dev/zero.
Two modes, interleaved runs each: "durable" (the module's default, which fsyncs its outputs before
the rename and the stamp, against dd conv=fsync) and "cache" (neither syncs: both only fill the page
cache, where dd is a bare memcpy). Reports wall time, peak RSS and the ratio of the best runs; the
targets (<= 2x dd, <= 1.5 GB peak) are judged on the durable mode, and the cache mode is shown too.
The machine's CPU and memory are printed with the figures.
"""

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]

CONVERT = r"""
import sys
sys.path.insert(0, sys.argv[1])
from ansible_collections.mocha.cloud.plugins.module_utils import cifar10
r = cifar10.convert(sys.argv[2], sys.argv[3], seed=42, fsync=sys.argv[4] == "fsync")
print(r["train_count"], r["test_count"])
"""


def collection_path(tmp):
    base = Path(tmp) / "coll" / "ansible_collections" / "mocha"
    base.mkdir(parents=True)
    os.symlink(REPO, base / "cloud")
    return str(Path(tmp) / "coll")


def run_measured(argv):
    t0 = time.perf_counter()
    proc = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    _, status, usage = os.wait4(proc.pid, 0)
    wall = time.perf_counter() - t0
    out = proc.stdout.read().decode()
    err = proc.stderr.read().decode()
    if os.waitstatus_to_exitcode(status):
        raise SystemExit(f"{argv[0]} failed: {err}")
    return wall, usage.ru_maxrss / 1024.0, out


def drop_outputs(dest):
    shutil.rmtree(dest, ignore_errors=True)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--workdir", help="where to put the data (default: a temporary directory)")
    parser.add_argument("--per-batch", type=int, default=10000)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args(argv)

    tmp = args.workdir or tempfile.mkdtemp(prefix="cifar10-bench-")
    os.makedirs(tmp, exist_ok=True)
    try:
        src = os.path.join(tmp, "src")
        made = subprocess.run(
            [sys.executable, str(REPO / "tests" / "fixtures" / "make_cifar10.py"), src,
             "--per-batch", str(args.per_batch), "--no-archive"],
            capture_output=True, text=True, check=True,
        )
        info = json.loads(made.stdout)
        coll = collection_path(tmp)
        dest = os.path.join(tmp, "hdf5")

        target = os.path.join(tmp, "dd.out")
        block = 1 << 20
        cpu = ""
        try:
            with open("/proc/cpuinfo") as handle:
                cpu = next(line.split(":", 1)[1].strip() for line in handle if line.startswith("model name"))
        except (OSError, StopIteration):
            pass
        print(f"machine: {os.cpu_count()} CPUs ({cpu}), python {sys.version.split()[0]}, "
              f"load average {os.getloadavg()[0]:.1f}")
        all_ok = True
        # durable: the module's default (fsync before the rename and the stamp) against dd conv=fsync;
        # cache: neither syncs, so both only fill the page cache.
        for mode, dd_extra in (("durable", ["conv=fsync"]), ("cache", [])):
            conv, dd = [], []
            # Interleaved, so that the machine's background load falls on both alike.
            for _ in range(args.repeat):
                drop_outputs(dest)
                wall, rss, out = run_measured(
                    [sys.executable, "-c", CONVERT, coll, info["batches_dir"], dest, "fsync" if mode == "durable" else "nofsync"]
                )
                conv.append((wall, rss))
                out_bytes = sum(os.path.getsize(os.path.join(dest, f)) for f in ("train.hdf5", "test.hdf5"))
                counts = out.split()
                if os.path.exists(target):
                    os.remove(target)
                wall, rss, _ = run_measured(
                    ["dd", "if=/dev/zero", f"of={target}", f"bs={block}", f"count={-(-out_bytes // block)}", "status=none"] + dd_extra
                )
                dd.append((wall, rss))
            best_conv = min(w for w, _ in conv)
            best_dd = min(w for w, _ in dd)
            peak = max(r for _, r in conv)
            ratio = best_conv / best_dd
            ok = ratio <= 2.0 and peak <= 1536
            all_ok = all_ok and (ok or mode == "cache")
            print(f"--- {mode}: {info['records']} synthetic records ({counts[0]} train + {counts[1]} test), "
                  f"source {info['records'] * 3073} bytes, output {out_bytes} bytes")
            print("conversion runs (wall s / peak RSS MiB, interpreter start and imports included): "
                  + ", ".join(f"{w:.2f}/{r:.0f}" for w, r in conv))
            print(f"dd {' '.join(dd_extra) or '(no sync)'} runs (wall s): " + ", ".join(f"{w:.2f}" for w, _ in dd))
            print(f"best: conversion {best_conv:.2f} s, dd {best_dd:.2f} s, ratio {ratio:.2f}x (target <= 2x); "
                  f"peak RSS {peak:.0f} MiB (target <= 1536 MiB): {'within targets' if ok else 'OUTSIDE targets'}")
        return 0 if all_ok else 1
    finally:
        if not args.workdir:
            shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
