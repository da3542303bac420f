# -*- coding: utf-8 -*-
# Copyright: (c) 2026, mocha-cloud contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""What a teardown removes and keeps, for YAML: aws_gpu_teardown_plan and aws_gpu_teardown_report.

Thin wrappers over plugins/module_utils/aws_teardown.py (unit-tested there). Documented in aws_gpu_teardown_plan.yml
and aws_gpu_teardown_report.yml beside this file.
"""

from ansible.errors import AnsibleFilterError
from ansible_collections.mocha.cloud.plugins.module_utils import aws_teardown


def aws_gpu_teardown_plan(found, run_id="", delete_results=False):
    try:
        return aws_teardown.teardown_plan(dict(found) if hasattr(found, "keys") else found, run_id or "", bool(delete_results))
    except aws_teardown.TeardownError as exc:
        raise AnsibleFilterError(f"aws_gpu_teardown_plan: {exc}") from None


def aws_gpu_teardown_report(spec):
    if not hasattr(spec, "keys"):
        raise AnsibleFilterError(f"aws_gpu_teardown_report needs a dict, got {type(spec).__name__}")
    spec = dict(spec)
    try:
        return aws_teardown.teardown_report(
            spec.get("plan"), spec.get("found"), spec.get("ec2"), spec.get("region", ""), spec.get("project", ""),
            spec.get("filters", {}), bool(spec.get("delete_results")), bool(spec.get("check_mode")))
    except aws_teardown.TeardownError as exc:
        raise AnsibleFilterError(f"aws_gpu_teardown_report: {exc}") from None


class FilterModule:
    def filters(self):
        return {"aws_gpu_teardown_plan": aws_gpu_teardown_plan, "aws_gpu_teardown_report": aws_gpu_teardown_report}
