# -*- coding: utf-8 -*-
# Copyright: mocha-cloud contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Image filters: aws_image_plan (reuse or bake), aws_image_aside (what stays out of an image), aws_images_teardown.

The rules live in plugins/module_utils/aws_images.py; each filter is documented in its own YAML file beside this one.
"""

from ansible.errors import AnsibleFilterError
from ansible_collections.mocha.cloud.plugins.module_utils import aws_gpu, aws_images


def aws_image_plan(value):
    if not isinstance(value, dict):
        raise AnsibleFilterError(f"aws_image_plan: expects a dict, got {type(value).__name__}")
    try:
        return aws_images.plan(value)
    except (aws_images.ImageError, aws_gpu.AwsGpuError) as exc:
        raise AnsibleFilterError(f"{exc}. Nothing was created.") from exc


def aws_image_aside(run_dir, autodown_dir, users=("root",)):
    try:
        return aws_images.aside_paths(run_dir, autodown_dir, list(users or ["root"]))
    except aws_images.ImageError as exc:
        raise AnsibleFilterError(str(exc)) from exc


def aws_images_teardown(images, project, delete=False):
    if not isinstance(images, list):
        raise AnsibleFilterError(f"aws_images_teardown: expects ec2_ami_info's images, got {type(images).__name__}")
    return aws_images.inventory(images, project, delete=bool(delete))


class FilterModule:
    def filters(self):
        return {"aws_image_plan": aws_image_plan, "aws_image_aside": aws_image_aside,
                "aws_images_teardown": aws_images_teardown}
