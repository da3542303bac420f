# -*- coding: utf-8 -*-
# Copyright (c) mocha-cloud contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Autodown: an instance this project launched ends with its run, and never a box it did not launch.

Two ends, as in SkyPilot's autodown (the idle logic runs on the machine, so the laptop may close) and dstack's idle
handling (the server ends idle instances):
- the controller: when the train phase has the results home and nothing else trains or waits to train on a host (a
  sweep's queue included), it terminates that instance after the state keeper's last round, unless the user keeps it
  (aws_gpu_instance_keep); then the run's other resources go as with teardown (controller_plan());
- the instance: an idle watch (plugins/module_utils/idle_watch.py, run by the cifar10 role) powers it off a grace period
  (aws_gpu_instance_idle_minutes) after its last training and keeper end, when the controller is not there to do it
  (arm_plan() decides where it is armed).

Both start from one rule, launched_by_project(): a host counts as an instance of this project only when it comes
from the project's EC2 inventory (group mocha_cloud_ec2) with a well-formed instance id, the project's tag and a run id,
and nothing of it was refused. A host of a static inventory (on-prem, localhost, a test container) never does,
whatever the settings say.

store_plan() decides whether a run that finished while the controller was away is brought home from its S3 state
instead of launching anything. Pure functions, unit-tested.
"""

import re

from ansible_collections.mocha.cloud.plugins.module_utils.names import NAME_RE, TAG_PREFIX

INSTANCE_ID_RE = re.compile(r"i-[0-9a-f]{8}(?:[0-9a-f]{9})?")
EC2_GROUP = "mocha_cloud_ec2"
IDLE_MINUTES_MAX = 1440.0


class AutodownError(ValueError):
    """A value that is refused; the message says what was wrong and how to fix it."""


def settings_problems(keep, idle_minutes):
    """What is wrong with aws_gpu_instance_keep and aws_gpu_instance_idle_minutes ([] when nothing)."""
    problems = []
    if not isinstance(keep, bool):
        problems.append(f"aws_gpu_instance_keep must be true or false, got {keep!r}")
    if isinstance(idle_minutes, bool) or not isinstance(idle_minutes, (int, float)):
        problems.append(f"aws_gpu_instance_idle_minutes must be a number of minutes, got {idle_minutes!r}")
    elif not 0 < float(idle_minutes) <= IDLE_MINUTES_MAX:
        problems.append(f"aws_gpu_instance_idle_minutes must be more than 0 and at most {IDLE_MINUTES_MAX:g} (a day), "
                        f"got {idle_minutes!r}")
    return problems


def settings(keep, idle_minutes, project):
    """The published form (the fact aws_gpu_instance_autodown): {keep, idle_minutes, project}; AutodownError when
    a value is refused."""
    problems = settings_problems(keep, idle_minutes)
    if not isinstance(project, str) or not NAME_RE.fullmatch(project):
        problems.append(f"aws_gpu_instance_project must be a project name, got {project!r}")
    if problems:
        raise AutodownError("; ".join(problems))
    return {"keep": keep, "idle_minutes": float(idle_minutes), "project": project}


def launched_by_project(evidence):
    """(True, what it is) when the host is an instance this project launched, else (False, why not).

    EVIDENCE: {groups (the host's group_names), instance_id (ec2_instance_id), tags (ec2_tags), project, refused
    (mocha_cloud_refused)}. Only the project's EC2 inventory puts a host in mocha_cloud_ec2 and gives it ec2_ values."""
    evidence = evidence if isinstance(evidence, dict) else {}
    groups = evidence.get("groups") or []
    if EC2_GROUP not in groups:
        return False, "not a host of the project's EC2 inventory (a static inventory: on-prem, localhost): never shut down"
    instance_id = evidence.get("instance_id")
    if not isinstance(instance_id, str) or not INSTANCE_ID_RE.fullmatch(instance_id):
        return False, f"no EC2 instance id ({instance_id!r}): never shut down"
    tags = evidence.get("tags") if isinstance(evidence.get("tags"), dict) else {}
    project = evidence.get("project")
    if not project or tags.get(TAG_PREFIX + "project") != project:
        return False, (f"instance {instance_id} is not tagged {TAG_PREFIX}project={project} "
                       f"(it has {tags.get(TAG_PREFIX + 'project')!r}): not this project's, never shut down")
    run_id = tags.get(TAG_PREFIX + "run-id")
    if not isinstance(run_id, str) or not NAME_RE.fullmatch(run_id):
        return False, f"instance {instance_id} has no well-formed {TAG_PREFIX}run-id tag ({run_id!r}): never shut down"
    if evidence.get("refused"):
        return False, f"instance {instance_id} was refused by the inventory ({'; '.join(map(str, evidence['refused']))}): never shut down"
    return True, f"instance {instance_id} of run {run_id}, launched by project {project}"


def arm_plan(evidence, autodown, active):
    """Whether the cifar10 role arms the host's idle watch: {action: arm | disarm | none, reason, instance_id,
    idle_seconds}.

    AUTODOWN: the published settings ({} when the aws_gpu_instance role published none: nothing is armed). ACTIVE: a
    training was started or found running by this run of the role. A watch is armed only on an instance of the
    project, not kept, while a training goes (the controller ends an instance whose run is over and home itself); it
    is disarmed where it is armed and the instance is kept, or the host is not the project's."""
    autodown = autodown if isinstance(autodown, dict) else {}
    ours, why = launched_by_project(dict(evidence or {}, project=autodown.get("project")))
    out = {"instance_id": (evidence or {}).get("instance_id") if ours else "", "idle_seconds": None}
    if not autodown:
        return dict(out, action="disarm", reason="no autodown settings published (aws_gpu_instance_autodown): nothing armed")
    if not ours:
        return dict(out, action="disarm", reason=why)
    if autodown.get("keep"):
        return dict(out, action="disarm", reason=f"{why}: kept (aws_gpu_instance_keep), it runs until its expiry")
    if not active:
        return dict(out, action="none", reason=f"{why}: no training started or running here now (the controller ends it when the run is home)")
    seconds = round(float(autodown["idle_minutes"]) * 60.0, 1)
    return dict(out, action="arm", idle_seconds=seconds,
                reason=f"{why}: powers itself off {autodown['idle_minutes']:g} min after its last training ends, if nobody ends it first")


def host_done(summary, sweep=None):
    """(done, why) for one host: its run (or its whole sweep queue) ended, its results are home, nothing runs.

    SUMMARY: the cifar10 role's cifar10_run_summary ({run_id, state, ended, running, results_home, keeper_running}),
    None when the role did not get that far on the host. SWEEP: {assigned: variants given to the host, records: the
    sweep's mocha_cloud_sweep_records of the host} for a sweep, else None."""
    if sweep is not None:
        records = [r for r in sweep.get("records") or [] if isinstance(r, dict)]
        assigned = int(sweep.get("assigned") or 0)
        pending = assigned - len(records)
        if pending > 0:
            return False, f"{pending} of its {assigned} sweep variant(s) have not trained yet"
        bad = [f"{r.get('variant')} {r.get('status')}" for r in records if r.get("status") != "finished"]
        if bad:
            return False, "sweep variant(s) not finished: " + ", ".join(bad) + " (a later run retries them on this host)"
    if not isinstance(summary, dict) or not summary:
        return False, "the train phase did not report on it (unreachable, failed, check mode or detached)"
    if summary.get("running"):
        return False, f"run {summary.get('run_id')} is still training ({summary.get('state')})"
    if not summary.get("ended"):
        return False, f"run {summary.get('run_id')} has not ended ({summary.get('state')})"
    if not summary.get("results_home"):
        return False, f"the results of run {summary.get('run_id')} are not home"
    if summary.get("keeper_running"):
        return False, f"the state keeper of run {summary.get('run_id')} has not finished its last round"
    return True, f"run {summary.get('run_id')} {str(summary.get('state') or 'ended').split(' ', maxsplit=1)[0]}, its results are home"


def controller_plan(hosts, autodown):
    """What the controller ends after the train phase.

    HOSTS: one dict per host of gpu_hosts: {host, evidence (launched_by_project's), summary, sweep, expires_at}.
    Returns {hosts: [{host, instance_id, run_id, action: terminate | keep | wait | skip, reason}], terminate: [instance
    ids], runs: [run ids whose every instance in the inventory ends now: their resources go as with teardown], lines}."""
    autodown = autodown if isinstance(autodown, dict) else {}
    out, by_run = [], {}
    for entry in hosts or []:
        entry = entry if isinstance(entry, dict) else {}
        evidence = dict(entry.get("evidence") or {}, project=autodown.get("project"))
        ours, why = launched_by_project(evidence)
        tags = evidence.get("tags") if isinstance(evidence.get("tags"), dict) else {}
        run_id = tags.get(TAG_PREFIX + "run-id", "") if ours else ""
        row = {"host": str(entry.get("host") or ""), "instance_id": evidence.get("instance_id") if ours else "",
               "run_id": run_id}
        if not autodown:
            row.update(action="skip", reason="no autodown settings published: nothing ended")
        elif not ours:
            row.update(action="skip", reason=why)
        else:
            done, state = host_done(entry.get("summary"), entry.get("sweep"))
            if not done:
                row.update(action="wait", reason=f"{state}: kept for now"
                           + (f" (its idle watch ends it {autodown['idle_minutes']:g} min after its training)" if not autodown.get("keep") else ""))
            elif autodown.get("keep"):
                row.update(action="keep", reason=f"{state}; kept (aws_gpu_instance_keep) until its expiry {entry.get('expires_at') or '(unknown)'}")
            else:
                row.update(action="terminate", reason=f"{state}: terminated now")
        out.append(row)
        if run_id:
            by_run.setdefault(run_id, []).append(row["action"])
    runs = sorted(r for r, actions in by_run.items() if actions and all(a == "terminate" for a in actions))
    lines = [f"{r['host']}: {r['reason']}" for r in out]
    return {"hosts": out, "terminate": [r["instance_id"] for r in out if r["action"] == "terminate"], "runs": runs,
            "lines": lines}


def store_plan(run, max_iter, restart_finished=False):
    """Whether a run's results come home from its S3 state instead of launching: {from_store, reason, host, snapshot}.

    RUN: the run as mocha.cloud.aws_gpu_runs_info gives it (None when nothing of it exists). Only a run whose state.json
    says finished at max_iter or later, with no instance left, is brought home from the store; a finished run asked for
    more iterations (or cifar10_restart_finished) launches an instance that resumes it. host and snapshot (from
    state.json, in their strict forms) name where the results go (artifacts/<host>/<run id>/) and the final snapshot."""
    if not isinstance(run, dict) or not run:
        return {"from_store": False, "reason": "no earlier run of this id in the account", "host": "", "snapshot": ""}
    marker = run.get("marker") if isinstance(run.get("marker"), dict) else {}
    rid = run.get("run_id")
    if run.get("verdict") == "vanished" and not run.get("instances") and not run.get("marker") and not run.get("objects"):
        return {"from_store": False, "reason": f"no earlier run {rid} in the account: a new one starts", "host": "", "snapshot": ""}
    if run.get("verdict") != "finished":
        return {"from_store": False, "host": "", "snapshot": "",
                "reason": f"run {rid} is {run.get('verdict')} ({run.get('reason')}): not brought home from its store"}
    if run.get("live_instances"):
        return {"from_store": False, "host": "", "snapshot": "",
                "reason": f"run {rid} finished and its instance {', '.join(run['live_instances'])} is still there"}
    iteration = marker.get("iteration") or 0
    if iteration < int(max_iter):
        return {"from_store": False, "host": "", "snapshot": "",
                "reason": f"run {rid} finished at iteration {iteration}; cifar10_max_iter {max_iter} asks for more: a new instance resumes it"}
    if restart_finished:
        return {"from_store": False, "host": "", "snapshot": "",
                "reason": f"run {rid} finished; cifar10_restart_finished asks to train it again on a new instance"}
    if not marker.get("host") or not marker.get("snapshot"):
        return {"from_store": False, "host": "", "snapshot": "",
                "reason": f"run {rid} finished, but its state.json names no usable host and snapshot: nothing to bring home"}
    return {"from_store": True, "host": marker["host"], "snapshot": marker["snapshot"],
            "reason": f"run {rid} finished at iteration {iteration} and no instance of it is left: its results come home from "
                      f"its S3 state; nothing is launched"}
