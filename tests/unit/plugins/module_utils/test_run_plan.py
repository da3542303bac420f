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
    assert p["hours_needed"] == 20
    assert any("Raise aws_gpu_instance_max_hours to at least 20" in line for line in p["lines"])
    assert p["cost_usd"] == pytest.approx(p["total_hours"] * 0.526, abs=0.01)


def test_the_gpu_backend_fits_in_two_hours():
    p = rp.plan(dict(SHIPPED, backend="gpu", max_hours=2))
    assert p["backend_planned"] == "gpu" and p["fits"], p["lines"]
    assert p["total_hours"] < 2 < p["cpu_total_hours"]


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
