# -*- coding: utf-8 -*-
# Copyright (c) mocha-cloud contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""recover_select: which interrupted or vanished run recover resumes; recover_next: what a watch does next (wait,
launch the next leg, or stop), within its budget of instance hours and legs.

The rules live in plugins/module_utils/recover.py (unit-tested there); documented in recover_select.yml and
recover_next.yml beside this file.
"""

from ansible.errors import AnsibleFilterError
from ansible_collections.mocha.cloud.plugins.module_utils import recover


def recover_select(runs, run_id="", watch=False):
    try:
        return recover.select(list(runs) if isinstance(runs, (list, tuple)) else runs, str(run_id or ""), bool(watch))
    except recover.RecoverError as exc:
        raise AnsibleFilterError(f"recover_select: {exc}") from None


def recover_next(state):
    try:
        return recover.next_action(dict(state) if hasattr(state, "keys") else state)
    except recover.RecoverError as exc:
        raise AnsibleFilterError(f"recover_next: {exc}") from None


class FilterModule:
    def filters(self):
        return {"recover_select": recover_select, "recover_next": recover_next}
