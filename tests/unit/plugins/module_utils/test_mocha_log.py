"""Mocha log parsing: real log lines from Mocha's CIFAR-10 tutorial, and the fake julia's training output."""

import json
import os
import subprocess
import sys

import pytest
from ansible.errors import AnsibleFilterError
from ansible_collections.mocha.cloud.plugins.filter import mocha_log
from ansible_collections.mocha.cloud.plugins.module_utils import mocha_log as log_utils
from conftest import REPO

# Verbatim from Mocha.jl's docs/tutorial/cifar10.rst (v0.3.1), section "CUDA with cuDNN".
TUTORIAL_GPU = """\
22-Nov 15:04:47:INFO:root:048600 :: TRAIN obj-val = 0.53777266
22-Nov 15:04:52:INFO:root:048800 :: TRAIN obj-val = 0.60837102
22-Nov 15:04:58:INFO:root:049000 :: TRAIN obj-val = 0.79333639
22-Nov 15:04:59:INFO:root:
22-Nov 15:04:59:INFO:root:## Performance on Validation Set
22-Nov 15:04:59:INFO:root:---------------------------------------------------------
22-Nov 15:04:59:INFO:root:  Accuracy (avg over 10000) = 76.5900%
22-Nov 15:04:59:INFO:root:---------------------------------------------------------
22-Nov 15:04:59:INFO:root:
22-Nov 15:05:04:INFO:root:049200 :: TRAIN obj-val = 0.62640750
22-Nov 15:05:10:INFO:root:049400 :: TRAIN obj-val = 0.57287318
22-Nov 15:05:15:INFO:root:049600 :: TRAIN obj-val = 0.53166425
22-Nov 15:05:21:INFO:root:049800 :: TRAIN obj-val = 0.60679358
22-Nov 15:05:26:INFO:root:050000 :: TRAIN obj-val = 0.79003465
22-Nov 15:05:26:INFO:root:Saving snapshot to snapshot-050000.jld...
22-Nov 15:05:26:DEBUG:root:Saving parameters for layer conv1
22-Nov 15:05:26:DEBUG:root:Saving parameters for layer conv2
22-Nov 15:05:26:DEBUG:root:Saving parameters for layer conv3
22-Nov 15:05:26:DEBUG:root:Saving parameters for layer ip1
22-Nov 15:05:27:INFO:root:
22-Nov 15:05:27:INFO:root:## Performance on Validation Set
22-Nov 15:05:27:INFO:root:---------------------------------------------------------
22-Nov 15:05:27:INFO:root:  Accuracy (avg over 10000) = 76.5200%
22-Nov 15:05:27:INFO:root:---------------------------------------------------------
22-Nov 15:05:27:INFO:root:
22-Nov 15:05:33:INFO:root:050200 :: TRAIN obj-val = 0.61519235
22-Nov 15:05:38:INFO:root:050400 :: TRAIN obj-val = 0.57314044
"""

# Verbatim from the same page, "CPU with Native Extension" (about 160 s per 200 iterations).
TUTORIAL_CPU = """\
20-Nov 09:29:10:INFO:root:000800 :: TRAIN obj-val = 1.46420457
20-Nov 09:31:48:INFO:root:001000 :: TRAIN obj-val = 1.63248945
20-Nov 09:32:22:INFO:root:
20-Nov 09:32:22:INFO:root:## Performance on Validation Set
20-Nov 09:32:22:INFO:root:---------------------------------------------------------
20-Nov 09:32:22:INFO:root:  Accuracy (avg over 10000) = 44.4300%
20-Nov 09:32:22:INFO:root:---------------------------------------------------------
20-Nov 09:32:22:INFO:root:
20-Nov 09:35:00:INFO:root:001200 :: TRAIN obj-val = 1.33312901
20-Nov 09:37:38:INFO:root:001400 :: TRAIN obj-val = 1.40529397
20-Nov 09:40:16:INFO:root:001600 :: TRAIN obj-val = 1.26366557
20-Nov 09:42:54:INFO:root:001800 :: TRAIN obj-val = 1.29758151
20-Nov 09:45:32:INFO:root:002000 :: TRAIN obj-val = 1.40923050
20-Nov 09:46:06:INFO:root:
20-Nov 09:46:06:INFO:root:## Performance on Validation Set
20-Nov 09:46:06:INFO:root:---------------------------------------------------------
20-Nov 09:46:06:INFO:root:  Accuracy (avg over 10000) = 51.0400%
20-Nov 09:46:06:INFO:root:---------------------------------------------------------
20-Nov 09:46:06:INFO:root:
20-Nov 09:48:44:INFO:root:002200 :: TRAIN obj-val = 1.24579735
20-Nov 09:51:22:INFO:root:002400 :: TRAIN obj-val = 1.22985339
"""

# Mocha 0.2+ logs through Memento ("[{date} | {level} | {name}]: {msg}", src/logging.jl) and
# TrainingSummary prints " TRAIN iter=%06d obj_val=%.8f". Constructed from that format (no captured log
# of v0.3.1 exists here); the values are the tutorial's.
MEMENTO = """\
[2017-11-22 15:04:47 | info | Mocha]:  TRAIN iter=048600 obj_val=0.53777266
[2017-11-22 15:04:52 | info | Mocha]:  TRAIN iter=048800 obj_val=0.60837102
[2017-11-22 15:04:58 | info | Mocha]:  TRAIN iter=049000 obj_val=0.79333639
[2017-11-22 15:04:59 | info | Mocha]:
[2017-11-22 15:04:59 | info | Mocha]: ## Performance on Validation Set after 49000 iterations
[2017-11-22 15:04:59 | info | Mocha]: ---------------------------------------------------------
[2017-11-22 15:04:59 | info | Mocha]:   Accuracy (avg over 10000) = 76.5900%
[2017-11-22 15:04:59 | info | Mocha]: ---------------------------------------------------------
[2017-11-22 15:05:04 | info | Mocha]:  TRAIN iter=049200 obj_val=0.62640750
"""


def test_tutorial_gpu_log_curves():
    parsed = log_utils.parse_mocha_log(TUTORIAL_GPU)
    assert [p["iter"] for p in parsed["train"]] == list(range(48600, 50401, 200))
    assert parsed["train"][0]["obj"] == pytest.approx(0.53777266)
    assert parsed["train"][-1]["obj"] == pytest.approx(0.57314044)
    # Validation results belong to the last training summary before them.
    assert [(v["iter"], v["accuracy"], v["n"]) for v in parsed["validation"]] == [(49000, 76.59, 10000), (50000, 76.52, 10000)]
    assert parsed["snapshots"] == [{"iter": 50000, "file": "snapshot-050000.jld"}]
    assert parsed["last_t"] - parsed["first_t"] == 51  # 15:04:47 -> 15:05:38


def test_tutorial_gpu_seconds_per_200_and_metrics():
    doc = log_utils.metrics(log_utils.parse_mocha_log(TUTORIAL_GPU), 70000, extra={"backend": "gpu"})
    # The tutorial says "5~6 seconds to finish every 200 iterations on the GPUBackend".
    assert 5 <= doc["seconds_per_200_iterations"] <= 6
    assert doc["iterations"] == 50400 and doc["completed"] is False
    assert doc["final_accuracy"] == 76.52
    assert doc["accuracy_curve"] == [[49000, 76.59], [50000, 76.52]]
    assert doc["objective_curve"][0] == [48600, 0.53777266]
    assert doc["backend"] == "gpu" and doc["wall_time_s"] == 51
    json.dumps(doc)  # serialisable as metrics.json


def test_tutorial_cpu_log_rate_and_progress():
    parsed = log_utils.parse_mocha_log(TUTORIAL_CPU)
    # "it takes roughly 160 seconds to finish every 200 iterations": 1600 iterations in 1332 s,
    # the two validation passes included.
    assert log_utils.seconds_per_interval(parsed["train"]) == 166.5
    prog = log_utils.progress(parsed, 70000)
    assert prog["iteration"] == 2400 and prog["objective"] == pytest.approx(1.22985339)
    assert (prog["last_accuracy"], prog["last_accuracy_iter"]) == (51.04, 2000)
    # Over the last five summaries (1400 -> 2400), validation pauses included: 1000 iterations in 824 s.
    assert prog["it_per_s"] == round(1000 / 824, 3)
    assert prog["eta_s"] == pytest.approx((70000 - 2400) * 824 / 1000, rel=0.01)
    line = log_utils.progress_line(prog)
    assert line.startswith("iteration 2400/70000 (3.4%), objective 1.2299, last test accuracy 51.04% (at 2000), ")
    assert "ETA 15h28m" in line


def test_memento_format_of_mocha_02():
    parsed = log_utils.parse_mocha_log(MEMENTO)
    assert [p["iter"] for p in parsed["train"]] == [48600, 48800, 49000, 49200]
    assert parsed["validation"] == [{"iter": 49000, "accuracy": 76.59, "n": 10000, "t": parsed["validation"][0]["t"]}]
    assert parsed["last_t"] - parsed["first_t"] == 17


def test_log_without_year_crossing_new_year():
    text = "31-Dec 23:59:50:INFO:root:000200 :: TRAIN obj-val = 2.0\n01-Jan 00:00:02:INFO:root:000400 :: TRAIN obj-val = 1.9\n"
    parsed = log_utils.parse_mocha_log(text)
    assert parsed["last_t"] - parsed["first_t"] == 12


def test_resumed_log_rate_ignores_the_gap():
    text = (
        "20-Nov 09:00:00:INFO:root:000200 :: TRAIN obj-val = 2.0\n"
        "20-Nov 09:00:10:INFO:root:000400 :: TRAIN obj-val = 1.9\n"
        "20-Nov 09:00:20:INFO:root:000600 :: TRAIN obj-val = 1.8\n"
        "20-Nov 11:00:00:INFO:root:Loading existing model from snapshots/snapshot-000400.jld\n"
        "20-Nov 11:00:10:INFO:root:000600 :: TRAIN obj-val = 1.8\n"
        "20-Nov 11:00:20:INFO:root:000800 :: TRAIN obj-val = 1.7\n"
    )
    parsed = log_utils.parse_mocha_log(text)
    assert parsed["resumed_from"] == ["snapshots/snapshot-000400.jld"]
    assert log_utils.seconds_per_interval(parsed["train_all"]) == 10
    assert log_utils.progress(parsed, 1000)["it_per_s"] == 20.0
    # Iteration 600 was reached, lost, and redone: the curve holds it once, from the session that went on.
    assert [(p["iter"], p["t"] % 86400) for p in parsed["train"]] == [(200, 32400), (400, 32410), (600, 39610), (800, 39620)]
    assert [(r["iter"], r["file"]) for r in parsed["resumes"]] == [(400, "snapshots/snapshot-000400.jld")]
    m = log_utils.metrics(parsed, 800)
    assert m["resumes"] == [{"iteration": 400, "snapshot": "snapshots/snapshot-000400.jld"}]
    assert [p[0] for p in m["objective_curve"]] == [200, 400, 600, 800] and m["seconds_per_200_iterations"] == 10


def test_restart_without_a_snapshot_counts_each_iteration_once():
    text = (
        "20-Nov 09:00:00:INFO:root:000200 :: TRAIN obj-val = 2.0\n"
        "20-Nov 09:00:10:INFO:root:000400 :: TRAIN obj-val = 1.9\n"
        "20-Nov 09:00:11:INFO:root:  Accuracy (avg over 10000) = 20.0000%\n"
        "20-Nov 10:00:00:INFO:root:000200 :: TRAIN obj-val = 2.1\n"
        "20-Nov 10:00:10:INFO:root:000400 :: TRAIN obj-val = 1.8\n"
        "20-Nov 10:00:11:INFO:root:  Accuracy (avg over 10000) = 25.0000%\n"
    )
    parsed = log_utils.parse_mocha_log(text)
    assert [(p["iter"], p["obj"]) for p in parsed["train"]] == [(200, 2.1), (400, 1.8)]
    assert [(v["iter"], v["accuracy"]) for v in parsed["validation"]] == [(400, 25.0)]
    assert [r["iter"] for r in parsed["resumes"]] == [0]


def test_empty_log_progress():
    prog = log_utils.progress(log_utils.parse_mocha_log("julia: starting\n"), 70000)
    assert prog["iteration"] == 0 and prog["eta_s"] is None and prog["it_per_s"] is None
    assert log_utils.progress_line(prog) == "iteration 0/70000 (0.0%), objective n/a, last test accuracy n/a, n/a it/s, ETA unknown"


def test_filters_validate_input():
    assert mocha_log.mocha_progress(TUTORIAL_GPU, "70000")["iteration"] == 50400
    assert "line" in mocha_log.mocha_progress(TUTORIAL_GPU, 70000)
    with pytest.raises(AnsibleFilterError, match="max_iter must be a whole number"):
        mocha_log.mocha_progress(TUTORIAL_GPU, "lots")
    with pytest.raises(AnsibleFilterError, match="must be text"):
        mocha_log.mocha_log_parse(42)
    assert set(mocha_log.FilterModule().filters()) == {"mocha_log_parse", "mocha_progress", "mocha_metrics"}


# ---------------------------------------------------------------------------------------------
# The fake julia's training output parses the same way
# ---------------------------------------------------------------------------------------------

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
