# -*- coding: utf-8 -*-
# Copyright: mocha-cloud contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""aws_gpu_attempts: the order of launch attempts (zones, types, markets) and the places to launch into.

The rules live in plugins/module_utils/aws_launch.py; documented in aws_gpu_attempts.yml beside this file.
"""

from ansible.errors import AnsibleFilterError
from ansible_collections.mocha.cloud.plugins.module_utils import aws_launch


def aws_gpu_attempts(settings):
    if not isinstance(settings, dict):
        raise AnsibleFilterError(f"aws_gpu_attempts: expects a dict of settings, got {type(settings).__name__}")
    try:
        return aws_launch.plan(settings)
    except aws_launch.LaunchPlanError as exc:
        raise AnsibleFilterError(f"aws_gpu_attempts: {exc}") from exc
    except (KeyError, TypeError, AttributeError) as exc:
        raise AnsibleFilterError(f"aws_gpu_attempts: bad settings ({exc!r}): types must be a list of instance types, "
                                 "offered a dict of type to zones, subnets a list of DescribeSubnets entries") from exc


class FilterModule:
    def filters(self):
        return {"aws_gpu_attempts": aws_gpu_attempts}
