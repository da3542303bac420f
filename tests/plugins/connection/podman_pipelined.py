# -*- coding: utf-8 -*-
# Copyright: mocha-cloud contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Test transport: containers.podman.podman with Ansible pipelining (``podman exec -i``).

Test-only. The roles reach real hosts over SSH with ``pipelining = True`` (ansible.cfg), where a task is
one round trip: the module goes to the remote Python on stdin. containers.podman.podman cannot
pipeline (its ``podman exec`` does not keep stdin open), so each task there costs five ``podman exec``
calls (home directory, temporary directory, chmod, run, clean-up). This subclass only adds ``-i`` when
Ansible sends data on stdin and declares pipelining, so a molecule container is driven the way a GPU
host is. Files still move through the container's mount, as in the parent.

Enabled by ANSIBLE_CONNECTION_PLUGINS=tests/plugins/connection and ``ansible_connection:
podman_pipelined`` (the molecule base config and the pipeline test set both).
"""

from __future__ import annotations

DOCUMENTATION = """
    name: podman_pipelined
    short_description: Run tasks in a podman container with Ansible pipelining (test transport)
    description:
        - containers.podman.podman, plus C(podman exec -i) when the module comes on stdin, so tasks are
          pipelined as over SSH with pipelining on. Test-only; lives under tests/.
    author: mocha-cloud contributors (@mocha-cloud)
    options:
      remote_addr:
        description: The name or ID of the container.
        default: inventory_hostname
        vars:
          - name: ansible_host
          - name: inventory_hostname
          - name: ansible_podman_host
      remote_user:
        description: User to run commands as inside the container.
        ini:
          - section: defaults
            key: remote_user
        env:
          - name: ANSIBLE_REMOTE_USER
        vars:
          - name: ansible_user
      podman_extra_args:
        description: Extra arguments to pass to the podman command line.
        default: ''
        vars:
          - name: ansible_podman_extra_args
        env:
          - name: ANSIBLE_PODMAN_EXTRA_ARGS
      podman_executable:
        description: Executable for podman command.
        default: podman
        vars:
          - name: ansible_podman_executable
        env:
          - name: ANSIBLE_PODMAN_EXECUTABLE
      pipelining:
        description: Send modules on stdin instead of copying them in first.
        type: boolean
        default: true
        env:
          - name: ANSIBLE_PODMAN_PIPELINING
        vars:
          - name: ansible_pipelining
"""

# Imports after DOCUMENTATION, as in every Ansible plugin.
import shlex  # noqa: E402

from ansible.module_utils.common.text.converters import to_native  # noqa: E402
from ansible.plugins.connection import ConnectionBase, ensure_connect  # noqa: E402
from ansible_collections.containers.podman.plugins.connection.podman import Connection as PodmanConnection  # noqa: E402


class Connection(PodmanConnection):
    """containers.podman.podman with stdin kept open for pipelined modules."""

    transport = "podman_pipelined"
    has_pipelining = True

    @ensure_connect
    def exec_command(self, cmd, in_data=None, sudoable=False):
        if in_data is None:
            return super().exec_command(cmd, in_data=in_data, sudoable=sudoable)
        ConnectionBase.exec_command(self, cmd, in_data=in_data, sudoable=sudoable)
        exec_args = ["exec", "-i"]
        if self.user:
            exec_args.extend(("--user", self.user))
        return self._podman(exec_args, shlex.split(to_native(cmd, errors="surrogate_or_strict")), in_data)

    def reset(self):
        """Nothing to reset: every ``podman exec`` is a new process, where SSH would close its ControlPersist master.
        (The parent's reset only warns that it is not implemented, which wait_for_connection calls before each try.)"""
        return None
