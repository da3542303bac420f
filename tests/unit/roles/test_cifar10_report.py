"""report.md (roles/cifar10/templates/report.md.j2) as a user reads it: its speed, wall time, instance hours and cost
agree with the run's legs.json (tests/pipeline/report_check.py, which the pipeline applies to a real journey's report).
The template is rendered here with Jinja2 as Ansible's template module does (trim_blocks), from metrics made the way
tasks/report.yml makes them: mocha_log's metrics of a Mocha v0.3.1 log, run_legs's summary, run_cost."""

import re

import jinja2
import pytest
from ansible_collections.mocha.cloud.plugins.module_utils import mocha_log, run_legs
from conftest import REPO, load_source

check = load_source(REPO / "tests" / "pipeline" / "report_check.py", "report_check")

# Mocha v0.3.1's log of a 400-iteration run, 10 s per 100 iterations, the coffee breaks at iteration 0 included.
LOG = "\n".join(
    ["Configuring Mocha...", "[2026-12-07 10:02:00 | info | Mocha]: Constructing net CIFAR10-train on Mocha.CPUBackend..."]
    + [f"[2026-12-07 10:02:{1 + 10 * (it // 100):02d} | info | Mocha]:  TRAIN iter={it:06d} obj_val=2.00000000"
       for it in range(0, 401, 100)]) + "\n"
LEGS = {"legs": [{"leg": 1, "host": "mocha-cloud-pipeline-i-0123456789abcdef0", "instance_id": "i-0123456789abcdef0",
                  "instance_type": "g4dn.xlarge", "market": "on-demand", "hourly_usd": 0.526, "on_demand_hourly_usd": 0.526,
                  "started_at": "2026-12-07T10:00:00Z", "ended_at": "2026-12-07T10:03:20Z", "start_iteration": 0,
                  "end_iteration": 400, "end": "finished"}]}


def render(metrics):
    env = jinja2.Environment(loader=jinja2.FileSystemLoader(str(REPO / "roles" / "cifar10" / "templates")),
                             trim_blocks=True, undefined=jinja2.StrictUndefined)
    return env.get_template("report.md.j2").render(cifar10_metrics=metrics)


def metrics(cost=None):
    doc = mocha_log.metrics(mocha_log.parse_mocha_log(LOG), 400, 100, {
        "run_id": "20261207T100000Z", "state": "finished at 2026-12-07T10:02:45Z", "host": LEGS["legs"][0]["host"],
        "instance_type": "g4dn.xlarge", "backend": "cpu", "supervisor": "systemd", "final_snapshot": "snapshot-000400.jld"})
    doc["legs"] = run_legs.summarize(LEGS)
    doc.update(cost or run_legs.run_cost(doc["legs"], doc["wall_time_s"], 0.526))
    return doc


def test_the_report_agrees_with_its_legs():
    report = render(metrics())
    assert check.report_disagreements(report, run_legs.summarize(LEGS)) == []
    assert "| seconds per 200 iterations | 20.00 |" in report and "| wall time (training) | 0.7 min |" in report
    assert "| estimated cost | $0.0292 at $0.5260/h, the legs' instance hours |" in report


def test_the_hours_as_the_report_rounds_them_agree():
    """0.0875 h prints as 0.087 ('%.3f' of the binary float): still the legs' total, as printed."""
    row = re.compile(r"\| instance hours \(legs\) \| [0-9.]+ \|")
    assert row.search(render(metrics()))
    report = row.sub("| instance hours (legs) | 0.087 |", render(metrics()))
    problems = check.report_disagreements(report, dict(run_legs.summarize(LEGS), total_hours=0.0875))
    assert not [p for p in problems if "instance hours" in p], problems
    report = row.sub("| instance hours (legs) | 0.086 |", report)
    problems = check.report_disagreements(report, dict(run_legs.summarize(LEGS), total_hours=0.0875))
    assert [p for p in problems if "instance hours" in p], problems


@pytest.mark.parametrize(("cost", "says"), [
    # What the report used to do: the training's wall time at the hourly price, beside a legs table that bills more.
    ({"estimated_cost_usd": round(40 / 3600 * 0.526, 4), "hourly_price_usd": 0.526, "cost_basis": "training wall time",
      "instance_hours": None}, "the estimated cost is not the legs' total"),
    ({"estimated_cost_usd": 0.5, "hourly_price_usd": 0.526, "cost_basis": "legs", "instance_hours": 0.0556},
     "is not the legs' total $0.0292"),
])
def test_a_report_that_disagrees_is_caught(cost, says):
    problems = check.report_disagreements(render(metrics(cost)), run_legs.summarize(LEGS))
    assert any(says in p for p in problems), problems


def test_a_log_without_usable_times_is_caught():
    """The fake's old log: every line in the same second, so 0.00 s per 200 iterations and 0.0 min."""
    doc = metrics()
    doc.update(seconds_per_200_iterations=0.0, wall_time_s=0.0)
    problems = check.report_disagreements(render(doc), run_legs.summarize(LEGS))
    assert any("no speed" in p for p in problems) and any("no wall time" in p for p in problems)
