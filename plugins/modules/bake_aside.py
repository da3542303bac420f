#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright (c) mocha-cloud contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

DOCUMENTATION = r"""
---
module: bake_aside
short_description: Keep what is private or armed out of an image of a running host, then put it back
version_added: "0.1.0"
description:
  - With O(state=aside), moves each of O(paths) that exists into O(holding_dir), a directory on a memory file system
    (tmpfs, which no disk snapshot holds), records where each came from, and flushes the file systems (C(sync)), so that
    an image made now (EC2 CreateImage with no reboot, a crash-consistent copy of what is on the volumes) holds none of
    them while the host keeps running.
  - With O(state=back), moves each back where it was (owner, mode and times kept) and removes O(holding_dir).
  - Refuses, changing nothing, when O(holding_dir) is not on tmpfs, when an earlier O(state=aside) was never put back
    (O(state=back) first), or when one of O(jobs) (a job supervisor's C(jobctl)) says its job is running.
author:
  - mocha-cloud contributors (@mocha-cloud)
options:
  paths:
    description: Absolute paths (files or directories) to keep out of the image; those that do not exist are skipped.
    type: list
    elements: path
    default: []
  holding_dir:
    description: Where they wait meanwhile; it must be on a tmpfs file system.
    type: path
    default: /dev/shm/mocha-cloud-bake
  jobs:
    description: C(jobctl) programs whose C(status) must not say running (a training, the state keeper, the idle watch).
    type: list
    elements: path
    default: []
  state:
    description: V(aside) before the image is made, V(back) after.
    type: str
    choices: [aside, back]
    required: true
extends_documentation_fragment:
  - ansible.builtin.action_common_attributes
attributes:
  check_mode:
    support: full
  diff_mode:
    support: none
  platform:
    platforms: posix
"""

EXAMPLES = r"""
- name: Keep the run directory and the authorized keys out of the image
  mocha.cloud.bake_aside:
    paths: [/var/lib/mocha-cifar10/run, /home/ubuntu/.ssh/authorized_keys]
    jobs: [/var/lib/mocha-cifar10/run/jobctl]
    state: aside

- name: Put them back once the image has been started
  mocha.cloud.bake_aside:
    state: back
"""

RETURN = r"""
moved:
  description: The paths moved (or that would be, in check mode), in order.
  returned: always
  type: list
  elements: str
"""

import json  # noqa: E402 (ansible-test wants imports after DOCUMENTATION)
import os  # noqa: E402

from ansible.module_utils.basic import AnsibleModule  # noqa: E402
from ansible_collections.mocha.cloud.plugins.module_utils import job  # noqa: E402

MANIFEST = "manifest.json"


def fs_type(path, mountinfo_text):
    """The file system type of the mount holding PATH, from /proc/self/mountinfo's text (the longest mount point that
    is a prefix of PATH)."""
    best, kind = "", ""
    for line in mountinfo_text.splitlines():
        left, right = line.split(" - ", 1) if " - " in line else (line, "")
        fields = left.split()
        if len(fields) < 5 or not right:
            continue
        point = fields[4].replace("\\040", " ")
        if (path == point or path.startswith(point.rstrip("/") + "/")) and len(point) >= len(best):
            best, kind = point, right.split()[0]
    return kind


def running_jobs(module, jobs):
    """The jobs of JOBS (jobctl paths) whose status says running."""
    busy = []
    for ctl in jobs:
        if not os.path.exists(ctl):
            continue
        rc, out, dummy = module.run_command([ctl, "status"], environ_update={"LC_ALL": "C"})
        try:
            status = job.parse_status(out) if rc == 0 else {}
        except job.JobError:
            status = {}
        if status.get("running"):
            busy.append(f"{status.get('job') or ctl} ({ctl})")
    return busy


def main():
    module = AnsibleModule(
        argument_spec=dict(paths=dict(type="list", elements="path", default=[]),
                           holding_dir=dict(type="path", default="/dev/shm/mocha-cloud-bake"),
                           jobs=dict(type="list", elements="path", default=[]),
                           state=dict(type="str", choices=["aside", "back"], required=True)),
        supports_check_mode=True,
    )
    holding, state = module.params["holding_dir"], module.params["state"]
    manifest = os.path.join(holding, MANIFEST)
    mv = module.get_bin_path("mv", required=True)

    if state == "back":
        if not os.path.exists(manifest):
            module.exit_json(changed=False, moved=[])
        with open(manifest, encoding="utf-8") as f:
            entries = json.load(f)
        if module.check_mode:
            module.exit_json(changed=bool(entries), moved=[e["path"] for e in entries])
        moved = []
        for entry in entries:
            held = os.path.join(holding, entry["held"])
            if os.path.lexists(held):
                os.makedirs(os.path.dirname(entry["path"]), exist_ok=True)
                rc, out, err = module.run_command([mv, "-T", held, entry["path"]])
                if rc != 0:
                    module.fail_json(msg=f"could not put {entry['path']} back from {held}: {err.strip()}; it is still in "
                                         f"{holding} (memory: it is lost at the next reboot). Move it back by hand.",
                                     rc=rc, stdout=out, stderr=err, moved=moved)
                moved.append(entry["path"])
        os.remove(manifest)
        os.rmdir(holding)
        module.exit_json(changed=True, moved=moved)

    if os.path.exists(manifest):
        module.fail_json(msg=f"{manifest} says paths moved aside for an earlier image were never put back: run this "
                             "module with state=back first (the journey does it when it bakes). Nothing was moved.")
    busy = running_jobs(module, module.params["jobs"])
    if busy:
        module.fail_json(msg=f"a job runs on this host: {', '.join(busy)}. An image made now would hold its half-written "
                             "state: bake when nothing trains (a journey bakes before it starts training). Nothing was moved.",
                         busy=busy)
    parent = os.path.dirname(holding.rstrip("/")) or "/"
    with open("/proc/self/mountinfo", encoding="utf-8") as f:
        kind = fs_type(parent, f.read())
    if kind != "tmpfs":
        module.fail_json(msg=f"{parent} is on {kind or 'an unknown file system'}, not tmpfs: what is moved there would go "
                             "into the image. Give holding_dir a directory on tmpfs (/dev/shm or /run). Nothing was moved.")
    paths = [p for p in module.params["paths"] if os.path.lexists(p)]
    if module.check_mode or not paths:
        module.exit_json(changed=bool(paths), moved=paths)
    os.makedirs(holding, mode=0o700)
    entries, moved = [], []
    for index, path in enumerate(paths):
        entry = {"path": path, "held": str(index)}
        entries.append(entry)
        with open(manifest, "w", encoding="utf-8") as f:  # written before each move: a failure leaves a true record
            json.dump(entries, f)
        rc, out, err = module.run_command([mv, "-T", path, os.path.join(holding, entry["held"])])
        if rc != 0:
            module.fail_json(msg=f"could not move {path} aside: {err.strip()}. Run this module with state=back to put "
                                 "back what was moved.", rc=rc, stdout=out, stderr=err, moved=moved)
        moved.append(path)
    os.sync()
    module.exit_json(changed=True, moved=moved)


if __name__ == "__main__":
    main()
