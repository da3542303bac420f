# -*- coding: utf-8 -*-
# Copyright (c) mocha-cloud contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The legs of one training run (legs.json, kept by the cifar10 role's state keeper): one entry per host the run
trained on, with when it started and ended there, from which iteration to which, how the leg ended, and the hourly
prices the controller gave. summarize() turns them into hours and cost per leg, the interruptions, and the total
against the same hours on demand. legs.json travels through the host and S3, so it is read as untrusted input: a field
in the wrong form counts as unknown, never as a number."""

import datetime

ENDS = ("running", "finished", "failed", "interrupted", "lost")
INTERRUPTIONS = ("interrupted", "lost")


def parse_time(text):
    """An ISO 8601 UTC time (``2026-01-02T03:04:05Z``, fractions and ``+00:00`` accepted) as an aware datetime,
    or None when TEXT is not one."""
    if not isinstance(text, str) or not text.strip():
        return None
    value = text.strip()
    if value.endswith(("Z", "z")):
        value = value[:-1] + "+00:00"
    try:
        parsed = datetime.datetime.fromisoformat(value)
    except ValueError:
        return None
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=datetime.timezone.utc)  # noqa: UP017 (the collection supports Python 3.9+)
    return parsed


def non_negative(value):
    """VALUE as a float when it is a number of at least 0 (not a bool), else None."""
    if isinstance(value, bool) or value in (None, ""):
        return None
    try:
        number = float(value)
    except (TypeError, ValueError):
        return None
    return number if number >= 0 else None


def _count(value):
    number = non_negative(value)
    return int(number) if number is not None else None


def legs_of(doc):
    """The list of leg dicts from a legs.json document ({"legs": [...]}) or a list; [] for anything else."""
    legs = doc.get("legs") if isinstance(doc, dict) else doc
    return [leg for leg in legs if isinstance(leg, dict)] if isinstance(legs, list) else []


def leg_hours(leg):
    """Hours from started_at to ended_at, None when either is missing or malformed or they are out of order."""
    start, end = parse_time(leg.get("started_at")), parse_time(leg.get("ended_at"))
    if start is None or end is None or end < start:
        return None
    return (end - start).total_seconds() / 3600.0


def summarize(doc):
    """{legs: [...each leg with hours, cost_usd, iterations], count, interruptions, total_hours, total_cost_usd,
    on_demand_cost_usd, savings_usd, cost_complete}. Costs are None where a price or a time is unknown; the totals
    add what is known and cost_complete says whether that is everything."""
    out, total_hours, total_cost, on_demand_cost, complete = [], 0.0, 0.0, 0.0, True
    for number, leg in enumerate(legs_of(doc), start=1):
        hours = leg_hours(leg)
        hourly = non_negative(leg.get("hourly_usd"))
        on_demand = non_negative(leg.get("on_demand_hourly_usd"))
        if on_demand is None and leg.get("market") == "on-demand":
            on_demand = hourly
        start_iter, end_iter = _count(leg.get("start_iteration")), _count(leg.get("end_iteration"))
        cost = None if hours is None or hourly is None else hours * hourly
        end = leg.get("end") if leg.get("end") in ENDS else "unknown"
        out.append({
            "leg": _count(leg.get("leg")) or number,
            "host": str(leg.get("host") or ""),
            "instance_id": str(leg.get("instance_id") or ""),
            "instance_type": str(leg.get("instance_type") or ""),
            "market": str(leg.get("market") or ""),
            "started_at": leg.get("started_at") if parse_time(leg.get("started_at")) else None,
            "ended_at": leg.get("ended_at") if parse_time(leg.get("ended_at")) else None,
            "end": end,
            "start_iteration": start_iter,
            "end_iteration": end_iter,
            "iterations": (end_iter - start_iter) if None not in (start_iter, end_iter) and end_iter >= start_iter else None,
            "hours": None if hours is None else round(hours, 4),
            "hourly_usd": hourly,
            "cost_usd": None if cost is None else round(cost, 4),
        })
        total_hours += hours or 0.0
        total_cost += cost or 0.0
        if on_demand is not None and hours is not None:
            on_demand_cost += hours * on_demand
        if cost is None or on_demand is None:
            complete = False
    has_prices = any(leg["cost_usd"] is not None for leg in out)
    return {
        "legs": out,
        "count": len(out),
        "interruptions": sum(1 for leg in out if leg["end"] in INTERRUPTIONS),
        "total_hours": round(total_hours, 4),
        "total_cost_usd": round(total_cost, 4) if has_prices else None,
        "on_demand_cost_usd": round(on_demand_cost, 4) if has_prices and on_demand_cost > 0 else None,
        "savings_usd": round(on_demand_cost - total_cost, 4) if has_prices and on_demand_cost > 0 else None,
        "cost_complete": complete and bool(out),
    }


def run_cost(legs_summary, wall_time_s, hourly_usd):
    """The run's estimated cost for its report, from one source: the legs' total (the instance hours legs.json counts,
    as the bill does: from the instance's launch) when the legs are priced, else the training's wall time (the log's
    first to last line) at HOURLY_USD. LEGS_SUMMARY is summarize()'s result or None (no keeper, no legs.json).

    Returns {estimated_cost_usd, hourly_price_usd, cost_basis ('legs', 'training wall time' or None), instance_hours
    (the legs' total hours, or None without legs)}."""
    hourly = non_negative(hourly_usd)
    legs = legs_summary if isinstance(legs_summary, dict) and legs_summary.get("count") else None
    wall = non_negative(wall_time_s)
    out = {"estimated_cost_usd": None, "hourly_price_usd": hourly, "cost_basis": None,
           "instance_hours": legs.get("total_hours") if legs else None}
    if legs and legs.get("total_cost_usd") is not None:
        out.update(estimated_cost_usd=legs["total_cost_usd"], cost_basis="legs")
    elif not legs and wall is not None and hourly is not None:
        out.update(estimated_cost_usd=round(wall / 3600.0 * hourly, 4), cost_basis="training wall time")
    return out
