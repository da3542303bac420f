#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright (c) mocha-cloud contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

DOCUMENTATION = r"""
---
module: helper_files
short_description: Write the collection's standard-library helpers into a directory on the host
version_added: "0.1.0"
description:
  - Writes named C(module_utils) of this collection as plain Python files (C(<name>.py)) into O(dest), so that a
    program running on the host from that directory (the cifar10 role's state keeper and idle watch) does C(import mocha_log) and
    uses the very functions the controller uses, with no copy kept anywhere else.
  - The helpers reach the host inside this module (Ansible packs the C(module_utils) a module imports); each file is
    written only when it is missing or differs, with mode C(0644). O(dest) is made (C(0755)) when it is missing.
  - Only helpers that need nothing but the Python standard library are offered; where one imports another, it falls
    back to the plain name, which finds the other file in the same directory.
  - A helper another one imports is written with it (C(mocha_log) brings C(snapshot_state), whose snapshot file-name
    rule it reads), whether named or not.
author:
  - mocha-cloud contributors (@mocha-cloud)
options:
  dest:
    description: The directory to write the helpers into.
    type: path
    required: true
  names:
    description: The helpers to write, by module name.
    type: list
    elements: str
    required: true
    choices: [idle_watch, mocha_log, run_legs, snapshot_state]
extends_documentation_fragment:
  - ansible.builtin.action_common_attributes
attributes:
  check_mode:
    support: full
  diff_mode:
    support: full
  platform:
    platforms: posix
"""

EXAMPLES = r"""
- name: Put the state keeper's helpers beside it
  mocha.cloud.helper_files:
    dest: /var/lib/mocha-cifar10/run/keeper
    names: [mocha_log, run_legs, snapshot_state]

- name: Put the idle watch's rules beside it
  mocha.cloud.helper_files:
    dest: /var/lib/mocha-cifar10/autodown
    names: [idle_watch]
"""

RETURN = r"""
files:
  description: The path of every helper named (and of those they import), written or already current.
  returned: always
  type: list
  elements: str
written:
  description: The paths this run wrote (or would write, in check mode).
  returned: always
  type: list
  elements: str
"""

import os  # noqa: E402 (ansible-test wants imports after DOCUMENTATION)
import tempfile  # noqa: E402

from ansible.module_utils.basic import AnsibleModule  # noqa: E402
from ansible.module_utils.common.text.converters import to_bytes, to_text  # noqa: E402
from ansible_collections.mocha.cloud.plugins.module_utils import idle_watch, mocha_log, run_legs, snapshot_state  # noqa: E402

HELPERS = {"idle_watch": idle_watch, "mocha_log": mocha_log, "run_legs": run_legs, "snapshot_state": snapshot_state}
# The helpers each one imports (by the plain name, beside it on a host): written with it.
REQUIRES = {"mocha_log": ("snapshot_state",)}


def with_requirements(names):
    """NAMES and the helpers they import, directly or through another, sorted."""
    wanted, todo = set(), list(names)
    while todo:
        name = todo.pop()
        if name not in wanted:
            wanted.add(name)
            todo.extend(REQUIRES.get(name, ()))
    return sorted(wanted)


def helper_source(name):
    """The source text of one helper, as packed with this module (the import loader's, else the file's)."""
    helper = HELPERS[name]
    loader = getattr(helper, "__loader__", None)
    source = loader.get_source(helper.__name__) if loader is not None and hasattr(loader, "get_source") else None
    if source is None:
        with open(helper.__file__, "rb") as handle:
            source = handle.read()
    return to_text(source, errors="surrogate_or_strict")


def read_current(path):
    """The text of PATH, or None when it is missing or unreadable as UTF-8."""
    try:
        with open(path, "rb") as handle:
            return handle.read().decode("utf-8")
    except (OSError, UnicodeDecodeError):
        return None


def plan(dest, names):
    """[(path, current text or None, wanted text)] of the helpers that are missing or differ, and every path."""
    todo, paths = [], []
    for name in with_requirements(names):
        path = os.path.join(dest, name + ".py")
        paths.append(path)
        wanted, current = helper_source(name), read_current(path)
        if current != wanted:
            todo.append((path, current, wanted))
    return todo, paths


def write(module, path, text):
    """Write TEXT to PATH atomically (a temporary file beside it, then a rename)."""
    fd, tmp = tempfile.mkstemp(dir=os.path.dirname(path), prefix=".helper-")
    with os.fdopen(fd, "wb") as handle:
        handle.write(to_bytes(text))
    module.atomic_move(tmp, path)


def main():
    module = AnsibleModule(
        argument_spec=dict(
            dest=dict(type="path", required=True),
            names=dict(type="list", elements="str", required=True, choices=sorted(HELPERS)),
        ),
        supports_check_mode=True,
    )
    dest, names = module.params["dest"], module.params["names"]
    if not names:
        module.fail_json(msg="names is empty: name the helpers to write (one or more of {})".format(", ".join(sorted(HELPERS))))
    if os.path.exists(dest) and not os.path.isdir(dest):
        module.fail_json(msg=f"dest {dest} exists and is not a directory: remove it or choose another directory")
    todo, paths = plan(dest, names)
    mode_changed = False
    if not module.check_mode:
        if not os.path.isdir(dest):
            os.makedirs(dest, 0o755)
        for path, _current, wanted in todo:
            write(module, path, wanted)
        for path in paths:
            mode_changed = module.set_mode_if_different(path, "0644", False) or mode_changed
    elif not todo:
        for path in paths:
            mode_changed = (os.stat(path).st_mode & 0o7777) != 0o644 or mode_changed
    diff = [{"before_header": path, "after_header": path, "before": current or "", "after": wanted}
            for path, current, wanted in todo]
    module.exit_json(changed=bool(todo) or mode_changed, files=paths, written=[t[0] for t in todo], diff=diff)


if __name__ == "__main__":
    main()
