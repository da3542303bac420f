# -*- coding: utf-8 -*-
# Copyright: mocha-cloud contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Hyperparameter sweep filters: sweep_plan (check and size), sweep_assign (variants to hosts), sweep_comparison.

The rules live in plugins/module_utils/sweep.py; each filter is documented in its own YAML file beside this one.
"""

from ansible.errors import AnsibleFilterError
from ansible_collections.mocha.cloud.plugins.module_utils import sweep


def sweep_plan(value, base=None, provider="aws", hosts=None):
    try:
        return sweep.plan(value, base, provider, hosts)
    except sweep.SweepError as exc:
        raise AnsibleFilterError("Bad cifar10_sweep (nothing was created; fix it in settings.yml or -e, then run again): "
                                 + "; ".join(exc.problems)) from exc


def sweep_assign(value, hosts):
    if not isinstance(value, dict) or "variants" not in value:
        raise AnsibleFilterError("sweep_assign: expects the result of mocha.cloud.sweep_plan")
    try:
        return sweep.assign(value, hosts)
    except sweep.SweepError as exc:
        raise AnsibleFilterError("; ".join(exc.problems)) from exc


def sweep_comparison(records, assigned):
    if not isinstance(assigned, dict) or "variants" not in assigned:
        raise AnsibleFilterError("sweep_comparison: expects the result of mocha.cloud.sweep_assign as its argument")
    if not isinstance(records, list):
        raise AnsibleFilterError(f"sweep_comparison: expects a list of the variants' records, got {type(records).__name__}")
    return sweep.comparison(assigned, records)


class FilterModule:
    def filters(self):
        return {"sweep_plan": sweep_plan, "sweep_assign": sweep_assign, "sweep_comparison": sweep_comparison}
