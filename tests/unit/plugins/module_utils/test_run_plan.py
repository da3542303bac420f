"""The run plan (module_utils/run_plan.py): phases, totals, cost, fit to the instance."""

import pytest
from ansible_collections.mocha.cloud.plugins.module_utils import run_plan as rp

SHIPPED = {"instance_type": "g4dn.xlarge", "hourly_price_usd": 0.526, "julia_version": "0.6", "julia_method": "auto",
           "backend": "auto", "max_iter": 70000}


@pytest.mark.parametrize("name, vcpus", [("g4dn.xlarge", 4), ("g4dn.2xlarge", 8), ("g5.12xlarge", 48), ("t3.large", 2),
                                         ("g4dn.metal", None), ("", None)])
def test_vcpus_from_the_size(name, vcpus):
    assert rp.vcpus_of(name) == vcpus


def test_auto_on_cpu_does_not_fit_four_hours_and_says_what_to_raise():
    p = rp.plan(dict(SHIPPED, max_hours=4))
    assert p["backend_planned"] == "cpu" and p["julia_method"] == "binary"
    train = next(ph for ph in p["phases"] if ph["phase"] == "train")
    assert train["seconds"] == int(70000 / 200 * 160 * 1.05)  # Mocha's documented CPU figure, plus validation
    assert not p["fits"]
    assert p["hours_needed"] == 21
    assert any("Raise aws_gpu_instance_max_hours to at least 21" in line for line in p["lines"])
    assert p["cost_usd"] == pytest.approx(p["total_hours"] * 0.526, abs=0.01)


def test_the_gpu_backend_fits_in_three_hours():
    p = rp.plan(dict(SHIPPED, backend="gpu", max_hours=3))
    assert p["backend_planned"] == "gpu" and p["fits"], p["lines"]
    assert p["total_hours"] < 3 < p["cpu_total_hours"]


def test_shipped_instance_life_covers_the_cpu_worst_case():
    import yaml
    from conftest import REPO

    settings = yaml.safe_load((REPO / "settings.yml").read_text())
    p = rp.plan(dict(SHIPPED, max_hours=settings["aws_gpu_instance_max_hours"], max_iter=settings["cifar10_max_iter"],
                      backend=settings["mocha_backend"]))
    assert p["fits"], "\n".join(p["lines"])


def test_onprem_has_no_instance_life_and_no_boot():
    p = rp.plan({"provider": "onprem", "max_iter": 70000, "max_hours": 1, "backend": "cpu"})
    assert p["fits"] and "boot" not in [ph["phase"] for ph in p["phases"]]
    assert p["cost_usd"] is None and not any("instance life" in line for line in p["lines"])


def test_a_source_build_takes_longer_with_fewer_jobs():
    four = rp.plan({"max_iter": 200, "julia_method": "source", "julia_version": "1.10", "julia_jobs": 4})
    one = rp.plan({"max_iter": 200, "julia_method": "source", "julia_version": "1.10", "julia_jobs": 1})
    julia = {p["phase"]: p["seconds"] for p in four["phases"]}["julia"], {p["phase"]: p["seconds"] for p in one["phases"]}["julia"]
    assert julia[1] == 4 * julia[0] > rp.JULIA_BINARY_SECONDS


def test_auto_builds_new_julia_from_source_and_old_julia_from_the_binary():
    assert rp.julia_method_expected("auto", "0.6")[0] == "binary"
    assert rp.julia_method_expected("auto", "1.10")[0] == "source"
    assert rp.julia_method_expected("auto", "0.6", host_gcc_major=9)[0] == "source"
    assert rp.julia_method_expected("source", "0.6")[0] == "source"


def test_measured_figures_override_the_documented_ones():
    p = rp.plan(dict(SHIPPED, backend="cpu", max_iter=2000, seconds_per_200={"cpu": 20}))
    assert {ph["phase"]: ph["seconds"] for ph in p["phases"]}["train"] == int(2000 / 200 * 20 * 1.05)


def test_fallback_types_plan_for_the_slowest_and_price_at_the_dearest():
    """A launch that may fall back to other types is planned so that none of them can break a limit."""
    first = dict(SHIPPED, instance_type="g4dn.2xlarge", hourly_price_usd=0.752, julia_method="source",
                 julia_version="1.0", backend="gpu", max_hours=8)
    alone = rp.plan(first)
    both = rp.plan(dict(first, fallback_types=["g5.xlarge", {"instance_type": "g6.2xlarge", "hourly_price_usd": 0.9776}]))
    # g5.xlarge has 4 vCPUs: its Julia source build (make -j 4) is the longest.
    assert both["instance_type"] == "g5.xlarge" and both["total_hours"] > alone["total_hours"]
    assert both["total_hours"] == rp.plan(dict(first, instance_type="g5.xlarge"))["total_hours"]
    # g5.xlarge's list price (the dated table) is the dearest of the three.
    assert both["hourly_price_usd"] == 1.006 and both["cost_usd"] == pytest.approx(both["total_hours"] * 1.006, abs=0.01)
    assert [c["instance_type"] for c in both["candidates"]] == ["g4dn.2xlarge", "g5.xlarge", "g6.2xlarge"]
    assert any(line.startswith(f"  types    g4dn.2xlarge ({alone['total_hours']} h, $0.752/h), g5.xlarge") and "planned for the slowest, g5.xlarge"
               in line and "priced at the dearest, $1.006/h" in line for line in both["lines"]), both["lines"]


def test_a_fallback_too_slow_for_the_instance_life_is_refused_with_the_plan():
    first = dict(SHIPPED, instance_type="g4dn.4xlarge", hourly_price_usd=1.204, julia_method="source",
                 julia_version="0.6", backend="gpu")
    assert rp.plan(dict(first, max_hours=2.5))["fits"]  # make -j 16: a quarter of an hour of Julia
    p = rp.plan(dict(first, max_hours=2.5, fallback_types=["g4dn.xlarge"]))  # make -j 4: an hour
    assert not p["fits"] and p["instance_type"] == "g4dn.xlarge"
    assert any("TOO SHORT" in line for line in p["lines"])


def test_an_unpriced_fallback_is_said_and_the_known_prices_bound_the_cost():
    p = rp.plan(dict(SHIPPED, max_hours=24, fallback_types=["g9.xlarge"]))
    assert p["hourly_price_usd"] == 0.526 and p["unpriced"] == ["g9.xlarge"]
    assert any("(no price known for g9.xlarge)" in line for line in p["lines"])
def test_every_figure_says_where_it_comes_from():
    p = rp.plan(dict(SHIPPED, max_hours=22))
    assert all(ph.get("source") for ph in p["phases"]), p["phases"]
    by = {ph["phase"]: ph for ph in p["phases"]}
    assert "Mocha's documentation" in by["train"]["source"]
    assert "METADATA.jl#5128" in by["mocha"]["source"]
    assert all(f"[{ph['source']}]" in line for ph, line in zip(p["phases"], p["lines"][1:], strict=False))


def test_the_pkg_phase_covers_the_metadata_clone():
    """Pkg.init's METADATA clone alone is reported to take up to 25 minutes (METADATA.jl#5128)."""
    mocha = next(ph for ph in rp.plan(SHIPPED)["phases"] if ph["phase"] == "mocha")
    assert mocha["seconds"] >= 25 * 60 + 10 * 60


METRICS = [
    {"run_id": "r1", "host": "ec2-a", "instance_type": "g4dn.xlarge", "backend": "cpu", "iterations": 2000,
     "seconds_per_200_iterations": 150.5},
    {"run_id": "r2", "host": "ec2-b", "instance_type": "g4dn.xlarge", "backend": "cpu", "iterations": 70000,
     "seconds_per_200_iterations": 141.0},
    {"run_id": "r3", "host": "ec2-c", "instance_type": "g5.xlarge", "backend": "cpu", "iterations": 70000,
     "seconds_per_200_iterations": 90.0},
    {"run_id": "r4", "host": "box", "instance_type": "unknown", "backend": "cpu", "iterations": 400,
     "seconds_per_200_iterations": 30.0},
    {"run_id": "r5", "host": "ec2-d", "instance_type": "g4dn.xlarge", "backend": "cpu", "iterations": 0,
     "seconds_per_200_iterations": None},
]


def test_measured_figures_replace_the_documented_ones():
    records = rp.record_measured({}, "g4dn.xlarge", "ec2-a", rp.measured_phases(
        {"mocha-pkg-init": 1400.2, "mocha-pkg-add-Mocha": 300, "mocha-pkg-test": 500, "cifar10": 9000}), "2026-12-01T10:00:00Z")
    measured = rp.measured_figures("g4dn.xlarge", METRICS, records)
    assert measured["seconds_per_200"]["cpu"]["seconds"] == 141.0  # the longest run of this instance type
    assert "run r2 on ec2-b (g4dn.xlarge), 70000 iterations" in measured["seconds_per_200"]["cpu"]["source"]
    p = rp.plan(dict(SHIPPED, backend="cpu", measured=measured))
    by = {ph["phase"]: ph for ph in p["phases"]}
    assert by["train"]["seconds"] == int(70000 / 200 * 141.0 * 1.05 + 0.999)
    assert by["train"]["source"].startswith("measured: run r2")
    assert by["mocha"]["seconds"] == 2201 and by["mocha"]["source"] == "measured: ec2-a (g4dn.xlarge) on 2026-12-01T10:00:00Z"
    assert by["boot"]["source"].startswith("allowance")  # nothing measured: the allowance stays
    # the user's own figure wins over a measured one
    mine = rp.plan(dict(SHIPPED, backend="cpu", measured=measured, seconds_per_200={"cpu": 100}))
    assert next(ph for ph in mine["phases"] if ph["phase"] == "train")["source"] == "the setting mocha_cloud_seconds_per_200"


def test_measured_figures_belong_to_their_instance_type_or_host():
    assert rp.measured_figures("g5.xlarge", METRICS)["seconds_per_200"]["cpu"]["seconds"] == 90.0
    assert rp.measured_figures("p3.2xlarge", METRICS) == {"seconds_per_200": {}, "phases": {}}
    assert rp.measured_figures(rp.measured_key("", "box"), METRICS)["seconds_per_200"]["cpu"]["seconds"] == 30.0
    assert rp.measured_key("g4dn.xlarge", "ec2-a") == "g4dn.xlarge"


def test_a_partial_pkg_phase_or_another_julia_method_is_not_a_measure():
    assert rp.measured_phases({"mocha-pkg-test": 500}) == {}  # METADATA was there already: a part of the phase
    records = rp.record_measured({}, "g4dn.xlarge", "h", rp.measured_phases({"julia-build": 7200}, "source"), "t")
    measured = rp.measured_figures("g4dn.xlarge", [], records)
    julia = next(ph for ph in rp.plan(dict(SHIPPED, measured=measured))["phases"] if ph["phase"] == "julia")
    assert julia["seconds"] == rp.JULIA_BINARY_SECONDS  # auto takes the binary for 0.6: a source build's time says nothing
    source = next(ph for ph in rp.plan(dict(SHIPPED, julia_method="source", measured=measured))["phases"]
                  if ph["phase"] == "julia")
    assert source["seconds"] == 7200 and source["source"].startswith("measured")


def test_recording_keeps_other_keys_and_changes_nothing_without_a_measure():
    first = rp.record_measured({}, "g5.xlarge", "h1", {"mocha": {"seconds": 100}}, "t1")
    both = rp.record_measured(first, "g4dn.xlarge", "h2", {"mocha": {"seconds": 200}}, "t2")
    assert set(both) == {"g5.xlarge", "g4dn.xlarge"} and both["g5.xlarge"] == first["g5.xlarge"]
    assert rp.record_measured(both, "g4dn.xlarge", "h2", {}, "t3") == both
def test_at_most_is_the_plan_plus_the_grace_when_the_instance_ends_itself():
    """With autodown (the shipped setting) the bound is the plan plus the idle grace, not the instance's whole life."""
    ends = rp.plan(dict(SHIPPED, backend="gpu", max_hours=22, idle_minutes=15))
    assert ends["cost_at_most_usd"] == round((ends["total_with_margin_seconds"] / 3600 + 0.25) * 0.526, 2)
    assert ends["cost_at_most_usd"] < 1.5 < ends["cost_at_max_hours_usd"] == 11.57
    line = next(x for x in ends["lines"] if x.strip().startswith("cost"))
    assert f"at most ${ends['cost_at_most_usd']:.2f}: the plan plus the 15-minute grace" in line and "22 h expiry is the backstop" in line
    kept = rp.plan(dict(SHIPPED, backend="gpu", max_hours=22, idle_minutes=None))
    assert kept["cost_at_most_usd"] is None
    assert "at most $11.57 if the instance lives its 22 h (aws_gpu_instance_keep)" in "\n".join(kept["lines"])
    # Never more than the whole life.
    long = rp.plan(dict(SHIPPED, max_hours=20.5, idle_minutes=600))
    assert long["cost_at_most_usd"] == round(20.5 * 0.526, 2)
