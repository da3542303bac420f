"""module_utils/mocha_log.py: real log lines from Mocha's CIFAR-10 tutorial (tests/fixtures/mocha-log) to curves, rates
and metrics."""

import json

import pytest
from ansible_collections.mocha.cloud.plugins.module_utils import job
from ansible_collections.mocha.cloud.plugins.module_utils import mocha_log as log_utils
from conftest import FIXTURES

LOGS = FIXTURES / "mocha-log"
TUTORIAL_GPU = (LOGS / "tutorial-gpu.log").read_text()
TUTORIAL_CPU = (LOGS / "tutorial-cpu.log").read_text()
MEMENTO = (LOGS / "memento-format.log").read_text()


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
    line = job.progress_line(prog)
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
    assert job.progress_line(prog) == "iteration 0/70000 (0.0%), objective n/a, last test accuracy n/a, n/a it/s, ETA unknown"


V031_RESUMED = """Configuring Mocha...
 * CUDA       disabled by default
 * Native Ext enabled (MOCHA_USE_NATIVE_EXT environment variable detected)
Mocha configured, continue loading module...
Loading native extension libmochaext.so...
Native extension loaded
[2017-11-22 16:00:00 | info | Mocha]: Constructing net CIFAR10-train on Mocha.CPUBackend...
[2017-11-22 16:00:01 | info | Mocha]: Loading existing model from /srv/my runs/snapshots/snapshot-050000.jld
[2017-11-22 16:00:01 | info | Mocha]: Snapshot directory /srv/my runs/snapshots already exists
[2017-11-22 16:00:02 | info | Mocha]:  TRAIN iter=050000 obj_val=0.79003465
[2017-11-22 16:00:02 | info | Mocha]: Saving snapshot to snapshot-050000.jld...
[2017-11-22 16:00:02 | warn | Mocha]: Overwriting /srv/my runs/snapshots/snapshot-050000.jld...
[2017-11-22 16:00:08 | info | Mocha]:  TRAIN iter=050200 obj_val=0.61519235
"""


@pytest.mark.parametrize(("text", "start", "last"), [
    (V031_RESUMED, 50000, 50200),
    (MEMENTO, 0, 49200),  # a summary before any load: trained from where it began, without a snapshot
    ("Configuring Mocha...\n[2017-11-22 16:00:00 | info | Mocha]: Setup layers...\n", None, 0),  # says neither yet
    ("22-Nov 15:05:26:INFO:root:Loading existing model from snapshots/snapshot-000400.jld\n"
     "22-Nov 15:05:33:INFO:root:000600 :: TRAIN obj-val = 0.61519235\n", 400, 600),  # Mocha <= 0.1
    ("[2017-11-22 16:00:01 | info | Mocha]: Loading existing model from /srv/caffe.hdf5\n", 0, 0),  # not a snapshot
])
def test_start_and_last_iteration(text, start, last):
    assert log_utils.start_iteration(text) == start
    assert log_utils.last_iteration(text) == last


def test_resume_of_v031_keeps_the_whole_path():
    parsed = log_utils.parse_mocha_log(V031_RESUMED)
    assert parsed["resumed_from"] == ["/srv/my runs/snapshots/snapshot-050000.jld"]
    assert [(r["iter"], r["file"]) for r in parsed["resumes"]] == [(50000, "/srv/my runs/snapshots/snapshot-050000.jld")]
    assert [p["iter"] for p in parsed["train"]] == [50000, 50200]
    assert parsed["snapshots"] == [{"iter": 50000, "file": "snapshot-050000.jld"}]
    assert log_utils.seconds_per_interval(parsed["train_all"]) == 6
    assert parsed["last_t"] - parsed["first_t"] == 8  # from the first Memento line; Config's println lines carry no time


@pytest.mark.parametrize(("path", "iteration"), [
    ("/var/lib/mocha-cifar10/run/snapshots/snapshot-050000.jld", 50000),
    ("snapshot-000400.jld", 400),
    ("/srv/run/my snapshots/snapshot-000400.jld", 400),
    ("/srv/run/snapshots/old-snapshot-000400.jld", 0),  # not a snapshot's name: a model loaded, training from the start
    ("/srv/run/snapshots/snapshot-\u0663\u0663.jld", 0),  # the name rule's digits are ASCII
    ("/srv/model.jld", 0),
])
def test_a_loaded_models_iteration_follows_the_snapshot_name_rule(path, iteration):
    assert log_utils.snapshot_iteration(path) == iteration
    line = f"[2017-11-22 16:00:02 | info | Mocha]: Loading existing model from {path}\n"
    assert log_utils.start_iteration(line) == iteration
    assert log_utils.parse_mocha_log(line)["resumes"] == [{"iter": iteration, "file": path, "t": pytest.approx(1511366402.0)}]


def test_the_log_patterns_are_built_from_the_one_name_rule():
    from ansible_collections.mocha.cloud.plugins.module_utils import snapshot_state

    assert log_utils.SNAPSHOT_NAME is snapshot_state.SNAPSHOT_NAME
    saved = "[2017-11-22 15:05:26 | info | Mocha]: Saving snapshot to snapshot-050000.jld...\n"
    assert log_utils.parse_mocha_log(saved)["snapshots"] == [{"iter": 50000, "file": "snapshot-050000.jld"}]
    odd = "[2017-11-22 15:05:26 | info | Mocha]: Saving snapshot to snapshot-\u0663\u0663.jld...\n"
    assert log_utils.parse_mocha_log(odd)["snapshots"] == []
