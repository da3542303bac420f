# -*- coding: utf-8 -*-
# Copyright (c) mocha-cloud contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""run_legs: hours and cost of each leg of a training run (legs.json), its interruptions, and the total against the
same run on demand; run_cost: the run's one estimated cost for its report. The rules live in
plugins/module_utils/run_legs.py; documented in run_legs.yml and run_cost.yml beside this file."""

from ansible_collections.mocha.cloud.plugins.module_utils.run_legs import run_cost as _run_cost
from ansible_collections.mocha.cloud.plugins.module_utils.run_legs import summarize


def run_legs(doc):
    return summarize(doc)


def run_cost(legs_summary, wall_time_s=None, hourly_usd=None):
    return _run_cost(legs_summary, wall_time_s, hourly_usd)


class FilterModule:
    def filters(self):
        return {"run_legs": run_legs, "run_cost": run_cost}
