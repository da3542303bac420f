"""The FAKE julia's training emulator (tests/fakes/julia/train.py): its output is a Mocha log that
module_utils/mocha_log.py reads like a real one, it resumes from its last snapshot after a failure, and it checks
its inputs as Mocha would."""

import os
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
        capture_output=True, text=True, env=dict(os.environ, FAKE_MOCHA_SECONDS_PER_ITER="0", **(env or {})), check=False,
    )


def test_fake_training_output_parses_and_resumes(tmp_path):
    out = _fake_run(tmp_path, 1000, {"FAKE_MOCHA_FAIL_AT": "700"})
    assert out.returncode == 1 and "FAKE_MOCHA_FAIL_AT=700" in out.stderr
    assert sorted(os.listdir(tmp_path / "snapshots")) == ["snapshot-000500.jld"]
    first = log_utils.parse_mocha_log(out.stdout)
    assert [p["iter"] for p in first["train"]] == [100, 200, 300, 400, 500, 600]
    assert [v["iter"] for v in first["validation"]] == [200, 400, 600]

    out = _fake_run(tmp_path, 1000)
    assert out.returncode == 0, out.stderr
    parsed = log_utils.parse_mocha_log(out.stdout)
    assert parsed["resumed_from"] == [str(tmp_path / "snapshots" / "snapshot-000500.jld")]
    assert [p["iter"] for p in parsed["train"]] == [600, 700, 800, 900, 1000]
    assert [v["iter"] for v in parsed["validation"]] == [600, 800, 1000]
    assert 10 < parsed["validation"][-1]["accuracy"] < 100
    assert sorted(os.listdir(tmp_path / "snapshots")) == ["snapshot-000500.jld", "snapshot-001000.jld"]
    doc = log_utils.metrics(parsed, 1000, 100)
    assert doc["completed"] is True and doc["iterations"] == 1000


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
    assert seen == ["snapshot-000500.jld"]  # held at 500 until let go
    train = [p["iter"] for p in log_utils.parse_mocha_log(out.stdout)["train"]]
    assert train == [100, 200, 300, 400, 500, 600, 700, 800, 900, 1000]
    assert sorted(os.listdir(tmp_path / "snapshots")) == ["snapshot-000500.jld", "snapshot-001000.jld"]
