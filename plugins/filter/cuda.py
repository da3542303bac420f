# -*- coding: utf-8 -*-
# Copyright: mocha-cloud contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Filters of the role cuda: the install-or-verify decision and its helpers.

Thin wrappers over the pure functions in ``plugins/module_utils/cuda_matrix.py``.

Each filter is documented in its own file beside this one (plugins/filter/<filter name>.yml), which
ansible-doc reads: cuda_decide, cuda_os_repo, cuda_headers_metapackages.
"""

from ansible.module_utils.parsing.convert_bool import boolean
from ansible_collections.mocha.cloud.plugins.module_utils.cuda_matrix import (
    decide,
    headers_metapackages,
    os_repo,
)


def cuda_decide(nvidia, lspci="", assume_gpu="", driver_branch="auto", cuda_version="auto", cudnn=False,
                required=False):
    return decide(nvidia=nvidia, lspci_text=lspci, assume_gpu=assume_gpu, driver_pin=driver_branch,
                  cuda_pin=cuda_version, cudnn=boolean(cudnn, strict=False),
                  required=boolean(required, strict=False))


class FilterModule:
    """CUDA decision filters."""

    def filters(self):
        return {
            "cuda_decide": cuda_decide,
            "cuda_os_repo": os_repo,
            "cuda_headers_metapackages": headers_metapackages,
        }
