# -*- coding: utf-8 -*-
# Copyright (c) mocha-cloud contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""What this project's runs cost, what still runs, what is left and what it costs per month: the figures and the lines
of the bill at the end of a journey (site.yml) and of playbooks/status.yml, from one function, report().

Sources (all read by the playbooks, none here):
- the runs as mocha.cloud.aws_gpu_runs_info gives them: each instance's type, zone, market, state, launch and end time
  and expiry tag; each run's verdict and the bytes under its prefix in the results bucket;
- each run's legs.json (the state keeper's record, state/legs.json in the bucket): the hourly price the controller read
  at run time for each instance (the on-demand list price, or the spot price of DescribeSpotPriceHistory);
- the project's machine images, if any (their snapshots' sizes).

Rules:
- an instance is billed from its launch to its end (now while it runs), by the second with a one-minute minimum (EC2's
  rule for Linux instances); its price is the one its leg recorded, else the dated list price for on demand; a spot
  instance without a leg has no known price;
- S3 Standard and EBS snapshot storage are priced per GB-month from the dated table below (us-east-1; other regions
  differ by a few percent, and the lines say so);
- a run that can be resumed is one mocha.cloud.recover_select would resume (recover.recoverable).
Pure: values in, values out, unit-tested.
"""

from ansible_collections.mocha.cloud.plugins.module_utils import aws_gpu, recover
from ansible_collections.mocha.cloud.plugins.module_utils.run_legs import non_negative as _price
from ansible_collections.mocha.cloud.plugins.module_utils.run_legs import parse_time

STORAGE_TABLE_DATE = "2025-06-15"
STORAGE_TABLE_REGION = "us-east-1"
S3_STANDARD_GB_MONTH = 0.023  # S3 Standard, first 50 TB per month
EBS_SNAPSHOT_GB_MONTH = 0.05  # EBS snapshots, standard tier
GIB = 1024 ** 3
MIN_BILLED_SECONDS = 60
LIVE = ("pending", "running")
ENDED = ("shutting-down", "terminated")


def hms(seconds):
    seconds = int(round(seconds or 0))
    return f"{seconds // 3600}h{seconds % 3600 // 60:02d}m{seconds % 60:02d}s"


def money(value):
    return "n/a" if value is None else (f"${value:.2f}" if value >= 0.01 or value == 0 else f"${value:.4f}")


def leg_prices(legs):
    """{instance id: (hourly USD, market) the leg recorded} from legs.json (text, document or list; unreadable: {})."""
    try:
        found = recover.legs_from(legs)
    except recover.RecoverError:
        return {}
    out = {}
    for leg in found:
        price = _price(leg.get("hourly_usd"))
        market = leg.get("market") if leg.get("market") in ("on-demand", "spot") else None
        if isinstance(leg.get("instance_id"), str) and leg["instance_id"] and price is not None:
            out[leg["instance_id"]] = (price, market)
    return out


def per_hour(value):
    """A price per hour as a person reads it: $0.526/h, $0.00001/h (a spot price can be tiny)."""
    if value is None:
        return "price unknown"
    return "$" + (f"{value:.6f}".rstrip("0").rstrip(".") if value < 0.01 else f"{value:g}") + "/h"


def instance_bill(inst, prices, now):
    """One instance: {instance_id, run_id, instance_type, zone, market, state, up_since, until, seconds, hourly_usd,
    price_source, cost_usd, live, expires_at}. NOW: an aware datetime."""
    start = parse_time(inst.get("launch_time"))
    state = inst.get("state", "")
    live = state in LIVE
    end = now if live else (parse_time(inst.get("end_time")) or (now if state in ("stopping", "stopped") else None))
    seconds = None
    if start is not None and end is not None and end >= start:
        seconds = max(MIN_BILLED_SECONDS, (end - start).total_seconds())
    hourly, market = prices.get(inst.get("instance_id"), (None, None))
    source = "the price its leg recorded at run time"
    # The market the leg recorded (what was paid), where EC2's record does not say spot (InstanceLifecycle).
    market = market or inst.get("market", "")
    if hourly is None and market == "on-demand":
        hourly, _why = aws_gpu.list_price(inst.get("instance_type") or "")
        source = f"list price of {aws_gpu.PRICE_TABLE_DATE} ({aws_gpu.PRICE_TABLE_REGION})"
    if hourly is None:
        source = "no price known (a spot instance without a leg)"
    cost = None if hourly is None or seconds is None else round(seconds / 3600.0 * hourly, 4)
    return {
        "instance_id": inst.get("instance_id", ""), "run_id": inst.get("run_id", ""),
        "instance_type": inst.get("instance_type", ""), "zone": inst.get("availability_zone", ""),
        "market": market, "state": state, "state_reason": inst.get("state_reason_code", ""),
        "up_since": inst.get("launch_time", ""), "until": "" if live else inst.get("end_time", ""),
        "seconds": seconds, "hourly_usd": hourly, "price_source": source, "cost_usd": cost, "live": live,
        "expires_at": inst.get("expires_at", ""),
    }


def report(spec):
    """The bill (scope 'journey': one run, with the journey's wall time) or the status (scope 'status': every run).

    SPEC: {scope, project, region, now (ISO 8601 UTC), run_id, started_at (epoch seconds or None), runs, legs ({run id:
    legs.json}), images ([{image_id, name, size_gb}] or ec2_ami_info's images), autodown ({keep, idle_minutes} or {}), onprem_hosts ([names]),
    aws (whether AWS was asked)}. Returns {instances, results, images, total_cost_usd, hourly_running_usd,
    monthly_usd, command, lines}."""
    now = parse_time(spec.get("now"))
    if now is None:
        raise ValueError(f"now must be an ISO 8601 UTC time, got {spec.get('now')!r}")
    scope, run_id = spec.get("scope") or "journey", spec.get("run_id") or ""
    runs = [r for r in spec.get("runs") or [] if isinstance(r, dict) and (scope == "status" or r.get("run_id") == run_id)]
    legs = spec.get("legs") or {}

    instances, results = [], []
    for run in runs:
        prices = leg_prices(legs.get(run.get("run_id")))
        for inst in run.get("instances") or []:
            instances.append(instance_bill(dict(inst, run_id=inst.get("run_id") or run.get("run_id")), prices, now))
        size = int(run.get("bytes") or 0)
        if int(run.get("objects") or 0) > 0:
            ok, why = recover.recoverable(run)
            results.append({"run_id": run.get("run_id"), "prefix": run.get("prefix", ""), "objects": int(run["objects"]),
                            "bytes": size, "monthly_usd": round(size / GIB * S3_STANDARD_GB_MONTH, 4),
                            "verdict": run.get("verdict", ""), "resumable": ok, "why": why})
    images = []
    for image in spec.get("images") or []:
        if not isinstance(image, dict):
            continue
        size = _price(image.get("size_gb"))
        if size is None:  # as ec2_ami_info gives it: the snapshots' volume sizes
            size = sum(_price((m.get("ebs") or {}).get("volume_size")) or 0.0
                       for m in image.get("block_device_mappings") or [] if isinstance(m, dict))
        images.append({"image_id": image.get("image_id", ""), "name": image.get("name", ""), "size_gb": size,
                       "monthly_usd": round(size * EBS_SNAPSHOT_GB_MONTH, 4)})

    known = [i["cost_usd"] for i in instances if i["cost_usd"] is not None]
    total = round(sum(known), 4) if known else None
    running = [i for i in instances if i["live"]]
    hourly_running = round(sum(i["hourly_usd"] or 0.0 for i in running), 4)
    monthly = round(sum(r["monthly_usd"] for r in results) + sum(i["monthly_usd"] for i in images), 4)
    teardown = "ansible-playbook playbooks/teardown.yml"
    if scope == "journey" and run_id:
        teardown += f" -e aws_gpu_instance_teardown_run_id={run_id}"
    command = teardown + " -e teardown_delete_results=true" if (running or results or images or any(
        i["state"] in ("stopping", "stopped") for i in instances)) else ""
    if command and images:
        command += " -e teardown_delete_images=true"
    out = {"instances": instances, "results": results, "images": images, "total_cost_usd": total,
           "hourly_running_usd": hourly_running, "monthly_usd": monthly, "command": command}
    out["lines"] = lines(spec, out, now)
    return out


def _instance_line(i):
    hours = "n/a" if i["seconds"] is None else f"{i['seconds'] / 3600.0:.3f} h"
    price = per_hour(i["hourly_usd"])
    how = i["state"] + (f" ({i['state_reason']})" if i["state_reason"] and not i["live"] else "")
    return (f"{i['instance_id']} {i['instance_type']} {i['zone'] or '?'} {i['market']}: {how}, up since {i['up_since'] or '?'}"
            + (f" until {i['until']}" if i["until"] else "") + f", {hours} at {price} = {money(i['cost_usd'])}")


def lines(spec, out, now):
    scope, project, region = spec.get("scope") or "journey", spec.get("project") or "", spec.get("region") or ""
    autodown = spec.get("autodown") or {}
    head = (f"The bill of run {spec.get('run_id')} ({project}, {region})" if scope == "journey"
            else f"What runs and what it costs ({project}, {region}, {now.strftime('%Y-%m-%dT%H:%M:%SZ')})")
    text = [head + ":"]
    started = spec.get("started_at")
    if scope == "journey" and isinstance(started, (int, float)) and not isinstance(started, bool):
        text.append(f"  wall time      {hms(now.timestamp() - started)} (this journey)")
    if spec.get("onprem_hosts"):
        text.append(f"  hosts          {', '.join(spec['onprem_hosts'])} (static inventory): nothing billed by this project, never shut down by it")
    if not spec.get("aws"):
        text.append("  AWS            not used by this journey: nothing runs or is left there")
        return text
    label = "leg" if scope == "journey" else "instance"
    for n, i in enumerate(out["instances"], start=1):
        text.append(f"  {label} {n:<10} " + (f"run {i['run_id']}: " if scope == "status" else "") + _instance_line(i))
    if not out["instances"]:
        text.append("  instances      none")
    else:
        text.append(f"  total          {money(out['total_cost_usd'])} for "
                    f"{sum((i['seconds'] or 0) for i in out['instances']) / 3600.0:.3f} instance-hours "
                    "(billed by the second, one minute at least; the price each instance's leg read at run time: on demand or spot)")
    running = [i for i in out["instances"] if i["live"]]
    if running:
        for i in running:
            ends = (f"until its expiry {i['expires_at']}" if autodown.get("keep") or not autodown
                    else f"until {autodown['idle_minutes']:g} min after its training ends (its idle watch), "
                         f"{'at the latest ' + i['expires_at'] if i['expires_at'] else 'or its expiry'}")
            text.append(f"  still running  {i['instance_id']} ({i['run_id']}), {per_hour(i['hourly_usd'])}, {ends}"
                        + (" (aws_gpu_instance_keep)" if autodown.get("keep") else ""))
    else:
        text.append("  still running  nothing")
    for r in out["results"]:
        text.append(f"  left           results s3://.../{r['prefix']} ({r['objects']} object(s), {r['bytes'] / 1e6:.1f} MB): "
                    f"{money(r['monthly_usd'])}/month; run {r['verdict']}"
                    + ("; resumable with ansible-playbook playbooks/recover.yml -e aws_gpu_instance_run_id=" + r["run_id"] if r["resumable"] else ""))
    for image in out["images"]:
        text.append(f"  left           image {image.get('image_id')} {image.get('name', '')} ({image['size_gb']:g} GB of snapshots): "
                    f"{money(image['monthly_usd'])}/month at most")
    if not out["results"] and not out["images"]:
        text.append("  left           nothing")
    elif out["monthly_usd"] is not None:
        text.append(f"  per month      {money(out['monthly_usd'])} (S3 Standard ${S3_STANDARD_GB_MONTH}/GB-month, snapshots "
                    f"${EBS_SNAPSHOT_GB_MONTH}/GB-month: {STORAGE_TABLE_REGION} prices of {STORAGE_TABLE_DATE})")
    text.append(f"  remove it all  {out['command']}" if out["command"] else "  remove it all  nothing to remove")
    return text
