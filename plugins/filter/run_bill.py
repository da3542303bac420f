# -*- coding: utf-8 -*-
# Copyright (c) mocha-cloud contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""run_bill: what this project's runs cost, what still runs and until when, what is left and what it costs per month,
and the one command that removes it; the bill at the end of site.yml and playbooks/status.yml. The rules live in
plugins/module_utils/run_bill.py; documented in run_bill.yml beside this file."""

from ansible.errors import AnsibleFilterError
from ansible_collections.mocha.cloud.plugins.module_utils import run_bill as bill


def run_bill(spec):
    try:
        return bill.report(dict(spec))
    except (TypeError, ValueError) as exc:
        raise AnsibleFilterError(f"run_bill: {exc}") from None


class FilterModule:
    def filters(self):
        return {"run_bill": run_bill}
