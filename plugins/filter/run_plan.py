# -*- coding: utf-8 -*-
# Copyright (c) mocha-cloud contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""run_plan: the expected duration of each phase of the journey and its cost, against the instance's life.

The figures and the rules live in plugins/module_utils/run_plan.py; documented in run_plan.yml beside this file.
"""

from ansible.errors import AnsibleFilterError
from ansible_collections.mocha.cloud.plugins.module_utils.run_plan import plan


def run_plan(settings):
    if not isinstance(settings, dict):
        raise AnsibleFilterError(f"run_plan: expects a dict of settings, got {type(settings).__name__}")
    try:
        return plan(settings)
    except (KeyError, TypeError, ValueError) as exc:
        raise AnsibleFilterError(f"run_plan: bad settings ({exc!r}): max_iter must be a whole number, max_hours and "
                                 "hourly_price_usd numbers, seconds_per_200 a dict of gpu/cpu seconds") from exc


class FilterModule:
    def filters(self):
        return {"run_plan": run_plan}
