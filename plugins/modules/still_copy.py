#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright (c) mocha-cloud contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

DOCUMENTATION = r"""
---
module: still_copy
short_description: Copy files that a writer may still change, each as it was at one moment, for fetching
version_added: "0.1.0"
description:
  - Copies each file of O(src) into O(dest) from one read of it, up to its last complete line, so that the copy
    holds what the file held at one moment (a log another process appends to, a file another process replaces).
    M(ansible.builtin.fetch) reads a file's checksum and its bytes at different moments and fails with
    C(checksum mismatch) when a writer changes it in between; the copy, which nothing else writes, can be fetched
    safely.
  - A copy is written only when it differs (atomically, mode C(0644)); a source that does not exist is left out and
    its old copy removed. O(dest) is made (C(0755)) when it is missing.
author:
  - mocha-cloud contributors (@mocha-cloud)
options:
  src:
    description: The files to copy (absolute paths; each copy keeps its file name).
    type: list
    elements: path
    required: true
  dest:
    description: The directory the copies go to. It must not be the directory of a source.
    type: path
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
- name: Copy a run's log and legs.json still, then fetch the copies
  mocha.cloud.still_copy:
    src:
      - /var/lib/mocha-cifar10/run/training.log
      - /var/lib/mocha-cifar10/run/legs.json
    dest: /var/lib/mocha-cifar10/run/fetch
"""

RETURN = r"""
copies:
  description: For each source that exists, the path of its copy.
  returned: always
  type: list
  elements: str
written:
  description: The copies this run wrote or removed (or would, in check mode).
  returned: always
  type: list
  elements: str
"""

import os  # noqa: E402 (ansible-test wants imports after DOCUMENTATION)
import tempfile  # noqa: E402

from ansible.module_utils.basic import AnsibleModule  # noqa: E402


def complete_lines(data):
    """DATA up to and including its last newline: a line a writer is in the middle of waits for the next copy.
    Data without any newline is taken whole."""
    end = data.rfind(b"\n")
    return data[:end + 1] if end >= 0 else data


def read_once(path):
    """The bytes of PATH from one open and read (None when it does not exist)."""
    try:
        with open(path, "rb") as handle:
            return complete_lines(handle.read())
    except FileNotFoundError:
        return None


def main():
    module = AnsibleModule(
        argument_spec=dict(
            src=dict(type="list", elements="path", required=True),
            dest=dict(type="path", required=True),
        ),
        supports_check_mode=True,
    )
    dest = module.params["dest"]
    sources = module.params["src"]
    for src in sources:
        if not os.path.isabs(src):
            module.fail_json(msg=f"src {src} is not an absolute path: give the file's full path on the host")
        if os.path.realpath(os.path.dirname(src)) == os.path.realpath(dest):
            module.fail_json(msg=f"dest {dest} is the directory of src {src}: give a directory of its own for the copies")
    names = [os.path.basename(src) for src in sources]
    if len(set(names)) != len(names):
        module.fail_json(msg="two sources have the same file name ({}): copy them into different directories".format(", ".join(names)))
    copies, written = [], []
    for src in sources:
        copy = os.path.join(dest, os.path.basename(src))
        data = read_once(src)
        try:
            with open(copy, "rb") as handle:
                current = handle.read()
        except FileNotFoundError:
            current = None
        if data is not None:
            copies.append(copy)
        if data == current:
            continue
        written.append(copy)
        if module.check_mode:
            continue
        if data is None:
            os.remove(copy)
            continue
        if not os.path.isdir(dest):
            os.makedirs(dest, 0o755)
        fd, tmp = tempfile.mkstemp(dir=dest, prefix=".still-")
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
        os.chmod(tmp, 0o644)
        os.replace(tmp, copy)
    module.exit_json(changed=bool(written), copies=copies, written=written)


if __name__ == "__main__":
    main()
