#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright (c) mocha-cloud contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

DOCUMENTATION = r"""
---
module: snapshot_state
short_description: Find the newest complete Mocha snapshot, or check a snapshot against its sha256
version_added: "0.1.0"
description:
  - With O(dir), finds the newest complete C(snapshot-NNNNNN.jld) in a Mocha snapshot directory and returns its
    name, iteration, size, sha256 and modification time. A snapshot is complete when a newer one exists or the run
    has ended (O(running=false)), and it carries the HDF5 signature at offset 0, 512, 1024, 2048, ... (a JLD file is
    HDF5 with a 512-byte user block). While the run goes on, the newest file may still be written and is skipped.
  - With O(path) and O(sha256), checks that the snapshot has that sha256 and an HDF5 signature, and fails with a
    message naming the file and what to do when it does not. With O(recorded_settings) as well (the training settings
    its state.json records), it also fails when they are not O(settings) (this run's), as the snapshot is another
    experiment's.
  - With O(copy), reads the controller copy of a run's state in that directory (its C(state.json), written by the
    cifar10 role) and checks the snapshot it names as with O(path) (its sha256, its HDF5 signature and, with
    O(settings), the training settings it records). No copy there (no C(state.json), or one naming no snapshot) returns
    RV(snapshot) null.
  - It changes nothing.
author:
  - mocha-cloud contributors (@mocha-cloud)
options:
  dir:
    description: The snapshot directory to look in.
    type: path
  running:
    description: Whether the run that writes the snapshots still goes on.
    type: bool
    default: true
  path:
    description: A snapshot to check (with O(sha256)).
    type: path
  sha256:
    description: The sha256 O(path) must have.
    type: str
  settings:
    description:
      - The training settings of this run (C(lr_stages), C(momentum), C(weight_decay), C(batch_size)). With O(dir) they
        are returned in one form (RV(settings)), for the state.json that names the snapshot; with O(path) they are
        compared with O(recorded_settings).
    type: dict
  recorded_settings:
    description: The training settings the state of O(path) records; none recorded (an older state) is not compared.
    type: dict
  copy:
    description: The directory of a controller copy of the run's state (C(state.json) and the snapshot it names).
    type: path
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
- name: Find the newest complete snapshot of a run that goes on
  mocha.cloud.snapshot_state:
    dir: /var/lib/mocha-cifar10/run/snapshots
    running: true

- name: Check the controller copy of a run's state (its state.json and the snapshot it names)
  mocha.cloud.snapshot_state:
    copy: artifacts/20261201T080000Z/state
    settings: {lr_stages: [[60000, 0.001]], momentum: 0.9, weight_decay: 0.004, batch_size: 100}
  delegate_to: localhost

- name: Check a snapshot on the controller, and that it was trained with this run's settings
  mocha.cloud.snapshot_state:
    path: artifacts/20261201T080000Z/state/snapshot-000400.jld
    sha256: 0f3c...
    settings: {lr_stages: [[60000, 0.001]], momentum: 0.9, weight_decay: 0.004, batch_size: 100}
    recorded_settings: {lr_stages: [[60000, 0.001]], momentum: 0.9, weight_decay: 0.004, batch_size: 100}
  delegate_to: localhost
"""

RETURN = r"""
snapshot:
  description: The newest complete snapshot's file name (null when there is none), or the checked file's name.
  returned: always
  type: str
iteration:
  description: Its iteration.
  returned: always
  type: int
size:
  description: Its size in bytes.
  returned: with dir
  type: int
sha256:
  description: Its sha256.
  returned: always
  type: str
mtime:
  description: Its modification time, seconds since the epoch.
  returned: with dir
  type: int
settings:
  description: O(settings) in one form (numbers as numbers), to record beside the snapshot.
  returned: with dir and settings
  type: dict
state:
  description: The controller copy's C(state.json) (run_id, snapshot, sha256, iteration, host, time, settings); empty when there is none.
  returned: with copy
  type: dict
passed_over:
  description: Newer snapshot files not taken, each with the reason (not named C(skipped), which Ansible reads as a skipped task).
  returned: with dir
  type: list
  elements: dict
"""

import os  # noqa: E402 (ansible-test wants imports after DOCUMENTATION)

from ansible.module_utils.basic import AnsibleModule  # noqa: E402
from ansible_collections.mocha.cloud.plugins.module_utils.snapshot_state import (  # noqa: E402
    SNAPSHOT_NAME,
    check_snapshot,
    newest_complete,
    read_copy,
    settings_problem,
    training_settings,
)


def main():
    module = AnsibleModule(
        argument_spec=dict(
            dir=dict(type="path"),
            running=dict(type="bool", default=True),
            path=dict(type="path"),
            sha256=dict(type="str"),
            settings=dict(type="dict"),
            recorded_settings=dict(type="dict"),
            copy=dict(type="path"),
        ),
        mutually_exclusive=[("dir", "path", "copy"), ("copy", "sha256"), ("copy", "recorded_settings")],
        required_one_of=[("dir", "path", "copy")],
        required_together=[("path", "sha256")],
        supports_check_mode=True,
    )
    p = module.params
    settings = None
    if p["settings"] is not None:
        try:
            settings = training_settings(p["settings"])
        except ValueError as exc:
            module.fail_json(msg=f"settings: {exc}")
    if p["dir"]:
        result = newest_complete(p["dir"], p["running"])
        result.pop("path")
        if settings is not None:
            result["settings"] = settings
        module.exit_json(changed=False, **result)
    state = None
    if p["copy"]:
        try:
            state = read_copy(p["copy"])
        except ValueError as exc:
            module.fail_json(msg=str(exc))
        if not state:
            module.exit_json(changed=False, snapshot=None, iteration=None, sha256=None, state={})
        p.update(path=os.path.join(p["copy"], str(state["snapshot"])), sha256=str(state.get("sha256") or ""),
                 recorded_settings=state.get("settings"))
    problem = check_snapshot(p["path"], p["sha256"])
    if not problem and p["recorded_settings"] and settings is None:
        problem = "recorded_settings needs settings (this run's) to compare them with"
    if not problem and settings is not None:
        state_dir = os.path.dirname(p["path"]) or "."
        problem = settings_problem(state_dir, p["recorded_settings"], settings,
                                   f"Give this run its own run id, or delete {state_dir} to start this one over.")
    if problem:
        module.fail_json(msg=problem)
    m = SNAPSHOT_NAME.match(os.path.basename(p["path"]))
    result = dict(snapshot=os.path.basename(p["path"]), iteration=int(m.group("iter")), sha256=p["sha256"].lower())
    if state is not None:
        result["state"] = state
    module.exit_json(changed=False, **result)


if __name__ == "__main__":
    main()
