# -*- coding: utf-8 -*-
# Copyright: (c) 2026, mocha-cloud contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""A run's results location on AWS and its policy documents, and whose it is, for YAML: aws_gpu_results and
aws_gpu_results_problems.

Thin wrappers over plugins/module_utils/aws_results.py (unit-tested there). Documented in aws_gpu_results.yml and
aws_gpu_results_problems.yml.
"""

from ansible.errors import AnsibleFilterError
from ansible_collections.mocha.cloud.plugins.module_utils import aws_results


def aws_gpu_results(spec):
    try:
        return aws_results.results_plan(dict(spec) if hasattr(spec, "keys") else spec)
    except aws_results.ResultsError as exc:
        raise AnsibleFilterError(f"aws_gpu_results: {exc}") from None


def aws_gpu_results_problems(found, project, run_id):
    try:
        return aws_results.location_problems(dict(found) if hasattr(found, "keys") else found, project, run_id)
    except aws_results.ResultsError as exc:
        raise AnsibleFilterError(f"aws_gpu_results_problems: {exc}") from None


class FilterModule:
    def filters(self):
        return {"aws_gpu_results": aws_gpu_results, "aws_gpu_results_problems": aws_gpu_results_problems}
