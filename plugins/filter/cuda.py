# -*- coding: utf-8 -*-
# Copyright: mocha-cloud contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Filters of the role cuda: the install-or-verify decision and its helpers.

Thin wrappers over the pure functions in ``plugins/module_utils/cuda_matrix.py``.
"""

DOCUMENTATION = r"""
name: cuda_decide
short_description: Decide whether to verify, install or skip the NVIDIA driver and CUDA
version_added: "0.1.0"
description:
  - Takes C(ansible_facts.nvidia) (from M(mocha.cloud.nvidia_gpu_facts)) and returns exactly one path,
    C(verify), C(install) or C(no_gpu), with a one-line reason and the driver branch and CUDA version to end up with.
  - The choice comes from a compatibility matrix keyed by compute capability (checked 2026-11)
    in C(plugins/module_utils/cuda_matrix.py). Kepler 3.x gets R470 and CUDA 11.4, Maxwell/Pascal/Volta
    get R580 and CUDA 12.9, and Turing and newer get R580 and CUDA 13.0.
  - Bad pins (unknown branch, a CUDA version the GPU cannot run) give C(error) with a message saying how to fix them.
  - The companion filters C(cuda_lspci_gpus), C(cuda_os_repo) and C(cuda_recommend) live in the same file.
options:
  _input:
    description: C(ansible_facts.nvidia).
    type: dict
    required: true
  lspci:
    description: Output of C(lspci -nn), used when no driver answers.
    type: str
    default: ""
  assume_gpu:
    description: A compute capability to pretend a GPU of (test and offline aid), or empty.
    type: str
    default: ""
  driver_branch:
    description: C(auto) or a driver branch such as C(580).
    type: str
    default: auto
  cuda_version:
    description: C(auto) or a CUDA version such as C(12.9).
    type: str
    default: auto
  cudnn:
    description: Whether cuDNN is wanted.
    type: bool
    default: false
  required:
    description: Whether having no GPU is an error.
    type: bool
    default: false
author:
  - mocha-cloud contributors
"""

EXAMPLES = r"""
- name: Decide
  ansible.builtin.set_fact:
    decision: "{{ ansible_facts.nvidia | mocha.cloud.cuda_decide(lspci=lspci.stdout, driver_branch='auto') }}"
"""

RETURN = r"""
_value:
  description: The decision.
  type: dict
  contains:
    path: {description: "C(verify), C(install) or C(no_gpu); V(null) with O(error).", type: str}
    reason: {description: One line saying why., type: str}
    error: {description: What is wrong and how to fix it, or V(null)., type: str}
    gpu: {description: The GPU decided for (lowest compute capability), type: dict}
    driver_branch: {description: Driver branch to end up with, e.g. C(580)., type: str}
    cuda_version: {description: CUDA version to end up with, e.g. C(13.0)., type: str}
    install_driver: {description: Whether the driver is installed., type: bool}
    install_toolkit: {description: Whether the toolkit is installed., type: bool}
    install_cudnn: {description: Whether cuDNN is installed., type: bool}
"""

from ansible.module_utils.parsing.convert_bool import boolean  # noqa: E402
from ansible_collections.mocha.cloud.plugins.module_utils.cuda_matrix import (  # noqa: E402 (after the docs, as ansible does)
    decide,
    gpus_from_lspci,
    os_repo,
    recommend,
)


def cuda_decide(nvidia, lspci="", assume_gpu="", driver_branch="auto", cuda_version="auto", cudnn=False,
                required=False):
    return decide(nvidia=nvidia, lspci_text=lspci, assume_gpu=assume_gpu, driver_pin=driver_branch,
                  cuda_pin=cuda_version, cudnn=boolean(cudnn, strict=False),
                  required=boolean(required, strict=False))


def cuda_recommend(cc):
    pair = recommend(cc)
    return {"driver_branch": pair[0], "cuda_version": pair[1]} if pair else None


class FilterModule:
    """CUDA decision filters."""

    def filters(self):
        return {
            "cuda_decide": cuda_decide,
            "cuda_lspci_gpus": gpus_from_lspci,
            "cuda_os_repo": os_repo,
            "cuda_recommend": cuda_recommend,
        }
