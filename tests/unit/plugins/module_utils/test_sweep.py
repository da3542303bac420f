"""Hyperparameter sweeps (plugins/module_utils/sweep.py, filters mocha.cloud.sweep_*): checks, fleet, assignment,
comparison; the run plan of a sweep; the comparison plot; the FAKE training's dependence on the learning rate."""

import importlib.util
import json
import subprocess
import sys

import pytest
import yaml
from ansible.errors import AnsibleFilterError
from ansible_collections.mocha.cloud.plugins.filter import sweep as filters
from ansible_collections.mocha.cloud.plugins.module_utils import run_plan as rp
from ansible_collections.mocha.cloud.plugins.module_utils import sweep
from conftest import REPO


def load(name, path):
    spec = importlib.util.spec_from_file_location(name, path)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


fake_train = load("fake_julia_train_sweep", REPO / "tests" / "fakes" / "julia" / "train.py")
plot_sweep = load("plot_sweep", REPO / "playbooks" / "files" / "plot_sweep.py")

THREE = {"name": "lr-scan", "variants": [{"name": "low", "lr": 0.0001}, {"name": "base"},
                                         {"name": "high", "lr": 0.003, "max_iter": 1000, "backend": "gpu"}]}


def problems(sweep_settings, **kw):
    with pytest.raises(sweep.SweepError) as err:
        sweep.plan(sweep_settings, **kw)
    return err.value.problems


# --- plan: each variant completed --------------------------------------------------------------------------

def test_a_variant_takes_what_it_does_not_set_from_the_settings_then_the_roles_defaults():
    p = sweep.plan(THREE, {"max_iter": 400, "momentum": None})
    low, base, high = p["variants"]
    assert base == dict(base, lr=0.001, momentum=0.9, weight_decay=0.004, batch_size=100, max_iter=400, backend=None,
                        environment={}, run_id="lr-scan--base", results_subdir="lr-scan/base")
    assert (high["max_iter"], high["backend"]) == (1000, "gpu")
    assert base["settings"] == "lr 0.001, momentum 0.9, weight decay 0.004, batch 100, 400 iterations, backend as configured"


def test_lr_is_the_first_stage_and_the_later_stages_keep_their_ratio():
    p = sweep.plan(THREE, {"max_iter": 400})
    assert [v["lr_stages"] for v in p["variants"]] == [
        [[60000, 0.0001], [5000, 1e-05], [5000, 1e-06]],
        [[60000, 0.001], [5000, 0.0001], [5000, 1e-05]],
        [[60000, 0.003], [5000, 0.0003], [5000, 3e-05]],
    ]
    own = sweep.plan(THREE, {"max_iter": 400, "lr_stages": [[300, 0.01], [100, 0.005]]})
    assert own["variants"][1]["lr"] == 0.01 and own["variants"][0]["lr_stages"] == [[300, 0.0001], [100, 5e-05]]


def test_role_defaults_in_step_with_the_cifar10_role():
    defaults = yaml.safe_load((REPO / "roles/cifar10/defaults/main.yml").read_text())
    for key, value in sweep.ROLE_DEFAULTS.items():
        assert defaults[f"cifar10_{key}"] == value, key


# --- plan: the fleet -----------------------------------------------------------------------------------------

def test_aws_launches_one_instance_per_variant_unless_capped():
    assert sweep.plan(THREE, {"max_iter": 400})["hosts"] == 3
    capped = sweep.plan(dict(THREE, hosts=2), {"max_iter": 400})
    assert capped["hosts"] == 2 and capped["queues"] == [["low", "high"], ["base"]]
    assert capped["queue_runs"][0] == [{"name": "low", "max_iter": 400, "backend": None},
                                       {"name": "high", "max_iter": 1000, "backend": "gpu"}]
    assert capped["lines"][0] == "Sweep lr-scan: 3 variant(s) on 2 host(s), 1 queued"


def test_more_variants_than_one_launch_may_make_are_refused_with_the_way_out():
    many = {"name": "wide", "variants": [{"name": f"v{i}"} for i in range(9)]}
    assert any("needs 9 instances" in p and "set cifar10_sweep.hosts to 8 or fewer" in p for p in problems(many))
    assert sweep.plan(dict(many, hosts=8))["queues"][0] == ["v0", "v8"]


def test_onprem_uses_the_inventorys_hosts_in_order_and_queues_the_rest():
    p = sweep.plan(THREE, {"max_iter": 400}, "onprem", ["box-a", "box-b"])
    assert p["hosts"] == 2 and p["host_names"] == ["box-a", "box-b"]
    assert p["lines"][1:3] == ["  box-a: low then high", "  box-b: base"]
    assert sweep.plan(THREE, None, "onprem", ["a", "b", "c", "d"])["host_names"] == ["a", "b", "c"]
    assert any("no host in gpu_hosts" in p for p in problems(THREE, provider="onprem", hosts=[]))


def test_round_robin_queues():
    assert sweep.queues(list("abcde"), 2) == [["a", "c", "e"], ["b", "d"]]
    assert sweep.queues(list("ab"), 5) == [["a"], ["b"]]
    assert sweep.queues([], 3) == []


# --- plan: refusals, all at once -----------------------------------------------------------------------------

@pytest.mark.parametrize("variant, expected", [
    ({"name": "x", "lr": 0}, "lr (the first stage's learning rate) must be in (0, 1], got 0"),
    ({"name": "x", "lr": 1.5}, "must be in (0, 1], got 1.5"),
    ({"name": "x", "lr": "fast"}, "lr (the first stage's learning rate) must be a number, got 'fast'"),
    ({"name": "x", "lr": float("nan")}, "must be a finite number"),
    ({"name": "x", "momentum": 1}, "momentum (SGD momentum) must be in [0, 1), got 1"),
    ({"name": "x", "weight_decay": -0.1}, "weight_decay (L2 weight decay (Mocha's regu_coef)) must be in [0, 1]"),
    ({"name": "x", "batch_size": 0}, "batch_size (images per batch) must be in [1, 10000], got 0"),
    ({"name": "x", "batch_size": True}, "batch_size (images per batch) must be a number, got True"),
    ({"name": "x", "max_iter": 10.5}, "max_iter (SGD iterations) must be a whole number, got 10.5"),
    ({"name": "x", "backend": "tpu"}, "backend must be one of auto, gpu, cpu, got 'tpu'"),
    ({"name": "x", "learning_rate": 0.1}, "unknown key(s) learning_rate; a variant may set name, lr,"),
    ({"name": "x", "environment": {"BAD-NAME": "1"}}, "environment must map variable names to values"),
    ({"name": "../up"}, "name must be 1-32 lower-case letters, digits or single hyphens"),
    ({"name": "b--c"}, "(no '--', which joins the sweep and the variant in a run id); it names a directory, a run id and a "
                       "systemd unit; got 'b--c'"),
    ({"name": "Upper"}, "got 'Upper'"),
    ({"name": "a" * 33}, "name must be 1-32"),
    ({"name": "trailing-"}, "got 'trailing-'"),
    ({"lr": 0.1}, "variant 1: name must be"),
    ("lr=0.1", "variant 1 must be a mapping"),
])
def test_bad_variants_are_refused_saying_what_and_how(variant, expected):
    found = problems({"name": "s", "variants": [variant]})
    assert any(expected in p for p in found), found


def test_two_sweeps_never_share_a_run_id():
    """Sweep a variant b-c and sweep a-b variant c were both a-b-c: the second resumed from the first's state."""
    first = sweep.plan({"name": "a", "variants": [{"name": "b-c"}]})["variants"][0]
    second = sweep.plan({"name": "a-b", "variants": [{"name": "c", "lr": 0.01}]})["variants"][0]
    assert (first["run_id"], second["run_id"]) == ("a--b-c", "a-b--c")
    assert "--" in problems({"name": "a--b", "variants": [{"name": "c"}]})[0]
    # Every pair of names gives its own run id, and the run id gives the pair back.
    names = ["a", "b", "a-b", "b-c", "c", "a-b-c"]
    ids = {sweep.run_id(s, v): (s, v) for s in names for v in names}
    assert len(ids) == len(names) ** 2
    assert all(tuple(rid.split("--")) == pair for rid, pair in ids.items())


def test_a_run_id_longer_than_the_name_rule_allows_is_refused():
    found = problems({"name": "s" * 32, "variants": [{"name": "v" * 30}, {"name": "w" * 29}]})
    assert found == [f"the run id of variant {'v' * 30} must be 1-63 letters, digits, '.', '_' or '-' starting with a letter "
                     f"or digit, got '{'s' * 32}--{'v' * 30}': shorten cifar10_sweep.name or the variant's name (together at "
                     "most 61 characters)"]


def test_every_problem_is_listed_at_once_and_duplicates_are_named():
    found = problems({"name": "Bad Name", "oops": 1, "hosts": 0,
                      "variants": [{"name": "a", "lr": 5}, {"name": "a"}, {"name": "b", "momentum": -1}]})
    text = "; ".join(found)
    for part in ("cifar10_sweep: unknown key(s) oops", "cifar10_sweep.name must be", "variant a: lr",
                 "variant b: momentum", "names must be unique, a appear(s) more than once", "cifar10_sweep.hosts"):
        assert part in text, (part, text)


@pytest.mark.parametrize("settings, expected", [
    ({"name": "s"}, "cifar10_sweep.variants must list at least one variant"),
    ({"name": "s", "variants": []}, "must list at least one variant"),
    ({"name": "s", "variants": [{"name": f"v{i}"} for i in range(33)], "hosts": 8}, "lists 33 variants; at most 32"),
    ({"name": "s", "variants": [{"name": "a"}], "max_cost_usd": 0}, "max_cost_usd must be a number of dollars more than 0"),
    ({"name": "s", "variants": [{"name": "a"}], "hosts": "two"}, "cifar10_sweep.hosts"),
])
def test_bad_sweeps_are_refused(settings, expected):
    assert any(expected in p for p in problems(settings)), problems(settings)


def test_bad_base_settings_are_refused():
    assert any("cifar10_lr_stages must be a list" in p for p in problems(THREE, base={"lr_stages": [0.001]}))
    assert any("cifar10_max_iter" in p for p in problems(THREE, base={"max_iter": 0}))


def test_the_filter_says_nothing_was_created():
    with pytest.raises(AnsibleFilterError, match=r"^Bad cifar10_sweep \(nothing was created; .*names must be unique"):
        filters.sweep_plan({"name": "s", "variants": [{"name": "a"}, {"name": "a"}]})
    with pytest.raises(AnsibleFilterError, match="must be a mapping"):
        filters.sweep_plan(["a"])


# --- assign -------------------------------------------------------------------------------------------------

def test_assignment_is_round_robin_over_the_hosts_given_and_stable():
    p = sweep.plan(dict(THREE, hosts=2), {"max_iter": 400})
    a = filters.sweep_assign(p, ["i-0", "i-1"])
    assert {h: [v["name"] for v in vs] for h, vs in a["assignment"].items()} == {"i-0": ["low", "high"], "i-1": ["base"]}
    assert a["host_of"] == {"low": "i-0", "high": "i-0", "base": "i-1"} and a["warnings"] == []
    assert filters.sweep_assign(p, ["i-0", "i-1"]) == a


def test_fewer_hosts_than_planned_queue_longer_and_say_so_more_stay_idle():
    p = sweep.plan(THREE, {"max_iter": 400})
    one = sweep.assign(p, ["only"])
    assert [v["name"] for v in one["assignment"]["only"]] == ["low", "base", "high"]
    assert "planned on 3 hosts but gpu_hosts has 1" in one["warnings"][0]
    many = sweep.assign(p, ["a", "b", "c", "d"])
    assert many["idle_hosts"] == ["d"] and len(many["assignment"]) == 3
    with pytest.raises(AnsibleFilterError, match="no host in gpu_hosts"):
        filters.sweep_assign(p, [])


# --- comparison ---------------------------------------------------------------------------------------------

def metrics(final, curve, spi=1.5, cost=0.01, completed=True, iterations=400, zone="us-east-1a"):
    return {"final_accuracy": final, "accuracy_curve": curve, "seconds_per_200_iterations": spi, "estimated_cost_usd": cost,
            "wall_time_s": 10.0, "completed": completed, "iterations": iterations, "max_iter": 400, "state": "finished at x",
            "instance_type": "g4dn.xlarge", "availability_zone": zone}


@pytest.fixture
def assigned():
    return sweep.assign(sweep.plan(dict(THREE, hosts=2), {"max_iter": 400}), ["i-0", "i-1"])


def test_rows_best_final_accuracy_first_failures_last(assigned):
    records = [
        {"variant": "low", "host": "i-0", "status": "finished", "metrics": metrics(11.0, [[200, 10.5], [400, 11.0]])},
        {"variant": "base", "host": "i-1", "status": "failed", "reason": "failed with exit code 1 at T: ERROR | boom",
         "metrics": metrics(None, [[200, 12.0]], completed=False, iterations=300)},
        {"variant": "high", "host": "i-0", "status": "finished", "metrics": metrics(21.0, [[200, 22.5], [400, 21.0]], cost=0.02,
                                                                                     zone="us-east-1c")},
    ]
    c = filters.sweep_comparison(records, assigned)
    assert [r["variant"] for r in c["rows"]] == ["high", "low", "base"]
    assert [r["rank"] for r in c["rows"]] == [1, 2, None]
    high = c["rows"][0]
    assert (high["best_accuracy"], high["best_iteration"], high["final_accuracy"]) == (22.5, 200, 21.0)
    assert c["failed"] == [{"variant": "base", "host": "i-1", "reason": "failed with exit code 1 at T: ERROR | boom"}]
    assert c["total_cost_usd"] == 0.04  # the failed run cost money too
    lines = c["markdown"].splitlines()
    assert lines[0] == "# Sweep lr-scan: 3 variant(s) on 2 host(s)"
    assert ("| 1 | high | lr 0.003, momentum 0.9, weight decay 0.004, batch 100, 1000 iterations, backend gpu | 21.00% "
            "| 22.50% (200) | 1.50 | $0.0200 | i-0 | g4dn.xlarge in us-east-1c |") in lines  # the fleet's zones differ
    assert (high["instance_type"], high["availability_zone"]) == ("g4dn.xlarge", "us-east-1c")
    failed_row = next(line for line in lines if line.startswith("| - | base |"))
    assert "FAILED after iteration 300 of 400: failed with exit code 1 at T: ERROR \\| boom" in failed_row  # | escaped
    assert "- base on i-1: failed with exit code 1 at T: ERROR \\| boom" in lines


def test_a_variant_with_no_record_is_a_failure_naming_its_host(assigned):
    c = sweep.comparison(assigned, [{"variant": "low", "host": "i-0", "status": "finished", "metrics": metrics(11.0, [[400, 11.0]])}])
    assert [f["variant"] for f in c["failed"]] == ["base", "high"]
    assert c["failed"][0]["host"] == "i-1" and "no result came back from i-1" in c["failed"][0]["reason"]


def test_finished_without_metrics_or_short_of_max_iter_is_not_a_success(assigned):
    c = sweep.comparison(assigned, [
        {"variant": "low", "host": "i-0", "status": "finished", "metrics": {}},
        {"variant": "base", "host": "i-1", "status": "finished", "metrics": metrics(30.0, [[200, 30.0]], completed=False, iterations=200)},
        {"variant": "high", "host": "i-0", "status": "running", "metrics": metrics(None, [], completed=False, iterations=100)},
    ])
    assert c["finished"] == [] and c["running"] == ["high"]
    reasons = {f["variant"]: f["reason"] for f in c["failed"]}
    assert reasons == {"low": "the run ended but its metrics did not come home",
                       "base": "the run stopped at iteration 200 of 400 (finished at x)"}
    assert "1 variant(s) still training (high): run the playbook again" in c["markdown"]


# --- run plan of a sweep ------------------------------------------------------------------------------------

def test_the_longest_queue_is_planned_and_the_whole_fleet_priced():
    p = sweep.plan(dict(THREE, hosts=2), {"max_iter": 400})
    plan = rp.plan({"instance_type": "g4dn.xlarge", "hourly_price_usd": 0.5, "count": 2, "max_hours": 22, "max_iter": 400,
                    "backend": "auto", "queues": p["queue_runs"]})
    trains = [ph for ph in plan["phases"] if ph["phase"] == "train"]
    assert [t["what"].split(":")[0] for t in trains] == ["low", "high"]
    assert trains[0]["seconds"] == rp.training_seconds(400, 160) and trains[1]["seconds"] == rp.training_seconds(1000, 6)
    assert len([ph for ph in plan["phases"] if ph["phase"] == "results"]) == 2
    assert plan["queue"] == {"index": 0, "count": 2, "runs": ["low", "high"]}
    assert plan["cost_usd"] == pytest.approx(plan["total_hours"] * 0.5 * 2, abs=0.01)
    assert "the longest of 2 queue(s): host 1, low then high" in plan["lines"][0]
    assert "(2 instances)" in next(line for line in plan["lines"] if "cost" in line)
    # Without queues the plan is the one run's, as before.
    single = rp.plan({"max_iter": 400, "backend": "auto"})
    assert [ph["phase"] for ph in single["phases"]].count("train") == 1 and single["queue"] is None


# --- the comparison plot ------------------------------------------------------------------------------------

def test_the_plot_has_one_labelled_curve_per_variant_failures_dashed(assigned, tmp_path):
    c = sweep.comparison(assigned, [
        {"variant": "low", "host": "i-0", "status": "finished", "metrics": metrics(11.0, [[200, 10.5], [400, 11.0]])},
        {"variant": "base", "host": "i-1", "status": "failed", "reason": "x", "metrics": metrics(None, [[200, 12.0]], completed=False)},
        {"variant": "high", "host": "i-0", "status": "finished", "metrics": metrics(21.0, [[200, 22.5], [400, 21.0]])},
    ])
    doc = {k: v for k, v in c.items() if k != "markdown"}
    fig = plot_sweep.build_figure(json.loads(json.dumps(doc)))
    ax = fig.axes[0]
    labels = [t.get_text() for t in ax.get_legend().get_texts()]
    assert labels == ["high (lr 0.003): 21.00%", "low (lr 0.0001): 11.00%", "base (lr 0.001): FAILED",
                      "tutorial: about 80% after 70,000 iterations"]
    lines = ax.get_lines()
    assert [list(line.get_ydata()) for line in lines[:3]] == [[22.5, 21.0], [10.5, 11.0], [12.0]]
    assert [line.get_linestyle() for line in lines[:3]] == ["-", "-", "--"]
    (tmp_path / "c.json").write_text(json.dumps(doc))
    subprocess.run([sys.executable, str(REPO / "playbooks/files/plot_sweep.py"), str(tmp_path / "c.json"), str(tmp_path / "c.png")],
                   check=True)
    assert (tmp_path / "c.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


# --- the FAKE training --------------------------------------------------------------------------------------

def test_fake_accuracy_follows_the_learning_rate_and_keeps_the_examples_curve():
    assert fake_train.accuracy(7000) == pytest.approx(80 - 70 / 2.718281828, abs=0.7)  # the example's curve, unchanged
    at = {lr: fake_train.accuracy(70000, lr) for lr in (0.00001, 0.0001, 0.001, 0.003, 0.03, 1.0)}
    assert at[0.001] == max(at.values()) and at[0.001] > 79
    assert at[0.0001] < at[0.001] and at[0.003] < at[0.001] and at[0.03] < at[0.003]
    assert at[1.0] < 11  # diverged: chance
    early = {lr: fake_train.accuracy(400, lr) for lr in (0.0001, 0.001, 0.003)}
    assert early[0.0001] < early[0.001] < early[0.003]  # a larger step learns faster at first
    assert fake_train.accuracy(5000, 0.001, 0.5) < fake_train.accuracy(5000, 0.001, 0.9)  # less momentum, smaller step


def test_fake_reads_the_rendered_hyperparameters():
    text = ("lr_policy = LRPolicy.Staged(\n  (60000, LRPolicy.Fixed(0.003)),\n  (5000, LRPolicy.Fixed(0.0003)),\n)\n"
            "solver_params = make_solver_parameters(method, max_iter=400,\n"
            "    regu_coef=0.001, mom_policy=MomPolicy.Fixed(0.95), lr_policy=lr_policy,\n")
    cfg = fake_train.parse_script(text)
    assert (cfg["lr"], cfg["momentum"], cfg["regu_coef"]) == (0.003, 0.95, 0.001)
