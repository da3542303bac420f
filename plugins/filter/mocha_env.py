# -*- coding: utf-8 -*-
# Copyright: mocha-cloud contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Filter of the role mocha: each backend's environment (plugins/module_utils/mocha_env.py).

Documented beside this file (plugins/filter/mocha_backend_env.yml), which ansible-doc reads.
"""

from ansible_collections.mocha.cloud.plugins.module_utils.mocha_env import backend_environment


class FilterModule:
    """Mocha environment filters."""

    def filters(self):
        return {"mocha_backend_env": backend_environment}
