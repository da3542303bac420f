#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright (c) mocha-cloud contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

DOCUMENTATION = r"""
---
module: job_status
short_description: Wait for a long job run by jobctl and report its progress in one line
version_added: "0.1.0"
description:
  - Every long job mocha-cloud runs on a host (a Julia build, a training run) is supervised by a C(jobctl) script
    rendered from the internal role C(mocha.cloud.common) (entry point C(job)), with the verbs start, stop, status,
    wait and run and a one-line JSON status.
  - This module runs C(jobctl wait SECONDS) (or C(jobctl status)), and returns the status and one progress line,
    for a build the time elapsed against the time expected for this host; for a Mocha training run, the iteration,
    objective, test accuracy, iterations per second, ETA and the time left before the instance expires (read from
    the training log and the snapshot directory).
  - Called in a loop it is the one polling task of every long job; it changes nothing.
author:
  - mocha-cloud contributors (@mocha-cloud)
options:
  ctl:
    description: The job's jobctl script.
    type: path
    required: true
  wait:
    description: Seconds to wait for the job to end before answering (0 answers at once).
    type: int
    default: 0
  progress:
    description:
      - What to read for the progress line.
      - C(kind) C(none) (the status only), C(build) (with C(expected_s), the seconds the job is expected to take),
        or C(mocha) (with C(log), the training log; C(max_iter); C(snapshot_dir); C(expires_at), when the instance
        powers itself off, ISO 8601 UTC or seconds since the epoch; C(run_id)).
    type: dict
    default: {kind: none}
extends_documentation_fragment:
  - ansible.builtin.action_common_attributes
attributes:
  check_mode:
    support: full
  diff_mode:
    support: none
  platform:
    platforms: posix
seealso:
  - module: mocha.cloud.cifar10_hdf5
"""

EXAMPLES = r"""
- name: Wait for the training, one line per poll
  mocha.cloud.job_status:
    ctl: /var/lib/mocha-cifar10/run/jobctl
    wait: 60
    progress:
      kind: mocha
      log: /var/lib/mocha-cifar10/run/training.log
      max_iter: 70000
      snapshot_dir: /var/lib/mocha-cifar10/run/snapshots
      expires_at: "2026-12-02T08:00:00Z"
  register: poll
  loop: "{{ range(0, 120) | list }}"
  loop_control:
    label: "{{ poll.line | default('') }}"
    break_when: poll.status.ended
"""

RETURN = r"""
status:
  description: The job's status (jobctl's JSON), with C(phase) and C(ended) added.
  returned: always
  type: dict
  sample: {job: cifar10, running: true, state: "running since 2026-12-01T08:00:00Z", phase: running, ended: false,
           rc: null, elapsed_s: 3600, supervisor: systemd, log: /var/lib/mocha-cifar10/run/training.log}
progress:
  description: What the progress line is made of (for C(mocha), the parsed progress and C(latest_snapshot)).
  returned: always
  type: dict
line:
  description: One line for a person.
  returned: always
  type: str
  sample: "[run 20261201T080000Z running] iteration 4600/70000 (6.6%), objective 1.0770, test accuracy 62.82% (at 4000),
    1.30 it/s, ETA 13h58m, instance expires in 19h05m"
"""

import os  # noqa: E402 (ansible-test wants imports after DOCUMENTATION)

from ansible.module_utils.basic import AnsibleModule  # noqa: E402
from ansible_collections.mocha.cloud.plugins.module_utils import job  # noqa: E402
from ansible_collections.mocha.cloud.plugins.module_utils.mocha_log import parse_mocha_log, progress  # noqa: E402
from ansible_collections.mocha.cloud.plugins.module_utils.snapshot_state import SNAPSHOT_NAME  # noqa: E402


def latest_snapshot(directory):
    try:
        names = [n for n in os.listdir(directory) if SNAPSHOT_NAME.match(n)]
    except OSError:
        return None
    return max(names, key=lambda n: int(SNAPSHOT_NAME.match(n).group("iter"))) if names else None


def read_text(path):
    try:
        with open(path, encoding="utf-8", errors="replace") as handle:
            return handle.read()
    except OSError:
        return ""


def main():
    module = AnsibleModule(
        argument_spec={
            "ctl": {"type": "path", "required": True},
            "wait": {"type": "int", "default": 0},
            "progress": {"type": "dict", "default": {"kind": "none"}},
        },
        supports_check_mode=True,
    )
    ctl, wait, want = module.params["ctl"], module.params["wait"], module.params["progress"] or {}
    kind = want.get("kind", "none")
    if kind not in ("none", "build", "mocha"):
        module.fail_json(msg=f"progress.kind must be none, build or mocha, got {kind!r}")
    if wait < 0:
        module.fail_json(msg=f"wait must be 0 or more seconds, got {wait}")
    if not os.access(ctl, os.X_OK):
        module.fail_json(msg=f"{ctl} is not an executable jobctl: the job was never set up on this host")
    # A job's output may hold bytes that are not UTF-8 (its log's last line is in the status): replaced, never passed on
    # (the controller refuses a result that is not UTF-8).
    rc, out, err = module.run_command([ctl, "wait", str(wait)] if wait else [ctl, "status"], errors="replace")
    try:
        status = job.parse_status(out)
    except job.JobError as exc:
        module.fail_json(msg=str(exc), rc=rc, stdout=out, stderr=err)

    prog = {}
    if kind == "build":
        line = job.build_line(status, want.get("expected_s"))
    elif kind == "mocha":
        try:
            max_iter = int(want.get("max_iter") or 0)
        except (TypeError, ValueError):
            max_iter = 0
        if max_iter < 1:
            module.fail_json(msg=f"progress.max_iter must be a whole number of iterations, got {want.get('max_iter')!r}")
        prog = progress(parse_mocha_log(read_text(want.get("log") or status.get("log") or "")), max_iter)
        prog["latest_snapshot"] = latest_snapshot(want["snapshot_dir"]) if want.get("snapshot_dir") else None
        prog["seconds_left"] = job.seconds_left(want.get("expires_at"))
        line = job.training_line(status, prog, want.get("expires_at"), run_id=str(want.get("run_id") or ""))
    else:
        line = f"[{status.get('job', 'job')} {status['phase']}] {job.duration(status.get('elapsed_s'))}"
    module.exit_json(changed=False, status=status, progress=prog, line=line)


if __name__ == "__main__":
    main()
