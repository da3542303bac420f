# -*- coding: utf-8 -*-
# Copyright: (c) 2026, mocha-cloud contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Recovering interrupted or vanished runs: which run to resume, and what a watch does next. Pure (values in,
values out); the filters mocha.cloud.recover_select and mocha.cloud.recover_next expose it to playbooks/recover_select.yml
and playbooks/tasks/recover_watch.yml.

A run is one entry of mocha.cloud.aws_gpu_runs_info's ``runs`` (run_id, verdict, reason, objects, marker, ...).
It is *recoverable* when its verdict is ``interrupted`` (the marker says so, or says running while no instance of it
is live), or ``vanished`` while its prefix in the results bucket holds something (a vanished run with nothing in the
bucket has nothing to resume from: recovering it would start it again from iteration 0, which is a new run, not a
recovery).

Legs are the entries of ``<project>/<run id>/state/legs.json`` the state keeper writes (``{"legs": [{leg, host,
started_at, ended_at, end, ...}]}``); the hours spent are the sum of ended_at - started_at over them.
"""

import json
import math
import time

from ansible_collections.mocha.cloud.plugins.module_utils.run_legs import leg_hours, parse_time

RECOVERABLE = ("interrupted", "vanished")
ACTIONS = ("finished", "failed", "wait", "launch", "refuse")


class RecoverError(ValueError):
    """Input the decision cannot be made from; the message says what was wrong."""


# ---------------------------------------------------------------------------------------------
# Legs and hours
# ---------------------------------------------------------------------------------------------
def _entries(doc):
    """Every entry of legs.json (text, document or list), objects or not; [] for nothing. RecoverError for text that is
    not JSON or a document that is not {"legs": [...]}."""
    if doc is None or doc == "":
        return []
    if isinstance(doc, (str, bytes)):
        try:
            doc = json.loads(doc)
        except ValueError as exc:
            raise RecoverError(f"legs.json is not JSON ({exc})") from None
    if isinstance(doc, dict):
        doc = doc.get("legs", [])
    if not isinstance(doc, list):
        raise RecoverError(f'legs.json must hold {{"legs": [...]}}, got {type(doc).__name__}')
    return doc


def legs_from(doc):
    """The list of legs from legs.json as text, as a parsed document ({"legs": [...]}) or as a list; [] for nothing
    (no legs.json yet). Entries that are not objects are dropped; text that is not JSON raises RecoverError."""
    return [leg for leg in _entries(doc) if isinstance(leg, dict)]


def _epoch(value):
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return float(value)
    moment = parse_time(value)
    return moment.timestamp() if moment else None


def _hours_since(start, now, cap):
    """Hours from START (epoch) to NOW, at most CAP (None: no cap); CAP when START is unknown or later than NOW."""
    if start is None or start > now:
        return cap
    hours = (now - start) / 3600.0
    return min(hours, cap) if cap is not None else hours


def spent(doc, run=None, now=None, max_leg_hours=None, legs_error=""):
    """{hours, whole, unknown}: the instance hours the run's legs spent, from legs.json DOC.

    legs.json is written on the instance, so what it cannot say is not taken as nothing: a leg whose times cannot be
    read, or run backwards, and an entry that is not a leg, count as the whole leg, from its launch (its started_at,
    else its instance's launch time in RUN's instances, else the run's first launch) to NOW, at most MAX_LEG_HOURS (an
    instance powers itself off after it). When legs.json as a whole cannot be read (LEGS_ERROR, or text that is not
    JSON), each instance of the run EC2 lists counts from its launch to its end (or NOW). ``whole`` is how many legs
    were counted so; ``unknown`` is True when nothing bounds what was spent (no launch known and no MAX_LEG_HOURS)."""
    now = time.time() if now is None else (_epoch(now) if _epoch(now) is not None else time.time())
    instances = [i for i in ((run or {}).get("instances") or []) if isinstance(i, dict)]
    launches = {i.get("instance_id"): _epoch(i.get("launch_time")) for i in instances}
    first = min([t for t in launches.values() if t is not None], default=None)
    cap = float(max_leg_hours) if max_leg_hours not in (None, "") else None
    if not legs_error:
        try:
            entries = _entries(doc)
        except RecoverError as exc:
            legs_error = str(exc)
    if legs_error:
        hours, unknown = 0.0, not instances
        for i in instances:
            start, end = _epoch(i.get("launch_time")), _epoch(i.get("end_time")) or now
            h = _hours_since(start, end, cap)
            unknown = unknown or h is None
            hours += h or 0.0
        return {"hours": round(hours, 2), "whole": len(instances), "unknown": unknown}
    hours, whole, unknown = 0.0, 0, False
    for entry in entries:
        h = leg_hours(entry) if isinstance(entry, dict) else None
        if h is None:
            whole += 1
            leg = entry if isinstance(entry, dict) else {}
            start = _epoch(leg.get("started_at"))
            if start is None or start > now:
                start = launches.get(leg.get("instance_id")) or first
            h = _hours_since(start, now, cap)
            unknown = unknown or h is None
        hours += h or 0.0
    return {"hours": round(hours, 2), "whole": whole, "unknown": unknown}


def spent_hours(legs, run=None, now=None, max_leg_hours=None):
    """Total instance hours of the legs (``spent``), rounded to the hundredth."""
    return spent(legs, run, now, max_leg_hours)["hours"]


# ---------------------------------------------------------------------------------------------
# Which run to recover
# ---------------------------------------------------------------------------------------------
def _iteration(run):
    marker = run.get("marker") or {}
    return marker.get("iteration", 0) if isinstance(marker, dict) else 0


def recoverable(run):
    """(True, why) when RUN can be resumed, else (False, why not and what to do instead)."""
    rid, verdict, reason = run.get("run_id", "?"), run.get("verdict", ""), run.get("reason", "")
    objects = int(run.get("objects") or 0)
    if verdict == "interrupted":
        return True, f"run {rid} is interrupted: {reason}"
    if verdict == "vanished" and objects > 0:
        return True, f"run {rid} vanished ({reason}); its prefix holds {objects} object(s) to resume from"
    if verdict == "vanished":
        return False, (
            f"run {rid} has nothing to resume: {reason}, and nothing under its prefix in the results bucket "
            f"(start it with site.yml -e aws_gpu_instance_run_id={rid} instead)"
        )
    if verdict == "running":
        return False, (f"run {rid} is running ({reason}): nothing to recover; attach to it with site.yml -e aws_gpu_instance_run_id={rid}")
    if verdict == "finished":
        return False, f"run {rid} has finished (iteration {_iteration(run)}): nothing to do"
    if verdict == "failed":
        return False, (
            f"run {rid} failed at iteration {_iteration(run)}: read its log "
            f"(s3 prefix {run.get('prefix', '')}state/training.log); a new leg would fail the same way"
        )
    if verdict == "stopped":
        return False, (f"run {rid} is stopped ({reason}): its instance holds its volume; start it again, or tear the run down, before recovering")
    return False, f"run {rid} has the unknown verdict {verdict!r}"


def select(runs, run_id="", watch=False):
    """Which run recover resumes. RUNS: aws_gpu_runs_info's runs. RUN_ID: the run asked for ('' = any).
    WATCH: a watch (recover_watch) may also take a run that is running, when it is asked for by id.

    Returns {outcome, run_id, candidates, msg}: outcome ``none`` (nothing to recover; run_id ''), ``one`` (run_id is
    the run to resume, or to watch), ``several`` (candidates lists them; the caller must fail and ask for one) or
    ``refused`` (RUN_ID is not recoverable; msg says why and what to do).
    """
    if not isinstance(runs, list):
        raise RecoverError(f"runs must be the list aws_gpu_runs_info returns, got {type(runs).__name__}")
    runs = [r for r in runs if isinstance(r, dict)]
    if run_id:
        found = [r for r in runs if r.get("run_id") == run_id]
        if not found:
            return {
                "outcome": "refused",
                "run_id": run_id,
                "candidates": [],
                "msg": f"No run {run_id} found (no instance, no prefix in the results bucket, no IAM role): nothing to recover.",
            }
        run = found[0]
        if watch and run.get("verdict") == "running":
            return {"outcome": "one", "run_id": run_id, "candidates": [run_id], "msg": f"Watching run {run_id}: {run.get('reason', '')}."}
        ok, why = recoverable(run)
        return {
            "outcome": "one" if ok else "refused",
            "run_id": run_id if ok else "",
            "candidates": [run_id] if ok else [],
            "msg": ("Recovering " if ok else "Not recovering: ") + why + ".",
        }
    chosen = [(r, recoverable(r)[1]) for r in runs if recoverable(r)[0]]
    ids = [run["run_id"] for run, _why in chosen]
    if not chosen:
        return {
            "outcome": "none",
            "run_id": "",
            "candidates": [],
            "msg": f"No interrupted or vanished run to recover ({len(runs)} run(s) looked at): nothing is created.",
        }
    if len(chosen) == 1:
        return {"outcome": "one", "run_id": ids[0], "candidates": ids, "msg": f"Recovering {chosen[0][1]}."}
    listing = "; ".join(why for _run, why in chosen)
    return {
        "outcome": "several",
        "run_id": "",
        "candidates": ids,
        "msg": (f"{len(chosen)} runs could be recovered ({listing}). Pick one: -e aws_gpu_instance_run_id=<{'|'.join(ids)}>. Nothing was created."),
    }


# ---------------------------------------------------------------------------------------------
# What a watch does next
# ---------------------------------------------------------------------------------------------
def _number(value, name, minimum=0.0):
    try:
        number = float(value)
    except (TypeError, ValueError):
        raise RecoverError(f"{name} must be a number, got {value!r}") from None
    if math.isnan(number) or math.isinf(number) or number < minimum:
        raise RecoverError(f"{name} must be a finite number of at least {minimum:g}, got {value!r}")
    return number


def next_action(state):
    """The next step of a watch, from a dict:

    run: the run as aws_gpu_runs_info returns it (verdict, reason, objects, marker, live_instances);
    legs: legs.json (text, document or list; '' or None when there is none yet);
    budget_hours: the total instance hours the run may use over all its legs;
    next_leg_hours: the hours the next leg may take (the plan of the remaining iterations, at most the instance's
    max hours);
    max_legs: the most legs the run may have; legs_launched: legs this watch has launched;
    last_leg_rc: the exit status of the last leg this watch launched (None before the first).

    Returns {action, msg, spent_hours, next_leg_hours, budget_hours, legs, iteration}; action is one of ``finished``
    (stop, done), ``failed`` (stop: the run failed), ``wait`` (the run is going: poll again), ``launch`` (start the
    next leg) or ``refuse`` (stop without launching; msg says why: the budget, the number of legs, a leg that
    failed while its instance still runs, a run that cannot be resumed).
    """
    if not isinstance(state, dict):
        raise RecoverError(f"expects a dict, got {type(state).__name__}")
    run = state.get("run")
    if not isinstance(run, dict) or not run.get("verdict"):
        raise RecoverError("run must be one entry of aws_gpu_runs_info's runs (with a verdict)")
    legs_error = str(state.get("legs_error") or "")
    try:
        legs = [] if legs_error else legs_from(state.get("legs"))
    except RecoverError as exc:
        legs, legs_error = [], str(exc)
    budget = _number(state.get("budget_hours"), "budget_hours", 0.0)
    next_leg = _number(state.get("next_leg_hours"), "next_leg_hours", 0.0)
    max_legs = int(_number(state.get("max_legs", 10), "max_legs", 1))
    launched = int(_number(state.get("legs_launched", 0) or 0, "legs_launched", 0))
    last_rc = state.get("last_leg_rc")
    max_leg = state.get("max_leg_hours")
    if max_leg not in (None, ""):
        max_leg = _number(max_leg, "max_leg_hours", 0.0)
    counted = spent(state.get("legs"), run, state.get("now"), max_leg, legs_error)
    spent_h = counted["hours"]
    rid, verdict, reason = run.get("run_id", "?"), run["verdict"], run.get("reason", "")
    iteration = _iteration(run)
    n_legs = len(legs) if not legs_error else counted["whole"]
    out = {"spent_hours": spent_h, "next_leg_hours": round(next_leg, 2), "budget_hours": budget, "legs": n_legs, "iteration": iteration}
    tally = f"{spent_h:g} h of the {budget:g} h budget spent over {n_legs} leg(s)"
    if legs_error:
        tally += (f" (legs.json cannot be read: {legs_error}; each instance of the run EC2 lists counts from its launch to its "
                  "end or now)")
    elif counted["whole"]:
        tally += (f" ({counted['whole']} of them counted from launch to now: legs.json does not say when they started and "
                  "ended)")

    def done(action, msg):
        return dict(out, action=action, msg=msg)

    marker_state = (run.get("marker") or {}).get("state", "") if isinstance(run.get("marker"), dict) else ""
    if verdict == "finished":
        return done("finished", f"Run {rid} finished at iteration {iteration}; {tally}.")
    if verdict == "failed":
        return done("failed", f"Run {rid} failed at iteration {iteration} ({reason}); {tally}. Read its log; no leg is launched.")
    if verdict == "running":
        if last_rc not in (None, 0) and marker_state != "interrupted":
            return done(
                "refuse",
                (
                    f"Leg {launched} of run {rid} exited with status {last_rc} while the run's instance is "
                    f"still running ({reason}): read the leg's log, then attach with site.yml "
                    f"-e aws_gpu_instance_run_id={rid}. The watch stops; {tally}."
                ),
            )
        return done("wait", f"Run {rid} is running ({reason}); {tally}.")
    ok, why = recoverable(run)
    if not ok:
        return done("refuse", f"Not launching another leg: {why}; {tally}.")
    if counted["unknown"]:
        return done("refuse", (f"Run {rid} is {verdict}, but the hours its legs spent cannot be told: {tally}, and no launch "
                               "time or instance life bounds them. No leg launched; see the run's state/legs.json."))
    if max(len(legs), launched) >= max_legs:
        return done(
            "refuse",
            (
                f"Run {rid} is {verdict} ({reason}) but has had {max(len(legs), launched)} leg(s), the most "
                f"recover_max_legs ({max_legs}) allows: no leg launched; {tally}. Raise recover_max_legs "
                "to go on."
            ),
        )
    if spent_h + next_leg > budget:
        return done(
            "refuse",
            (
                f"Run {rid} is {verdict} at iteration {iteration}, but {tally}, and the next leg may take up "
                f"to {next_leg:.2f} h, which could pass it ({spent_h + next_leg:.2f} h): no leg launched. "
                "Raise recover_budget_hours, or resume it yourself with site.yml -e recover=true."
            ),
        )
    return done(
        "launch",
        (f"Run {rid} is {verdict} at iteration {iteration} ({reason}): launching leg {max(len(legs), launched) + 1} (up to {next_leg:.2f} h more); {tally}."),
    )
