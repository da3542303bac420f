#!/usr/bin/env python3
"""Benchmark: CIFAR-10 conversion (mocha.cloud.cifar10_hdf5's code) against a raw write of the same bytes.

    benchmarks/cifar10_convert.py [--workdir DIR] [--per-batch 10000] [--repeat 5] [--settle 1]

Makes the full 60,000 records (synthetic, in the real binary format) with tests/fixtures/make_cifar10.py,
then times, each in a fresh process whose peak RSS comes from os.wait4's rusage:
  - the conversion (true training mean, seeded in-batch shuffle, float32, chunked h5py writes, lists);
  - dd writing the same number of output bytes (both HDF5 files) from /dev/zero.
Two modes, interleaved runs each: "durable" (the module's default, which fsyncs its outputs before
the rename and the stamp, against dd conv=fsync) and "cache" (neither syncs: both only fill the page
cache, where dd is a bare memcpy). Reports wall time, peak RSS and the ratio of the medians (and of
the best runs); the targets (<= 2x dd conv=fsync, <= 1.5 GB peak) are judged on the durable mode's
medians. dd oflag=direct and the cache mode are printed for reference. Before each timed run the
outputs are deleted and the disk synced and left to settle (--settle), so no run pays for another's
writeback.
The machine's CPU and memory are printed with the figures.
"""

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]

CONVERT = r"""
import sys
sys.path.insert(0, sys.argv[1])
from ansible_collections.mocha.cloud.plugins.module_utils import cifar10_hdf5
r = cifar10_hdf5.convert(sys.argv[2], sys.argv[3], seed=42, fsync=sys.argv[4] == "fsync")
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


def drop_outputs(paths, settle):
    """Remove earlier outputs, flush the disk and let it settle, so no run pays for another's writeback.

    On a file system mounted with ``discard`` a delete becomes a TRIM at the next journal commit; the
    pause lets the device finish those before the next timed write.
    """
    for path in paths:
        if os.path.isdir(path):
            shutil.rmtree(path, ignore_errors=True)
        elif os.path.exists(path):
            os.remove(path)
    os.sync()
    time.sleep(settle)
    os.sync()


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--workdir", help="where to put the data (default: a temporary directory)")
    parser.add_argument("--per-batch", type=int, default=10000)
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--settle", type=float, default=1.0,
                        help="seconds to let the disk settle after the deletes and sync before each timed run")
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
        # durable: the module's default (its outputs are on disk before the rename and the stamp) against
        # dd conv=fsync, the target's baseline, and dd oflag=direct conv=fsync for reference;
        # cache: neither syncs, so both only fill the page cache (dd is then a bare memcpy), for reference.
        modes = (
            ("durable", "fsync", [("conv=fsync", ["conv=fsync"]), ("oflag=direct conv=fsync", ["oflag=direct", "conv=fsync"])]),
            ("cache", "nofsync", [("(no sync)", [])]),
        )
        for mode, conv_arg, dds in modes:
            conv, dd = [], {label: [] for label, _ in dds}
            # Interleaved, so that the machine's background load falls on all alike.
            for _ in range(args.repeat):
                drop_outputs((dest, target), args.settle)
                wall, rss, out = run_measured([sys.executable, "-c", CONVERT, coll, info["batches_dir"], dest, conv_arg])
                conv.append((wall, rss))
                out_bytes = sum(os.path.getsize(os.path.join(dest, f)) for f in ("train.hdf5", "test.hdf5"))
                counts = out.split()
                for label, extra in dds:
                    drop_outputs((dest, target), args.settle)
                    wall, _, _ = run_measured(
                        ["dd", "if=/dev/zero", f"of={target}", f"bs={block}", f"count={-(-out_bytes // block)}", "status=none"] + extra
                    )
                    dd[label].append(wall)
            peak = max(r for _, r in conv)
            med_conv = statistics.median(w for w, _ in conv)
            print(f"--- {mode}: {info['records']} synthetic records ({counts[0]} train + {counts[1]} test), "
                  f"source {info['records'] * 3073} bytes, output {out_bytes} bytes")
            print("conversion runs (wall s / peak RSS MiB, interpreter start and imports included): "
                  + ", ".join(f"{w:.2f}/{r:.0f}" for w, r in conv))
            for n, (label, _) in enumerate(dds):
                med_dd = statistics.median(dd[label])
                ratio = med_conv / med_dd
                print(f"dd {label} runs (wall s): " + ", ".join(f"{w:.2f}" for w in dd[label]))
                line = (f"median: conversion {med_conv:.2f} s, dd {label} {med_dd:.2f} s, ratio {ratio:.2f}x; "
                        f"best: {min(w for w, _ in conv):.2f} s against {min(dd[label]):.2f} s")
                if mode == "durable" and n == 0:
                    ok = ratio <= 2.0 and peak <= 1536
                    all_ok = all_ok and ok
                    line += (f" (target <= 2x on the medians); peak RSS {peak:.0f} MiB (target <= 1536 MiB): "
                             f"{'within targets' if ok else 'OUTSIDE targets'}")
                else:
                    line += f" (for reference); peak RSS {peak:.0f} MiB"
                print(line)
        return 0 if all_ok else 1
    finally:
        if not args.workdir:
            shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
