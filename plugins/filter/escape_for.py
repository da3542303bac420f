# -*- coding: utf-8 -*-
# Copyright: (c) 2026, mocha-cloud contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""escape_for: one value placed in Julia code, a systemd unit file or a Makefile, escaped or refused.

A thin wrapper over plugins/module_utils/escape.py (unit-tested there, and against julia-free readers of each
format: GNU make and systemd-analyze). Documented in escape_for.yml beside this file.
"""

from ansible.errors import AnsibleFilterError
from ansible_collections.mocha.cloud.plugins.module_utils import escape


# The second argument is named as its documented option, format.
def escape_for(value, format):  # pylint: disable=redefined-builtin
    try:
        return escape.escape_for(value, format)
    except escape.EscapeError as exc:
        raise AnsibleFilterError(f"escape_for: {exc}") from None


class FilterModule:
    def filters(self):
        return {"escape_for": escape_for}
