# -*- coding: utf-8 -*-
# Copyright: (c) 2026, mocha-cloud contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""What a teardown removes and keeps, and what it says about it (pure functions, unit-tested directly).

The role aws_gpu_instance (``tasks/teardown.yml``, ``tasks/teardown_results.yml``) finds the project's tagged EC2
resources and removes them, then asks ``mocha.cloud.aws_gpu_runs_info`` for the project's runs and calls:

- ``teardown_plan``: from that answer, the runs torn down now, their roles and instance profiles that are the
  project's, the results deleted (only on request, only in the project's own bucket), the runs that still use the
  bucket, the objects left in it, and whether the bucket itself goes;
- ``teardown_report``: the one line of what was (or would be) removed and the lines of what was kept and why.

Only resources tagged for the project are ever in the plan: a role or instance profile that is not the project's is
left alone, and so is a bucket that is not (aws_gpu_runs_info has read neither).
"""

import json

DELETE_HINT = "teardown_delete_results=true removes them"


class TeardownError(ValueError):
    """An answer that is not of the form aws_gpu_runs_info returns; the message says what is missing."""


def _runs(found):
    if not isinstance(found, dict) or not isinstance(found.get("runs"), list):
        raise TeardownError("needs the answer of mocha.cloud.aws_gpu_runs_info (a dict with a list 'runs')")
    for run in found["runs"]:
        if not isinstance(run, dict) or not run.get("run_id"):
            raise TeardownError(f"each run of aws_gpu_runs_info's answer needs a run_id, got {run!r}")
    return found["runs"]


def _int(value):
    try:
        return int(value or 0)
    except (TypeError, ValueError):
        raise TeardownError(f"a count must be a whole number, got {value!r}") from None


def _has_something(run):
    """A run that still has an instance, a role, an instance profile or results keeps the bucket."""
    return bool(run.get("live_instances") or (run.get("role") or {}).get("exists")
                or (run.get("instance_profile") or {}).get("exists") or _int(run.get("objects")) > 0)


def teardown_plan(found, run_id="", delete_results=False):
    """What goes and what stays, from aws_gpu_runs_info's answer FOUND (asked after the instances were terminated).

    RUN_ID: tear down this run only ('' = every run of the project). DELETE_RESULTS: the torn-down runs' objects go
    too (and the bucket's old versions with the bucket).

    Returns torn (the runs torn down), roles and profiles (theirs, the project's only), emptied (the runs whose
    results are deleted: only with DELETE_RESULTS, only in the project's bucket), others (the other runs that still
    have something, sorted), left_objects (current objects left in the bucket afterwards), drop_bucket (the bucket
    goes: it is the project's, no other run uses it, nothing is left in it, and no old version unless DELETE_RESULTS).
    """
    runs = _runs(found)
    bucket = found.get("bucket") or {}
    ours = bool(bucket.get("ours"))
    delete = bool(delete_results)
    torn = [r for r in runs if r["run_id"] == run_id] if run_id else list(runs)
    torn_ids = {r["run_id"] for r in torn}
    others = sorted({r["run_id"] for r in runs if r["run_id"] not in torn_ids and _has_something(r)})
    left_objects = _int(bucket.get("objects")) - (sum(_int(r.get("objects")) for r in torn) if delete else 0)
    return {
        "torn": torn,
        "roles": [r["role"] for r in torn if (r.get("role") or {}).get("ours")],
        "profiles": [r["instance_profile"] for r in torn if (r.get("instance_profile") or {}).get("ours")],
        "emptied": [r for r in torn if _int(r.get("objects")) > 0] if delete and ours else [],
        "others": others,
        "left_objects": left_objects,
        "drop_bucket": (ours and not others and left_objects == 0
                        and (delete or _int(bucket.get("versions")) == 0)),
    }


def _kept_bucket(plan, bucket, name, project):
    if plan["others"]:
        why = f"runs {', '.join(plan['others'])} of {project} still use it"
    elif plan["left_objects"] > 0:
        why = f"{plan['left_objects']} object(s) are left in it"
    else:
        why = f"{_int(bucket.get('versions'))} old object version(s) are left in it ({DELETE_HINT})"
    return f"bucket {name} kept: {why}"


# What the EC2 part of a teardown found (the answers of the amazon.aws *_info modules), in the order it is reported.
EC2_KINDS = (("instances", "instance_id", "instance"), ("security_groups", "group_id", "security group"),
             ("launch_templates", "launch_template_name", "launch template"), ("keypairs", "key_name", "key pair"))


def teardown_report(plan, found, ec2, region, project, filters, delete_results=False, check_mode=False):
    """{removed, kept, msg}: what the teardown removed (or, in check mode, would remove) and what it kept, and why.

    PLAN: teardown_plan's answer ({} when there is none). FOUND: aws_gpu_runs_info's answer ({} then). EC2: the
    project's EC2 resources removed before, {instances, security_groups, launch_templates, keypairs}, each a list of
    records as the amazon.aws info modules return them. FILTERS: the tag filters they were found by, named when nothing
    was found.
    """
    plan = plan or {}
    found = found or {}
    bucket = found.get("bucket") or {}
    name = bucket.get("name", "")
    ours = bool(bucket.get("ours"))
    removed = [f"{label} {record[key]}" for kind, key, label in EC2_KINDS for record in (ec2 or {}).get(kind) or []]
    removed += [f"instance profile {p['name']}" for p in plan.get("profiles", [])]
    removed += [f"role {r['name']}" for r in plan.get("roles", [])]
    removed += [f"results s3://{name}/{r['prefix']}" for r in plan.get("emptied", [])]
    removed += [f"bucket {name}"] if plan.get("drop_bucket") else []
    kept = []
    if ours and not delete_results:
        kept += [f"results kept in s3://{name}/{r['prefix']} ({DELETE_HINT})"
                 for r in plan.get("torn", []) if _int(r.get("objects")) > 0]
    if ours and plan and not plan.get("drop_bucket"):
        kept.append(_kept_bucket(plan, bucket, name, project))
    kept += [f"not touched: {why}" for why in found.get("refused", [])]
    if removed:
        msg = ("Would remove in " if check_mode else "Removed in ") + f"{region}: " + ", ".join(removed)
    else:
        msg = f"Nothing to remove in {region} for {json.dumps(filters)}"
    return {"removed": removed, "kept": kept, "msg": msg}
