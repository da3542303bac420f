#!/usr/bin/env python3
"""FAKE Mocha CIFAR-10 training, for tests only: never a real Julia or Mocha.

The fake julia (tests/fakes/julia/julia) runs ``train.py SCRIPT.jl [args]`` for ``julia SCRIPT.jl``.
It can also be called directly the same way. It reads the rendered cifar10.jl with regexes:
max_iter, the HDF5DataLayer sources and batch size, the coffee-break intervals (TrainingSummary,
Snapshot, ValidationPerformance), the snapshot directory and load_from, the backend, and the first learning-rate
stage and the momentum, which shape the made-up curves (see lr_shape). Then, like
Mocha's solver, it:
  - fails when a data list or an HDF5 file it names is missing (or is not HDF5), or when the script
    asks for GPUBackend() without MOCHA_USE_CUDA=true;
  - resumes from the newest snapshot-NNNNNN.jld in the load_from directory;
  - prints Mocha-style log lines (the Logging.jl format of Mocha's tutorial docs:
    "20-Nov 06:58:26:INFO:root:004600 :: TRAIN obj-val = 1.07695698"), a made-up but plausible
    objective and test accuracy, and writes snapshot files at the snapshot interval, in place like JLD
    (a 512-byte user block, the HDF5 signature, then JSON instead of real HDF5 data).
Environment: FAKE_MOCHA_SECONDS_PER_ITER (default 0.0002) paces it, so tests can kill it mid-run
(FAKE_MOCHA_SNAPSHOT_WRITE_SECONDS, default 0, pauses in the middle of writing a snapshot);
FAKE_MOCHA_FAIL_AT=N makes it crash at iteration N; while the file FAKE_MOCHA_HOLD_FILE names exists, it waits before
any step beyond iteration FAKE_MOCHA_HOLD_AT (default: before its last step), so a test holds a run going, however slow
the machine, until it lets it go on. Standard library only.
"""

import json
import math
import os
import re
import signal
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.realpath(__file__)))
import fakeruntime  # noqa: E402  (beside this file: the fake runtime checks shared with the fake julia)


def log(msg, level="INFO"):
    stamp = time.strftime("%d-%b %H:%M:%S", time.gmtime())
    sys.stdout.write(f"{stamp}:{level}:root:{msg}\n")
    sys.stdout.flush()


def fail(msg):
    log(msg, "ERROR")
    sys.stderr.write(f"ERROR: LoadError: {msg}\n")
    sys.exit(1)


def first(pattern, text, default=None, cast=str):
    m = re.search(pattern, text)
    return cast(m.group(1)) if m else default


def coffee_interval(coffee, text, default):
    return first(rf"add_coffee_break\(\s*solver\s*,\s*{coffee}\(.*?\)\s*,\s*every_n_iter\s*=\s*(\d+)", text, default, int)


# A Julia string literal: what Julia reads between the quotes, escapes included (\\, \", \$, \n, \t, \r, \uXXXX,
# \UXXXXXXXX). A "$" that is not escaped would interpolate in Julia: the fake refuses it, as a script that
# interpolated an undefined name would fail in Julia.
JULIA_STR = r'"((?:[^"\\]|\\.)*)"'
_JULIA_ESCAPES = {"\\": "\\", '"': '"', "$": "$", "n": "\n", "t": "\t", "r": "\r"}


def julia_unescape(body):
    out, i = [], 0
    while i < len(body):
        ch = body[i]
        if ch == "$":
            fail(f"string interpolation in a path literal: {body!r}")
        if ch != "\\":
            out.append(ch)
            i += 1
            continue
        nxt = body[i + 1]
        if nxt in _JULIA_ESCAPES:
            out.append(_JULIA_ESCAPES[nxt])
            i += 2
        elif nxt in "uU":
            width = 4 if nxt == "u" else 8
            digits = re.match(rf"[0-9a-fA-F]{{1,{width}}}", body[i + 2:]).group(0)
            out.append(chr(int(digits, 16)))
            i += 2 + len(digits)
        else:
            fail(f"invalid escape sequence \\{nxt} in a string literal")
    return "".join(out)


def literal(pattern, text):
    """The value of the Julia string literal that ``pattern`` (with JULIA_STR in it) finds, or None."""
    m = re.search(pattern, text)
    return julia_unescape(m.group(1)) if m else None


def parse_script(text):
    return {
        "max_iter": first(r"max_iter\s*=\s*(\d+)", text, None, int),
        "train_source": literal(r'HDF5DataLayer\(name="data-train",\s*source=' + JULIA_STR, text),
        "test_source": literal(r'HDF5DataLayer\(name="data-test",\s*source=' + JULIA_STR, text),
        "batch_size": first(r'HDF5DataLayer\(name="data-train",[^)]*batch_size\s*=\s*(\d+)', text, 100, int),
        "summary_every": coffee_interval("TrainingSummary", text, 200),
        "snapshot_every": coffee_interval("Snapshot", text, 5000),
        "validation_every": coffee_interval("ValidationPerformance", text, 1000),
        "snapshot_dir": literal(r"Snapshot\(" + JULIA_STR + r"\)", text),
        "load_from": literal(r"load_from\s*=\s*" + JULIA_STR, text),
        "gpu": bool(re.search(r"\bGPUBackend\(\)", text)),
        # LRPolicy.Staged's first stage, MomPolicy.Fixed and regu_coef (Mocha's example: 0.001, 0.9, 0.004).
        "lr": first(r"LRPolicy\.Staged\(\s*\(\s*\d+\s*,\s*LRPolicy\.Fixed\(\s*([0-9.eE+-]+)\s*\)", text, 0.001, float),
        "momentum": first(r"mom_policy\s*=\s*MomPolicy\.Fixed\(\s*([0-9.eE+-]+)\s*\)", text, 0.9, float),
        "regu_coef": first(r"regu_coef\s*=\s*([0-9.eE+-]+)", text, 0.004, float),
    }


def check_source(list_path):
    if not os.path.isfile(list_path):
        fail(f"HDF5DataLayer source {list_path}: no such file")
    with open(list_path) as handle:
        files = [line.strip() for line in handle if line.strip()]
    if not files:
        fail(f"HDF5DataLayer source {list_path} lists no HDF5 file")
    for path in files:
        try:
            with open(path, "rb") as handle:
                magic = handle.read(8)
        except OSError as exc:
            fail(f"HDF5DataLayer cannot open {path}: {exc}")
        if magic != b"\x89HDF\r\n\x1a\n":
            fail(f"{path} is not an HDF5 file")
    return files


def latest_snapshot(directory):
    best = None
    if directory and os.path.isdir(directory):
        for name in os.listdir(directory):
            m = re.match(r"^snapshot-(\d+)\.jld$", name)
            if m and (best is None or int(m.group(1)) > best[0]):
                best = (int(m.group(1)), name)
    return best


def lr_shape(lr=0.001, momentum=0.9):
    """(plateau accuracy %, time constant in iterations) for a learning rate and momentum.

    SGD with momentum m moves about lr / (1 - m) per step; Mocha's example (lr 0.001, m 0.9) gives the tutorial's
    curve (about 80% near 70,000 iterations). A smaller step learns more slowly, a larger one faster but to a lower
    plateau (it overshoots), and a much larger one diverges to chance (10%): a plausible curve, not a real network.
    """
    step = lr / max(1e-9, 1.0 - momentum) / 0.01  # 1.0 for the example
    if step <= 0:
        return 10.0, float("inf")
    rel = math.log10(step)
    plateau = max(10.0, 80.0 - 12.0 * rel * rel) if rel < 1.5 else 10.0
    tau = 7000.0 / min(3.0, max(step, 0.02))
    return plateau, tau


def objective(it, lr=0.001, momentum=0.9):
    # A noisy decaying curve near the tutorial's values (about 0.6 by 50,000 iterations).
    plateau, tau = lr_shape(lr, momentum)
    floor = 0.55 + (80.0 - plateau) / 40.0
    return floor + 1.75 * math.exp(-it / (tau * 9.0 / 7.0)) + 0.08 * math.sin(it * 12.9898) ** 2


def accuracy(it, lr=0.001, momentum=0.9):
    plateau, tau = lr_shape(lr, momentum)
    return plateau - (plateau - 10.0) * math.exp(-it / tau) + 0.6 * math.sin(it * 78.233)


def backend_is_gpu(cfg):
    return cfg["gpu"] or os.environ.get("MOCHA_USE_CUDA", "").lower() == "true"


def smoke(text):
    """mocha-gpu-smoke.jl (roles/mocha/files): using Mocha, init a GPUBackend, one conv forward on GPU and CPU."""
    try:
        mocha = fakeruntime.using_mocha()
        fakeruntime.gpu_backend_init(mocha)
    except fakeruntime.JuliaError as exc:
        sys.stderr.write(f"ERROR: LoadError: {exc}\n")
        return 1
    print("MOCHA_CLOUD_SMOKE ok max_abs_diff=0.0 size=(16, 16, 8, 4) (FAKE julia: no GPU computed anything)")
    return 0


def main(argv):
    if not argv:
        fail("usage: julia SCRIPT.jl [args]")
    script = argv[0]
    try:
        with open(script) as handle:
            text = handle.read()
    except OSError as exc:
        fail(f"could not open file {script}: {exc}")
    if "MOCHA_CLOUD_SMOKE" in text and "GPUBackend()" in text:
        return smoke(text)
    cfg = parse_script(text)
    if "using Mocha" not in text or cfg["max_iter"] is None:
        fail(f"{script} does not look like Mocha's cifar10.jl (no 'using Mocha' or max_iter)")
    if cfg["gpu"] and os.environ.get("MOCHA_USE_CUDA", "").lower() not in ("true", "1", "yes"):
        fail("UndefVarError: GPUBackend not defined (MOCHA_USE_CUDA is not set)")
    try:
        mocha = fakeruntime.using_mocha() if fakeruntime.package_dir("Mocha") else ""
        if backend_is_gpu(cfg):
            fakeruntime.gpu_backend_init(mocha)
    except fakeruntime.JuliaError as exc:
        fail(str(exc))
    for key in ("train_source", "test_source"):
        if cfg[key] is None:
            fail(f"no HDF5DataLayer {key} in {script}")
        check_source(cfg[key])

    backend = "GPUBackend" if backend_is_gpu(cfg) else "CPUBackend"
    log(f"FAKE julia (tests/fakes/julia/train.py) emulating Mocha; backend {backend}, pid {os.getpid()}")
    log(f"Constructing net CIFAR10-train on {backend}...")
    pace = float(os.environ.get("FAKE_MOCHA_SECONDS_PER_ITER", "0.0002"))
    fail_at = int(os.environ.get("FAKE_MOCHA_FAIL_AT", "0") or 0)

    start = 0
    latest = latest_snapshot(cfg["load_from"])
    if latest:
        start = latest[0]
        snap = os.path.join(cfg["load_from"], latest[1])
        with open(snap, "rb") as handle:
            handle.seek(512)
            if handle.read(8) != b"\x89HDF\r\n\x1a\n":
                fail(f"{snap} is not a JLD (HDF5) file")  # as Mocha's load_snapshot fails on a truncated file
        log(f"Loading existing model from {snap}")
    snap_dir = cfg["snapshot_dir"]
    if snap_dir:
        if os.path.isdir(snap_dir):
            log(f"Snapshot directory {snap_dir} already exists")
        else:
            log(f"Snapshot directory {snap_dir} does not exist, creating...")
            os.makedirs(snap_dir)

    def on_term(signum, _frame):
        log(f"Interrupted by signal {signum}", "WARNING")
        sys.exit(128 + signum)

    signal.signal(signal.SIGTERM, on_term)
    signal.signal(signal.SIGINT, on_term)

    step = math.gcd(math.gcd(cfg["summary_every"], cfg["snapshot_every"]), cfg["validation_every"])
    it = start
    while it < cfg["max_iter"]:
        nxt = min(cfg["max_iter"], (it // step + 1) * step)
        time.sleep(pace * (nxt - it))
        hold = os.environ.get("FAKE_MOCHA_HOLD_FILE")
        hold_at = int(os.environ.get("FAKE_MOCHA_HOLD_AT") or cfg["max_iter"] - 1)
        while nxt > hold_at and hold and os.path.exists(hold):
            time.sleep(0.2)
        it = nxt
        if fail_at and it >= fail_at:
            fail(f"FAKE_MOCHA_FAIL_AT={fail_at} reached")
        if it % cfg["summary_every"] == 0:
            log(f"{it:06d} :: TRAIN obj-val = {objective(it, cfg['lr'], cfg['momentum']):.8f}")
        if snap_dir and it % cfg["snapshot_every"] == 0:
            name = f"snapshot-{it:06d}.jld"
            log(f"Saving snapshot to {name}...")
            # Like JLD: written in place (a reader may see it half written), a 512-byte user block, then the
            # HDF5 signature, then the data (here JSON, not real HDF5).
            with open(os.path.join(snap_dir, name), "wb") as handle:
                handle.write(b"Julia data file (HDF5), version 0.1.3".ljust(512, b"\0"))
                handle.flush()
                time.sleep(float(os.environ.get("FAKE_MOCHA_SNAPSHOT_WRITE_SECONDS", "0")))  # widen the half-written window
                handle.write(b"\x89HDF\r\n\x1a\n")
                handle.write(json.dumps({"fake": True, "iter": it,
                                         "note": "FAKE snapshot from tests/fakes/julia/train.py"}).encode())
            for layer in ("conv1", "conv2", "conv3", "ip1"):
                log(f"Saving parameters for layer {layer}", "DEBUG")
        if it % cfg["validation_every"] == 0:
            log("")
            log("## Performance on Validation Set")
            log("---------------------------------------------------------")
            log(f"  Accuracy (avg over 10000) = {accuracy(it, cfg['lr'], cfg['momentum']):.4f}%")
            log("---------------------------------------------------------")
            log("")
    log(f"Training finished at iteration {it:06d}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
