#!/usr/bin/env python3
"""FAKE Mocha CIFAR-10 training, for tests only: never a real Julia or Mocha.

The fake julia (tests/fakes/julia/julia) runs ``train.py SCRIPT.jl [args]`` for ``julia SCRIPT.jl``.
It can also be called directly the same way. It reads the rendered cifar10.jl with regexes:
max_iter, the HDF5DataLayer sources and batch size, the coffee-break intervals (TrainingSummary,
Snapshot, ValidationPerformance), the snapshot directory and load_from, the backend, and the first learning-rate
stage and the momentum, which shape the made-up curves (see lr_shape). Then, like Mocha v0.3.1 on Julia 0.6, it:
  - prints what ``using Mocha`` prints (src/config.jl, src/native.jl: "Configuring Mocha...", the CUDA and native
    extension switches as Mocha reads them: on when the variable is set to anything but "false");
  - fails when a data list or an HDF5 file it names is missing (or is not HDF5), or when the script
    asks for GPUBackend() without MOCHA_USE_CUDA on;
  - logs through Memento as Mocha's src/logging.jl configures it, at level info (debug lines are not shown):
    "[2017-11-22 15:04:52 | info | Mocha]:  TRAIN iter=048800 obj_val=0.60837102", the date in the host's local
    time, the messages of src/net.jl (net construction), src/solvers.jl (load_snapshot: "Loading existing model from
    DIR/snapshot-NNNNNN.jld", the snapshot with the newest modification time), src/coffee/*.jl (summary, snapshot,
    validation) and src/layers/accuracy.jl;
  - runs the coffee breaks once before the first step, at the iteration it starts from (init_solve in
    src/solvers.jl): a fresh run logs iteration 0 and saves snapshot-000000.jld; a resumed one logs the iteration it
    loaded and saves that snapshot again ("Overwriting ..."), in place;
  - writes snapshot files at the snapshot interval, in place like JLD (a 512-byte user block, the HDF5 signature,
    then JSON instead of real HDF5 data);
  - dies on SIGTERM without a word, as Julia does (no handler).
The made-up objective and test accuracy are plausible, not computed. Before Mocha's first line it prints one line
naming itself as the fake. Environment: FAKE_MOCHA_SECONDS_PER_ITER (default 0.0002) paces it, so tests can kill it
mid-run (FAKE_MOCHA_SNAPSHOT_WRITE_SECONDS, default 0, pauses in the middle of writing a snapshot);
FAKE_MOCHA_FAIL_AT=N makes it crash at iteration N; while the file FAKE_MOCHA_HOLD_FILE names exists, it waits before
any step beyond iteration FAKE_MOCHA_HOLD_AT (default: before its last step), so a test holds a run going, however slow
the machine, until it lets it go on. Standard library only.
"""

import json
import math
import os
import re
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.realpath(__file__)))
import fakeruntime  # noqa: E402  (beside this file: the fake runtime checks shared with the fake julia)


def log(msg, level="info"):
    """One line through Mocha's Memento logger: DefaultFormatter("[{date} | {level} | {name}]: {msg}"), the date as
    yyyy-mm-dd HH:MM:SS in the local time zone (Memento 0.10's DATE_FMT_STRING and localzone())."""
    stamp = time.strftime("%Y-%m-%d %H:%M:%S", time.localtime())
    sys.stdout.write(f"[{stamp} | {level} | Mocha]: {msg}\n")
    sys.stdout.flush()


def fail(msg):
    """An uncaught Julia error: on stderr, not through Mocha's logger."""
    sys.stdout.flush()
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
        "default_backend": bool(re.search(r"\bDefaultBackend\(\)", text)),
        # Net("CIFAR10-train", backend, [data_tr_layer, common_layers..., loss_layer]): the layers Mocha sorts.
        "common_layers": len(re.findall(r"\w+", first(r"common_layers\s*=\s*\[([^\]]*)\]", text, ""))) or 9,
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
    """(iteration, name) of the snapshot load_snapshot takes: the newest by modification time (Mocha's
    glob(path, r"^snapshot-[0-9]+\\.jld", sort_by=:mtime)[end]), or None."""
    found = []
    if directory and os.path.isdir(directory):
        for name in sorted(os.listdir(directory)):
            m = re.match(r"^snapshot-(\d+)\.jld$", name)
            if m:
                found.append((os.path.getmtime(os.path.join(directory, name)), int(m.group(1)), name))
    if not found:
        return None
    _mtime, it, name = max(found, key=lambda f: f[0])  # the first of equal times, as a stable sort's last would not be
    return it, name


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
    """GPUBackend(), or DefaultBackend() when Mocha was loaded with CUDA on (src/Mocha.jl)."""
    return cfg["gpu"] or (cfg["default_backend"] and fakeruntime.env_on("MOCHA_USE_CUDA"))


def using_mocha_lines():
    """What `using Mocha` prints before its logger is used (src/config.jl; src/native.jl's first line)."""
    print("Configuring Mocha...")
    if fakeruntime.env_on("MOCHA_USE_CUDA"):
        device = re.sub(r"\D", "", os.environ.get("MOCHA_CUDA_DEVICE", "")) or "0"
        print(f" * CUDA       enabled [DEV={int(device)}] (MOCHA_USE_CUDA environment variable detected)")
    else:
        print(" * CUDA       disabled by default")
    if fakeruntime.env_on("MOCHA_USE_NATIVE_EXT"):
        print(" * Native Ext enabled (MOCHA_USE_NATIVE_EXT environment variable detected)")
    else:
        print(" * Native Ext disabled by default")
    print("Mocha configured, continue loading module...")
    if fakeruntime.env_on("MOCHA_USE_NATIVE_EXT"):
        print("Loading native extension libmochaext.so...")
    sys.stdout.flush()


def construct_net(name, backend, layers, source):
    """Net(name, backend, layers) (src/net.jl); its data layer reads SOURCE while the layers are set up."""
    log(f"Constructing net {name} on Mocha.{backend}...")
    log(f"Topological sorting {layers} layers...")
    log("Setup layers...")
    check_source(source)
    log("Network constructed!")


def save_snapshot(snap_dir, it):
    """Snapshot's enjoy (src/coffee/snapshot.jl): the log line, a warning when the file is there, then JLD writes it
    in place (a reader may see it half written): a 512-byte user block, the HDF5 signature, then the data (here JSON,
    not real HDF5)."""
    name = f"snapshot-{it:06d}.jld"
    path = os.path.join(snap_dir, name)
    log(f"Saving snapshot to {name}...")
    if os.path.isfile(path):
        log(f"Overwriting {path}...", "warn")
    with open(path, "wb") as handle:
        handle.write(b"Julia data file (HDF5), version 0.1.3".ljust(512, b"\0"))
        handle.flush()
        time.sleep(float(os.environ.get("FAKE_MOCHA_SNAPSHOT_WRITE_SECONDS", "0")))  # widen the half-written window
        handle.write(b"\x89HDF\r\n\x1a\n")
        handle.write(json.dumps({"fake": True, "iter": it, "note": "FAKE snapshot from tests/fakes/julia/train.py"}).encode())


def validation(it, cfg):
    """ValidationPerformance's enjoy (src/coffee/validation-performance.jl) with AccuracyLayer's line."""
    log("")
    log(f"## Performance on Validation Set after {it} iterations")
    log("---------------------------------------------------------")
    log(f"  Accuracy (avg over 10000) = {accuracy(it, cfg['lr'], cfg['momentum']):.4f}%")
    log("---------------------------------------------------------")
    log("")


def coffee_breaks(it, cfg):
    """check_coffee_break: the breaks in the order cifar10.jl adds them, each when the iteration is a multiple of its
    interval."""
    if it % cfg["summary_every"] == 0:
        log(f" TRAIN iter={it:06d} obj_val={objective(it, cfg['lr'], cfg['momentum']):.8f}")
    if cfg["snapshot_dir"] and it % cfg["snapshot_every"] == 0:
        save_snapshot(cfg["snapshot_dir"], it)
    if it % cfg["validation_every"] == 0:
        validation(it, cfg)


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
    print(f"FAKE julia (tests/fakes/julia/train.py) emulating Mocha v0.3.1, pid {os.getpid()}", flush=True)
    using_mocha_lines()
    try:
        mocha = fakeruntime.using_mocha() if fakeruntime.package_dir("Mocha") else ""
    except fakeruntime.JuliaError as exc:
        fail(str(exc))
    if fakeruntime.env_on("MOCHA_USE_NATIVE_EXT"):
        print("Native extension loaded", flush=True)
    if cfg["gpu"] and not fakeruntime.env_on("MOCHA_USE_CUDA"):
        fail("UndefVarError: GPUBackend not defined (MOCHA_USE_CUDA is not set)")
    backend = "GPUBackend" if backend_is_gpu(cfg) else "CPUBackend"
    if backend == "GPUBackend":
        log("Initializing CuDNN backend...")
        try:
            fakeruntime.gpu_backend_init(mocha)
        except fakeruntime.JuliaError as exc:
            fail(str(exc))
        log("CuDNN backend initialized!")
    pace = float(os.environ.get("FAKE_MOCHA_SECONDS_PER_ITER", "0.0002"))
    fail_at = int(os.environ.get("FAKE_MOCHA_FAIL_AT", "0") or 0)
    for net, key in (("CIFAR10-train", "train_source"), ("CIFAR10-test", "test_source")):
        if cfg[key] is None:
            fail(f"no HDF5DataLayer {key} in {script}")
        construct_net(net, backend, cfg["common_layers"] + 2, cfg[key])

    # init_solve: load_snapshot, then the coffee lounge's setup (Snapshot's init), then the breaks at the start.
    start = 0
    latest = latest_snapshot(cfg["load_from"])
    if latest:
        start = latest[0]
        snap = os.path.join(cfg["load_from"], latest[1])
        log(f"Loading existing model from {snap}")
        with open(snap, "rb") as handle:
            handle.seek(512)
            if handle.read(8) != b"\x89HDF\r\n\x1a\n":
                fail(f"{snap} is not a JLD (HDF5) file")  # as Mocha's load_snapshot fails on a truncated file
    snap_dir = cfg["snapshot_dir"]
    if snap_dir:
        if os.path.isdir(snap_dir):
            log(f"Snapshot directory {snap_dir} already exists")
        else:
            log(f"Snapshot directory {snap_dir} does not exist, creating...")
            os.makedirs(snap_dir)
    coffee_breaks(start, cfg)

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
        coffee_breaks(it, cfg)
    if backend == "GPUBackend":  # shutdown(backend) at the end of cifar10.jl
        log("Shutting down CuDNN backend...")
        log("CuDNN Backend shutdown finished!")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
