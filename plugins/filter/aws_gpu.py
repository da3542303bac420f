# -*- coding: utf-8 -*-
# Copyright: mocha-cloud contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The collection's one dated table of GPU instance types (plugins/module_utils/aws_gpu.py), from YAML.

Documented in plugins/filter/aws_gpu_list_price.yml, which ansible-doc reads.
"""

from ansible_collections.mocha.cloud.plugins.module_utils import aws_gpu


def aws_gpu_list_price(instance_type):
    """USD per hour of an instance type from the dated table, or None for a type it does not list."""
    return aws_gpu.list_price(str(instance_type or ""))[0]


class FilterModule:
    """AWS GPU price filters."""

    def filters(self):
        return {"aws_gpu_list_price": aws_gpu_list_price}
