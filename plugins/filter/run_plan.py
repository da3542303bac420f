# -*- coding: utf-8 -*-
# Copyright (c) mocha-cloud contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""run_plan: the expected duration of each phase of the journey and its cost, against the instance's life;
julia_build_seconds: the expected duration of one Julia source build (the build's progress line);
record_measured: the phases a configure measured, kept for later plans (the lookup mocha.cloud.measured reads them).

The figures and the rules live in plugins/module_utils/run_plan.py; documented in run_plan.yml beside this file.
"""

from ansible.errors import AnsibleFilterError
from ansible_collections.mocha.cloud.plugins.module_utils.run_plan import (
    julia_seconds,
    measured_key,
    measured_phases,
    plan,
)
from ansible_collections.mocha.cloud.plugins.module_utils.run_plan import (
    record_measured as _record_measured,
)


def run_plan(settings):
    if not isinstance(settings, dict):
        raise AnsibleFilterError(f"run_plan: expects a dict of settings, got {type(settings).__name__}")
    try:
        return plan(settings)
    except (KeyError, TypeError, ValueError) as exc:
        raise AnsibleFilterError(f"run_plan: bad settings ({exc!r}): max_iter must be a whole number, max_hours and "
                                 "hourly_price_usd numbers, seconds_per_200 a dict of gpu/cpu seconds") from exc


def julia_build_seconds(version, jobs, use_binarybuilder=True):
    """Seconds a Julia source build of this version is expected to take with make -j jobs (the run plan's figure)."""
    try:
        return julia_seconds("source", str(version), int(jobs), bool(use_binarybuilder))
    except (TypeError, ValueError) as exc:
        raise AnsibleFilterError(f"julia_build_seconds: jobs must be a whole number, got {jobs!r}") from exc


def record_measured(records, instance_type, host, job_times, at, julia_method=""):
    """The records with the phases a configure of HOST measured (its common_job_times) put in."""
    if not isinstance(records or {}, dict) or not isinstance(job_times or {}, dict):
        raise AnsibleFilterError("record_measured: expects a dict of records and a dict of job times")
    return _record_measured(records, measured_key(instance_type, host), host, measured_phases(job_times, julia_method), at)


class FilterModule:
    def filters(self):
        return {"run_plan": run_plan, "julia_build_seconds": julia_build_seconds, "record_measured": record_measured}
