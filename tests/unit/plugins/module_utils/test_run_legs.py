"""The legs of a run (plugins/module_utils/run_legs.py): hours and cost per leg, interruptions, totals against on demand,
and legs.json read as untrusted input."""

import pytest
from ansible_collections.mocha.cloud.plugins.module_utils import run_legs


def leg(n, start, end, how, hourly=0.1578, on_demand=0.526, market="spot", first=0, last=100):
    return {"leg": n, "host": f"i-{n}", "instance_id": f"i-{n}", "instance_type": "g4dn.xlarge", "market": market,
            "hourly_usd": hourly, "on_demand_hourly_usd": on_demand, "started_at": start, "ended_at": end,
            "start_iteration": first, "end_iteration": last, "end": how}


def test_two_spot_legs_one_interruption_against_on_demand():
    doc = {"legs": [leg(1, "2026-12-01T10:00:00Z", "2026-12-01T11:30:00Z", "interrupted", last=4000),
                    leg(2, "2026-12-01T12:00:00Z", "2026-12-01T12:30:00Z", "finished", first=4000, last=5000)]}
    out = run_legs.summarize(doc)
    assert [(g["hours"], g["cost_usd"], g["iterations"]) for g in out["legs"]] == [(1.5, 0.2367, 4000), (0.5, 0.0789, 1000)]
    assert out["count"] == 2 and out["interruptions"] == 1
    assert out["total_hours"] == 2.0
    assert out["total_cost_usd"] == pytest.approx(0.3156)
    assert out["on_demand_cost_usd"] == pytest.approx(1.052)
    assert out["savings_usd"] == pytest.approx(1.052 - 0.3156)
    assert out["cost_complete"] is True


def test_lost_leg_counts_as_interruption_and_on_demand_leg_is_its_own_comparison():
    doc = [leg(1, "2026-12-01T10:00:00Z", "2026-12-01T10:06:00Z", "lost", hourly=0.526, on_demand=None, market="on-demand"),
           leg(2, "2026-12-01T10:10:00Z", "2026-12-01T10:16:00Z", "running", hourly=0.526, on_demand=None, market="on-demand")]
    out = run_legs.summarize(doc)
    assert out["interruptions"] == 1
    assert out["total_cost_usd"] == pytest.approx(0.1052)
    assert out["on_demand_cost_usd"] == pytest.approx(0.1052) and out["savings_usd"] == pytest.approx(0.0)


def test_on_prem_legs_have_hours_but_no_cost():
    out = run_legs.summarize({"legs": [leg(1, "2026-12-01T10:00:00Z", "2026-12-01T10:30:00Z", "finished", hourly=None,
                                           on_demand=None, market="on-prem")]})
    assert out["total_hours"] == 0.5
    assert out["total_cost_usd"] is None and out["on_demand_cost_usd"] is None and out["savings_usd"] is None
    assert out["cost_complete"] is False


@pytest.mark.parametrize("bad", [
    {"started_at": "yesterday"}, {"ended_at": "2026-12-01T09:00:00Z"}, {"hourly_usd": "-1"}, {"hourly_usd": True},
    {"hourly_usd": "lots"}, {"end": "exploded"}, {"start_iteration": "x"},
])
def test_untrusted_fields_count_as_unknown(bad):
    doc = {"legs": [dict(leg(1, "2026-12-01T10:00:00Z", "2026-12-01T11:00:00Z", "finished"), **bad)]}
    out = run_legs.summarize(doc)["legs"][0]
    if "started_at" in bad or "ended_at" in bad:
        assert out["hours"] is None and out["cost_usd"] is None
    if "hourly_usd" in bad:
        assert out["hourly_usd"] is None and out["cost_usd"] is None
    if "end" in bad:
        assert out["end"] == "unknown"
    if "start_iteration" in bad:
        assert out["start_iteration"] is None and out["iterations"] is None


@pytest.mark.parametrize("doc", [None, "legs", {"legs": "x"}, {"legs": [1, "a", None]}, []])
def test_no_legs(doc):
    out = run_legs.summarize(doc)
    assert out["count"] == 0 and out["total_hours"] == 0 and out["total_cost_usd"] is None and not out["cost_complete"]


@pytest.mark.parametrize(
    "text, hour",
    [
        ("2026-01-01T03:30:00Z", 3),
        ("2026-01-01T03:30:00.250Z", 3),
        ("2026-01-01T03:30:00+00:00", 3),
        ("2026-01-01T03:30:00", 3),
        ("", None),
        ("yesterday", None),
        (None, None),
        (17, None),
    ],
)
def test_parse_time(text, hour):
    parsed = run_legs.parse_time(text)
    assert (parsed.hour if parsed else None) == hour
    assert parsed is None or parsed.utcoffset().total_seconds() == 0


def test_the_reports_cost_is_the_legs_total_when_they_are_priced():
    legs = run_legs.summarize([leg(1, "2026-12-01T10:00:00Z", "2026-12-01T10:01:19Z", "finished", hourly=0.526,
                                   market="on-demand")])
    out = run_legs.run_cost(legs, 21.0, "0.526")
    assert out == {"estimated_cost_usd": legs["total_cost_usd"], "hourly_price_usd": 0.526, "cost_basis": "legs",
                   "instance_hours": legs["total_hours"]}
    assert out["estimated_cost_usd"] == pytest.approx(79 / 3600 * 0.526, abs=1e-4)


@pytest.mark.parametrize(("legs", "wall", "hourly", "want"), [
    (None, 3600.0, 0.5, (0.5, "training wall time", None)),  # no keeper: the training's time
    (None, None, 0.5, (None, None, None)),
    (None, 3600.0, "", (None, None, None)),  # no price known
    ({"count": 1, "total_hours": 0.5, "total_cost_usd": None}, 3600.0, 0.5, (None, None, 0.5)),  # unpriced legs
    ({"count": 0, "total_hours": 0.0, "total_cost_usd": None}, 1800.0, 1.0, (0.5, "training wall time", None)),
])
def test_the_reports_cost_otherwise(legs, wall, hourly, want):
    out = run_legs.run_cost(legs, wall, hourly)
    assert (out["estimated_cost_usd"], out["cost_basis"], out["instance_hours"]) == want
