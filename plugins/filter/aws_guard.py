# -*- coding: utf-8 -*-
# Copyright: (c) 2026, mocha-cloud contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Guards of an AWS run, for YAML: aws_gpu_limits, ssh_cidr, ec2_tag_vars and name_problems.

Thin wrappers over plugins/module_utils/aws_guard.py (unit-tested there). Documented in aws_gpu_limits.yml,
ssh_cidr.yml, ec2_tag_vars.yml and name_problems.yml beside this file.
"""

from ansible.errors import AnsibleFilterError
from ansible.utils.display import Display
from ansible_collections.mocha.cloud.plugins.module_utils import aws_guard

display = Display()


def aws_gpu_limits(settings):
    try:
        return aws_guard.limit_problems(dict(settings) if hasattr(settings, "keys") else settings)
    except aws_guard.GuardError as exc:
        raise AnsibleFilterError(f"aws_gpu_limits: {exc}") from None


def ssh_cidr(value):
    try:
        return aws_guard.canonical_ssh_source(value)
    except aws_guard.GuardError as exc:
        raise AnsibleFilterError(str(exc)) from None


def ec2_tag_vars(tags, instance_id="", region=""):
    result = aws_guard.ec2_tag_vars(dict(tags) if hasattr(tags, "keys") else {}, str(instance_id or ""), str(region or ""))
    for problem in result["refused"]:
        display.warning(problem)  # printed once per message, however often the inventory asks
    return result


def name_problems(names, optional=()):
    try:
        return aws_guard.name_problems(dict(names) if hasattr(names, "keys") else names,
                                       [str(o) for o in ([optional] if isinstance(optional, str) else optional or ())])
    except aws_guard.GuardError as exc:
        raise AnsibleFilterError(f"name_problems: {exc}") from None


class FilterModule:
    def filters(self):
        return {"aws_gpu_limits": aws_gpu_limits, "ssh_cidr": ssh_cidr, "ec2_tag_vars": ec2_tag_vars,
                "name_problems": name_problems}
