"""Does a run's report.md say what its legs.json says? (the pipeline's check, unit-tested in
tests/unit/roles/test_cifar10_report.py). Standard library only.

report_disagreements(report_text, legs_summary) lists what disagrees ([] when nothing does), LEGS_SUMMARY being
mocha.cloud.run_legs's summary of legs.json:
- the estimated cost is the legs' total cost, to the cent or to 1/100 of a cent below a dollar as the report prints it;
- the instance hours are the legs' total hours;
- the training's wall time is more than 0 and at most the legs' hours (the legs count from the instance's launch);
- the speed accounts for the wall time: seconds per 200 iterations x the iterations the legs trained / 200 is the wall
  time, within a fifth or 10 s (the log's whole seconds, net construction and the coffee breaks at the start);
- a leg is never faster than the log says: its hours over its iterations are at least the log's time per iteration.
"""

import re

ROW = r"^\| {} \| (?P<value>[^|]*) \|"


def row(report_text, name):
    m = re.search(ROW.format(re.escape(name)), report_text, re.M)
    return m.group("value").strip() if m else None


def number(text, pattern):
    m = re.search(pattern, text or "")
    return float(m.group(1)) if m else None


def report_disagreements(report_text, legs_summary):
    problems = []
    spi = number(row(report_text, "seconds per 200 iterations"), r"^([0-9.]+)$")
    wall_min = number(row(report_text, "wall time (training)"), r"^([0-9.]+) min$")
    hours = number(row(report_text, "instance hours (legs)"), r"^([0-9.]+)$")
    cost_text = row(report_text, "estimated cost") or ""
    cost = number(cost_text, r"^\$([0-9.]+)")
    total_cost, total_hours = legs_summary.get("total_cost_usd"), legs_summary.get("total_hours")
    if total_cost is None:
        problems.append("legs.json has no priced leg")
    elif cost is None or "legs' instance hours" not in cost_text:
        problems.append(f"the estimated cost is not the legs' total: {cost_text!r}")
    elif abs(cost - round(total_cost, 4 if total_cost < 1 else 2)) > 1e-9:
        problems.append(f"the estimated cost ${cost} is not the legs' total ${total_cost}")
    # The report prints the hours to 3 decimals: a total of 0.0875 may print as 0.087 (binary floats round half down).
    if hours is None or abs(hours - total_hours) > 0.0005 + 1e-9:
        problems.append(f"the instance hours {hours} are not the legs' total {total_hours}")
    if wall_min is None or wall_min <= 0:
        problems.append(f"no wall time: {row(report_text, 'wall time (training)')!r}")
    elif wall_min * 60 > total_hours * 3600 + 3:
        problems.append(f"the training took {wall_min} min, longer than the legs' {total_hours} h")
    iterations = sum(leg.get("iterations") or 0 for leg in legs_summary.get("legs", []))
    if spi is None or spi <= 0:
        problems.append(f"no speed: {row(report_text, 'seconds per 200 iterations')!r}")
    elif wall_min:
        expected = spi * iterations / 200.0
        if abs(expected - wall_min * 60) > max(10.0, 0.2 * wall_min * 60):
            problems.append(f"{spi} s per 200 iterations over {iterations} iterations is {expected:.0f} s, "
                            f"the wall time {wall_min * 60:.0f} s")
        for leg in legs_summary.get("legs", []):
            if leg.get("hours") and leg.get("iterations"):
                if leg["hours"] * 3600 / leg["iterations"] * 200 < spi - 1:
                    problems.append(f"leg {leg['leg']} ran faster ({leg['hours']} h for {leg['iterations']} iterations) "
                                    f"than the log's {spi} s per 200")
    return problems
