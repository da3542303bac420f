# -*- coding: utf-8 -*-
# Copyright (c) mocha-cloud contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The configured machine as an image: its fingerprint, whether to bake or reuse one, and what the images cost.

A configure (cuda, hdf5, julia_build, mocha) and the prepared CIFAR-10 files take most of an hour before the first
training iteration. The project bakes the configured instance into an AMI once and launches later instances from it.
An image is reused only when everything the controller knows before a launch is the same: the base AMI, the region,
its architecture, the instance type's family (one GPU model per family) and the effective settings of the four roles
that configure the machine. Those make the fingerprint (:func:`fingerprint`), kept in the image's tag; settings that
change only how long a step may take or how often it is polled (:func:`image_settings`) are left out.

An image belongs to the project when it carries the tag ``mocha-cloud:project`` with the project's name; nothing here
ever chooses, lists for deletion or deletes an image without it. An image costs its snapshots' storage every month
(EBS snapshot standard tier, ``run_bill.EBS_SNAPSHOT_GB_MONTH``); :func:`inventory` gives the lines of the bill and of
teardown. Pure functions, unit-tested.
"""

import hashlib
import json

from ansible_collections.mocha.cloud.plugins.module_utils import aws_gpu, run_bill
from ansible_collections.mocha.cloud.plugins.module_utils.names import TAG_PREFIX

# The roles whose settings decide what the configured machine holds.
IMAGE_ROLES = ("cuda", "hdf5", "julia_build", "mocha")
# Settings that change how a step runs (how long it may take, how often it is polled, how many jobs build), never what
# is installed: left out of the fingerprint. The binary's download location is left out too: its sha256 (kept) decides
# what is installed.
IGNORED_SUFFIXES = ("_timeout", "_timeout_s", "_poll_interval_s", "_supervisor", "_lock_timeout")
IGNORED_SETTINGS = frozenset({"julia_build_jobs", "julia_build_memory_per_job_mb", "julia_build_min_free_disk_gb",
                              "julia_build_binary_url_base"})
BAKE_CHOICES = ("auto", "always", "never")
# EBS snapshots, standard tier, per GB-month: the bill's dated table (run_bill.EBS_SNAPSHOT_GB_MONTH; Amazon EBS pricing,
# "EBS Snapshots"). A snapshot is billed for the blocks it stores; an image's first snapshot stores every used block of
# the volume, at most the volume's size.
SNAPSHOT_PRICE_SOURCE = (f"EBS snapshot standard tier, ${run_bill.EBS_SNAPSHOT_GB_MONTH} per GB-month (Amazon EBS pricing, "
                         f"{run_bill.STORAGE_TABLE_REGION}, {run_bill.STORAGE_TABLE_DATE})")
# The tags an image of the project carries (with TAG_PREFIX).
TAG_FINGERPRINT = "fingerprint"
TAG_BAKED_BY = "baked-by-run"
TAG_BAKED_AT = "baked-at"
TAG_BASE_AMI = "base-ami"
# Seconds configure takes on an instance launched from a matching image: every role checks its stamps and changes
# nothing. Replaced by a measured figure when the run plan has one.
VERIFY_SECONDS = 300
VERIFY_SOURCE = ("allowance: on a baked image each role reads its stamps and changes nothing (the offline pipeline's "
                 "configure that changed nothing took about 2 minutes)")
# The phases a matching image saves: what configure installs and the prepared CIFAR-10 files.
BAKED_PHASES = ("cuda", "hdf5", "julia", "mocha", "data")


class ImageError(Exception):
    """A setting or an input that cannot be used, with a message for the operator."""


def image_settings(settings):
    """The settings of IMAGE_ROLES that decide what the machine holds: {name: value}, without the ignored ones (and
    without the journey's own mocha_cloud_* facts, which share the mocha role's prefix)."""
    out = {}
    for name, value in (settings or {}).items():
        if not any(name.startswith(role + "_") for role in IMAGE_ROLES):
            continue
        if name in IGNORED_SETTINGS or name.endswith(IGNORED_SUFFIXES) or name.startswith("mocha_cloud_"):
            continue
        out[name] = value
    return out


def fingerprint(base_ami, region, architecture, instance_type, settings):
    """The fingerprint of the machine a configure makes: 20 hex digits of a sha256 over the base AMI, the region, the
    architecture, the instance type's family and image_settings(settings), in a canonical form (key order does not
    count)."""
    if not base_ami or not region or not architecture:
        raise ImageError(f"a fingerprint needs the base AMI, the region and the architecture (got {base_ami!r}, "
                         f"{region!r}, {architecture!r})")
    family = aws_gpu.family_of(instance_type)
    body = {"base_ami": base_ami, "region": region, "architecture": architecture, "gpu_family": family,
            "settings": image_settings(settings)}
    canonical = json.dumps(body, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(canonical.encode("utf-8")).hexdigest()[:20]


def tag(name):
    return TAG_PREFIX + name


def _tags(image):
    tags = image.get("tags") if isinstance(image.get("tags"), dict) else None
    if tags is None:
        tags = {t.get("Key"): t.get("Value") for t in image.get("Tags") or []}
    return tags


def _first(image, *keys, default=None):
    for key in keys:
        if image.get(key) not in (None, ""):
            return image[key]
    return default


def summary(image, snapshots=None):
    """One image as the plan, the bill and teardown read it, from DescribeImages (boto3 or snake_case keys) and, when
    given, DescribeSnapshots ({snapshot id: snapshot}) for the stored size."""
    tags = _tags(image)
    mappings = _first(image, "block_device_mappings", "BlockDeviceMappings", default=[])
    snaps, size_gb, exact = [], 0.0, True
    for mapping in mappings:
        ebs = mapping.get("ebs") or mapping.get("Ebs") or {}
        sid = ebs.get("snapshot_id") or ebs.get("SnapshotId")
        if not sid:
            continue
        snaps.append(sid)
        snap = (snapshots or {}).get(sid) or {}
        stored = snap.get("full_snapshot_size_in_bytes") or snap.get("FullSnapshotSizeInBytes")
        if stored:
            size_gb += int(stored) / 1e9
        else:
            exact = False
            size_gb += float(ebs.get("volume_size") or ebs.get("VolumeSize") or 0)
    return {
        "image_id": _first(image, "image_id", "ImageId", default=""),
        "name": _first(image, "name", "Name", default=""),
        "state": _first(image, "state", "State", default=""),
        "created": _first(image, "creation_date", "CreationDate", default=""),
        "project": tags.get(tag("project"), ""),
        "fingerprint": tags.get(tag(TAG_FINGERPRINT), ""),
        "baked_by_run": tags.get(tag(TAG_BAKED_BY), ""),
        "baked_at": tags.get(tag(TAG_BAKED_AT), "") or _first(image, "creation_date", "CreationDate", default=""),
        "base_ami": tags.get(tag(TAG_BASE_AMI), ""),
        "snapshot_ids": snaps,
        "size_gb": round(size_gb, 1),
        # True when the size is what the snapshots store; False when it is the volumes' size (an upper bound).
        "size_exact": exact,
        "monthly_usd": round(size_gb * run_bill.EBS_SNAPSHOT_GB_MONTH, 2),
    }


def ours(images, project):
    """The images of IMAGES that carry the project's tag, as summaries; any other image is left out."""
    out = [summary(i) if "image_id" not in i or "snapshot_ids" not in i else i for i in images or []]
    return [i for i in out if i["project"] == project and project]


def bake_wanted(setting, market="on-demand", sweep=False, recover=False):
    """(bake, why) for the setting aws_gpu_instance_bake: always, never, or auto (bake when a later launch is certain
    to reuse the image: a spot run's next leg, a sweep's later runs, a recovery's next leg)."""
    if setting not in BAKE_CHOICES:
        raise ImageError(f"aws_gpu_instance_bake must be one of {', '.join(BAKE_CHOICES)}, got {setting!r}")
    if setting == "always":
        return True, "aws_gpu_instance_bake: always"
    if setting == "never":
        return False, "aws_gpu_instance_bake: never"
    reasons = [why for ok, why in ((market == "spot", "a spot run: its next leg after an interruption launches from it"),
                                   (bool(sweep), "a sweep: its later runs launch from it"),
                                   (bool(recover), "a recovery: its next leg launches from it")) if ok]
    if reasons:
        return True, "auto, " + "; ".join(reasons)
    return False, "auto: an on-demand run that no later launch is certain to reuse (aws_gpu_instance_bake: always bakes it)"


def plan(request):
    """Reuse an image or bake one. REQUEST: base_ami, region, architecture, instance_types (the first choice, then the
    fallbacks), settings (the effective settings of IMAGE_ROLES), images (DescribeImages of this account, any tags),
    project, bake (auto|always|never), market, sweep, recover, run_id; wait_timeout (seconds the launch may wait for a
    pending image) and waited (seconds already waited for it: None before any wait).

    An image is reused when it is available, carries the project's tag and the first choice's fingerprint, and every
    type the launch may try has that fingerprint too (one GPU family); the newest such wins. When none is available but
    one is pending (baked by a run that did not wait for it), the launch waits for it (wait: that image), and after the
    wait uses the base AMI if it is still pending. ``never`` reuses nothing and bakes nothing. Returns fingerprint,
    reuse (a summary or None), wait (a summary or None), bake, why, lines."""
    setting = request.get("bake") or "auto"
    bake, why = bake_wanted(setting, request.get("market") or "on-demand", request.get("sweep"), request.get("recover"))
    types = [t for t in request.get("instance_types") or [] if t]
    if not types:
        raise ImageError("the image plan needs the instance type (aws_gpu_instance_type)")
    prints = {t: fingerprint(request.get("base_ami"), request.get("region"), request.get("architecture"), t,
                             request.get("settings")) for t in types}
    first = prints[types[0]]
    result = {"fingerprint": first, "fingerprints": prints, "reuse": None, "wait": None, "bake": False, "why": why,
              "lines": [], "base_ami": request.get("base_ami")}
    if setting == "never":
        result["lines"] = ["Image: none used or baked (aws_gpu_instance_bake: never)."]
        return result
    others = sorted({t for t, p in prints.items() if p != first})
    same = sorted((i for i in ours(request.get("images"), request.get("project")) if i["fingerprint"] == first),
                  key=lambda i: (i["baked_at"], i["created"]), reverse=True)
    matching = [i for i in same if i["state"] == "available"]
    pending = [i for i in same if i["state"] == "pending"]
    if matching and not others:
        image = matching[0]
        result["reuse"] = image
        result["lines"] = [f"Image: launching from {image['image_id']} ({image['name']}), baked {image['baked_at']} by run "
                           f"{image['baked_by_run'] or 'unknown'} (fingerprint {first}); configure only verifies."]
        return result
    if pending and not others:
        return _pending(result, pending[0], request.get("waited"), request.get("wait_timeout"))
    result["lines"] += [f"Image: {i['image_id']} ({i['name']}) matches but is {i['state']}: not used." for i in same
                        if i["state"] not in ("available", "pending") and not others]
    if matching and others:
        result["lines"] = [f"Image: {matching[0]['image_id']} matches {types[0]} but not {', '.join(others)} (another GPU "
                           "family) that the launch may fall back to: launching from the base AMI."]
    result["bake"] = bake and not others
    result["lines"].append(
        f"Image: none matches fingerprint {first}; " + (
            f"this run bakes one after configure ({why})." if result["bake"] else
            f"no image is baked ({why})." if not others else
            "none is baked: the types the launch may try are of different GPU families."))
    return result


def _pending(result, image, waited, timeout):
    """A matching image still pending: EC2 refuses to launch from it (InvalidAMIID.Unavailable) until it is available.
    Before any wait, the launch waits for it (WAIT_TIMEOUT seconds at most): configuring from the base AMI takes longer
    than an image usually needs to become available. After the wait (WAITED seconds), the launch uses the base AMI and
    no second image with the same fingerprint is baked (the pending one serves the launches after this one)."""
    said = (f"{image['image_id']} ({image['name']}), baked {image['baked_at']} by run {image['baked_by_run'] or 'unknown'} "
            f"(fingerprint {result['fingerprint']})")
    if waited is None:
        result["wait"] = image
        result["lines"] = [f"Image: {said} is still pending: the launch waits for it to become available "
                           f"(at most {timeout or 'the bake wait timeout'} s, aws_gpu_instance_bake_wait_timeout)."]
    else:
        result["lines"] = [f"Image: {said} is still pending after {waited} s: launching from the base AMI, configure runs in "
                           "full; no second image is baked (later launches use this one once it is available)."]
    return result


def with_image(phases, image, measured_seconds=None):
    """The run plan's phases when the instance launches from IMAGE: what the image holds (BAKED_PHASES) becomes one
    verify phase. Returns (phases, seconds saved)."""
    baked = [p for p in phases if p["phase"] in BAKED_PHASES]
    if not image or not baked:
        return list(phases), 0
    seconds = int(measured_seconds) if measured_seconds else VERIFY_SECONDS
    verify = {"phase": "verify", "seconds": seconds,
              "what": f"configure verifies the image {image.get('image_id', '')} (baked {image.get('baked_at', '')} by run "
                      f"{image.get('baked_by_run') or 'unknown'}) and changes nothing",
              "source": VERIFY_SOURCE if not measured_seconds else "measured: a configure that changed nothing"}
    out, placed = [], False
    for p in phases:
        if p["phase"] in BAKED_PHASES:
            if not placed:
                out.append(verify)
                placed = True
            continue
        out.append(p)
    return out, max(0, sum(p["seconds"] for p in baked) - seconds)


def inventory(images, project, snapshots=None, delete=False):
    """The project's images for the bill and teardown: each with its size and monthly cost, the total, the lines a
    person reads, and with DELETE the images to deregister with their snapshots. Images without the project's tag are
    never listed, and so never deleted."""
    mine = [summary(i, snapshots) for i in images or []]
    mine = sorted((i for i in mine if project and i["project"] == project), key=lambda i: i["created"])
    total = round(sum(i["monthly_usd"] for i in mine), 2)
    lines = []
    for i in mine:
        size = (f"{i['size_gb']:g} GB of snapshots" if i["size_exact"]
                else f"at most {i['size_gb']:g} GB of snapshots (the size of its volumes)")
        lines.append(f"image {i['image_id']} ({i['name']}), baked {i['baked_at']} by run {i['baked_by_run'] or 'unknown'}: "
                     f"{size}, about ${i['monthly_usd']:.2f} a month")
    if mine:
        lines.append(f"images of {project}: {len(mine)}, about ${total:.2f} a month ({SNAPSHOT_PRICE_SOURCE}); "
                     + ("deregistered and their snapshots deleted." if delete else
                        "kept; remove them with -e teardown_delete_images=true."))
    return {"images": mine, "monthly_usd": total, "lines": lines, "delete": mine if delete else [],
            "source": SNAPSHOT_PRICE_SOURCE}


def aside_paths(run_dir, autodown_dir, users=("root",), expiry=True):
    """What must not go into an image, as absolute paths on the host (those that exist are moved aside while the image
    is made, then put back): the run directory (its snapshots, log, keeper and job state), the idle watch, every shell
    history and SSH authorized keys of USERS (the run's key pair), and the expiry timer with its armed instance id."""
    homes = ["/root" if u == "root" else f"/home/{u}" for u in dict.fromkeys(users)]
    paths = [run_dir, autodown_dir]
    for home in homes:
        paths += [f"{home}/.bash_history", f"{home}/.python_history", f"{home}/.lesshst", f"{home}/.viminfo",
                  f"{home}/.ssh/authorized_keys", f"{home}/.julia_history"]
    if expiry:
        paths += ["/etc/mocha-cloud", "/usr/local/sbin/mocha-cloud-expiry", "/etc/systemd/system/mocha-cloud-expiry.timer",
                  "/etc/systemd/system/mocha-cloud-expiry.service",
                  "/etc/systemd/system/timers.target.wants/mocha-cloud-expiry.timer",
                  "/var/lib/systemd/timers/stamp-mocha-cloud-expiry.timer"]
    bad = [p for p in paths if not isinstance(p, str) or not p.startswith("/") or p.rstrip("/") in ("", "/etc", "/usr", "/var")]
    if bad:
        raise ImageError(f"paths to keep out of the image must be absolute and below a directory: {bad}")
    return paths
