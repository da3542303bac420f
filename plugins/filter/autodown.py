# -*- coding: utf-8 -*-
# Copyright (c) mocha-cloud contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""autodown_settings, autodown_arm, autodown_controller, autodown_from_store: where an instance this project launched
ends with its run (never a host it did not launch), and when a finished run comes home from its store. The rules live in
plugins/module_utils/autodown.py; each filter is documented in its own .yml beside this file."""

from ansible.errors import AnsibleFilterError
from ansible_collections.mocha.cloud.plugins.module_utils import autodown


def autodown_settings(keep, idle_minutes, project):
    try:
        return autodown.settings(keep, idle_minutes, project)
    except autodown.AutodownError as exc:
        raise AnsibleFilterError(f"autodown_settings: {exc}") from None


def autodown_arm(evidence, settings, active):
    return autodown.arm_plan(dict(evidence or {}), dict(settings or {}), bool(active))


def autodown_controller(hosts, settings):
    return autodown.controller_plan([dict(h) for h in hosts or []], dict(settings or {}))


def autodown_from_store(run, max_iter, restart_finished=False):
    try:
        return autodown.store_plan(dict(run) if run else None, int(max_iter), bool(restart_finished))
    except (TypeError, ValueError) as exc:
        raise AnsibleFilterError(f"autodown_from_store: {exc}") from None


class FilterModule:
    def filters(self):
        return {"autodown_settings": autodown_settings, "autodown_arm": autodown_arm,
                "autodown_controller": autodown_controller, "autodown_from_store": autodown_from_store}
