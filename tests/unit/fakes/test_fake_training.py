"""The FAKE julia's training emulator (tests/fakes/julia/train.py): its output is a Mocha log that
module_utils/mocha_log.py reads like a real one, it resumes from its last snapshot after a failure, and it checks
its inputs as Mocha would."""

import os
import re
import subprocess
import sys

from ansible_collections.mocha.cloud.plugins.module_utils import mocha_log as log_utils
from conftest import REPO

SCRIPT = """using Mocha
data_tr_layer = HDF5DataLayer(name="data-train", source="{d}/train.txt", batch_size=100, shuffle=true)
data_tt_layer = HDF5DataLayer(name="data-test", source="{d}/test.txt", batch_size=100)
solver_params = make_solver_parameters(method, max_iter={max_iter},
    regu_coef=0.004, mom_policy=MomPolicy.Fixed(0.9), lr_policy=lr_policy,
    load_from="{d}/snapshots")
add_coffee_break(solver, TrainingSummary(), every_n_iter=100)
add_coffee_break(solver, Snapshot("{d}/snapshots"), every_n_iter=500)
add_coffee_break(solver, ValidationPerformance(test_net), every_n_iter=200)
"""


def _fake_run(tmp_path, max_iter, env=None):
    for name in ("train", "test"):
        (tmp_path / f"{name}.hdf5").write_bytes(b"\x89HDF\r\n\x1a\n" + b"\0" * 8)
        (tmp_path / f"{name}.txt").write_text(str(tmp_path / f"{name}.hdf5") + "\n")
    script = tmp_path / "cifar10.jl"
    script.write_text(SCRIPT.format(d=tmp_path, max_iter=max_iter))
    return subprocess.run(
        [sys.executable, str(REPO / "tests" / "fakes" / "julia" / "train.py"), str(script)],
        capture_output=True, text=True, check=False,
        env=dict({k: v for k, v in os.environ.items() if not k.startswith("MOCHA_")}, FAKE_MOCHA_SECONDS_PER_ITER="0", **(env or {})),
    )


def test_fake_training_output_parses_and_resumes(tmp_path):
    out = _fake_run(tmp_path, 1000, {"FAKE_MOCHA_FAIL_AT": "700"})
    assert out.returncode == 1 and "FAKE_MOCHA_FAIL_AT=700" in out.stderr
    # init_solve runs the coffee breaks once before the first step: iteration 0 is summarised, saved and validated.
    assert sorted(os.listdir(tmp_path / "snapshots")) == ["snapshot-000000.jld", "snapshot-000500.jld"]
    first = log_utils.parse_mocha_log(out.stdout)
    assert [p["iter"] for p in first["train"]] == [0, 100, 200, 300, 400, 500, 600]
    assert [v["iter"] for v in first["validation"]] == [0, 200, 400, 600]
    assert log_utils.start_iteration(out.stdout) == 0

    out = _fake_run(tmp_path, 1000)
    assert out.returncode == 0, out.stderr
    parsed = log_utils.parse_mocha_log(out.stdout)
    assert parsed["resumed_from"] == [str(tmp_path / "snapshots" / "snapshot-000500.jld")]
    assert log_utils.start_iteration(out.stdout) == 500
    # The iteration it loaded is summarised and saved again at the start, as Mocha does.
    assert [p["iter"] for p in parsed["train"]] == [500, 600, 700, 800, 900, 1000]
    assert [v["iter"] for v in parsed["validation"]] == [600, 800, 1000]
    assert f"| warn | Mocha]: Overwriting {tmp_path}/snapshots/snapshot-000500.jld..." in out.stdout
    assert 10 < parsed["validation"][-1]["accuracy"] < 100
    assert sorted(os.listdir(tmp_path / "snapshots")) == ["snapshot-000000.jld", "snapshot-000500.jld", "snapshot-001000.jld"]
    doc = log_utils.metrics(parsed, 1000, 100)
    assert doc["completed"] is True and doc["iterations"] == 1000


# What Mocha v0.3.1 prints (pluskid/Mocha.jl at v0.3.1): src/config.jl's println lines, then through Memento
# (src/logging.jl: "[{date} | {level} | {name}]: {msg}", level info) src/net.jl, src/solvers.jl (load_snapshot),
# src/coffee/snapshot.jl, src/coffee/training-summary.jl with format_statistic ("%s=%06d", "%s=%.8f"),
# src/coffee/validation-performance.jl and src/layers/accuracy.jl ("%.4f%%").
MEMENTO = r"\[\d{4}-\d\d-\d\d \d\d:\d\d:\d\d \| (info|warn) \| Mocha\]: "
V031 = [
    r"Configuring Mocha\.\.\.",
    r" \* CUDA       disabled by default",
    r" \* Native Ext disabled by default",
    r"Mocha configured, continue loading module\.\.\.",
    MEMENTO + r"Constructing net CIFAR10-train on Mocha\.CPUBackend\.\.\.",
    MEMENTO + r"Topological sorting 11 layers\.\.\.",
    MEMENTO + r"Setup layers\.\.\.",
    MEMENTO + r"Network constructed!",
    MEMENTO + r"Constructing net CIFAR10-test on Mocha\.CPUBackend\.\.\.",
    MEMENTO + r"Topological sorting 11 layers\.\.\.",
    MEMENTO + r"Setup layers\.\.\.",
    MEMENTO + r"Network constructed!",
    MEMENTO + r"Loading existing model from {d}/snapshots/snapshot-000500\.jld",
    MEMENTO + r"Snapshot directory {d}/snapshots already exists",
    MEMENTO + r" TRAIN iter=000500 obj_val=\d\.\d{8}",
    MEMENTO + r"Saving snapshot to snapshot-000500\.jld\.\.\.",
    MEMENTO + r"Overwriting {d}/snapshots/snapshot-000500\.jld\.\.\.",
    MEMENTO + r" TRAIN iter=000600 obj_val=\d\.\d{8}",
    MEMENTO + r"",
    MEMENTO + r"## Performance on Validation Set after 600 iterations",
    MEMENTO + r"-{57}",
    MEMENTO + r"  Accuracy \(avg over 10000\) = \d+\.\d{4}%",
    MEMENTO + r"-{57}",
    MEMENTO + r"",
]


def test_fake_training_logs_as_mocha_031(tmp_path):
    """Line for line, the fake's log of a resumed run is what Mocha v0.3.1 writes (a fresh run: iteration 0 first)."""
    fresh = _fake_run(tmp_path, 500)
    assert fresh.returncode == 0, fresh.stderr
    lines = [line for line in fresh.stdout.splitlines() if not line.startswith("FAKE julia")]
    assert re.fullmatch(MEMENTO + "Snapshot directory .* does not exist, creating...", lines[12])
    assert re.fullmatch(MEMENTO + " TRAIN iter=000000 obj_val=[0-9.]+", lines[13]) and "snapshot-000000.jld" in lines[14]
    resumed = _fake_run(tmp_path, 600, {"MOCHA_USE_NATIVE_EXT": "false"})
    assert resumed.returncode == 0, resumed.stderr
    lines = [line for line in resumed.stdout.splitlines() if not line.startswith("FAKE julia")]
    want = [pattern.replace("{d}", re.escape(str(tmp_path))) for pattern in V031]
    assert len(lines) == len(want), resumed.stdout
    for line, pattern in zip(lines, want, strict=True):
        assert re.fullmatch(pattern, line), (line, pattern)


def test_fake_training_reads_mochas_switches_as_mocha_does(tmp_path):
    """src/config.jl's parseEnvBool: a switch is on when set to anything but "false" ("0" too), off when unset."""
    on = _fake_run(tmp_path, 100, {"MOCHA_USE_NATIVE_EXT": "0"})
    assert " * Native Ext enabled (MOCHA_USE_NATIVE_EXT environment variable detected)" in on.stdout.splitlines()
    assert "Loading native extension libmochaext.so..." in on.stdout
    off = _fake_run(tmp_path, 200, {"MOCHA_USE_NATIVE_EXT": "False"})
    assert " * Native Ext disabled by default" in off.stdout.splitlines()


def test_fake_training_checks_its_inputs(tmp_path):
    out = _fake_run(tmp_path, 1000)
    (tmp_path / "test.txt").unlink()
    out = _fake_run(tmp_path, 1000)
    assert out.returncode == 0  # it rewrote the lists
    (tmp_path / "snapshots" / "snapshot-001000.jld").unlink()
    script = tmp_path / "cifar10.jl"
    script.write_text(script.read_text().replace("test.txt", "missing.txt"))
    out = subprocess.run(
        [sys.executable, str(REPO / "tests" / "fakes" / "julia" / "train.py"), str(script)],
        capture_output=True, text=True, check=False,
    )
    assert out.returncode == 1 and "missing.txt: no such file" in out.stderr


def test_the_hold_file_keeps_the_training_at_its_iteration_until_it_goes(tmp_path):
    """FAKE_MOCHA_HOLD_FILE / FAKE_MOCHA_HOLD_AT: the pipelines keep a run going at a known iteration however slow the
    machine (a controller that finds it running), then let it finish."""
    import threading
    import time

    hold = tmp_path / "hold"
    hold.write_text("hold\n")
    seen = []

    def let_go():
        seen.extend(sorted(os.listdir(tmp_path / "snapshots")))
        hold.unlink()

    threading.Timer(1.5, let_go).start()
    t0 = time.monotonic()
    out = _fake_run(tmp_path, 1000, {"FAKE_MOCHA_HOLD_FILE": str(hold), "FAKE_MOCHA_HOLD_AT": "500"})
    assert out.returncode == 0 and time.monotonic() - t0 >= 1.5, out.stderr
    # held at 500 until let go (a fresh run saves iteration 0 first, as Mocha v0.3.1's init_solve does)
    assert seen == ["snapshot-000000.jld", "snapshot-000500.jld"]
    train = [p["iter"] for p in log_utils.parse_mocha_log(out.stdout)["train"]]
    assert train == [0, 100, 200, 300, 400, 500, 600, 700, 800, 900, 1000]
    assert sorted(os.listdir(tmp_path / "snapshots")) == ["snapshot-000000.jld", "snapshot-000500.jld", "snapshot-001000.jld"]
