# -*- coding: utf-8 -*-
# Copyright: mocha-cloud contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Filters that pick a Julia release from a list of git tags and the julia_build role's method: julia_resolve_version,
julia_select_method, julia_gcc_from_package_version, julia_srccache, julia_version_problem. The rules live in
plugins/module_utils/julia_versions.py; each filter is documented in its own file beside this one
(plugins/filter/<filter name>.yml), which ansible-doc reads."""

from ansible_collections.mocha.cloud.plugins.module_utils import julia_versions as jv


class FilterModule:
    """Julia version selection filters."""

    def filters(self):
        return {
            "julia_resolve_version": jv.resolve_version,
            "julia_select_method": jv.select_method,
            "julia_gcc_from_package_version": jv.gcc_from_package_version,
            "julia_srccache": jv.srccache,
            "julia_version_problem": jv.request_problem,
        }
