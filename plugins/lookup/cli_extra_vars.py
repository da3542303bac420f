# -*- coding: utf-8 -*-
# Copyright: mocha-cloud contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

DOCUMENTATION = r"""
name: cli_extra_vars
short_description: The -e arguments this ansible-playbook was started with, to start another with the same
version_added: "0.1.0"
description:
  - Returns each C(--extra-vars)/C(-e) argument of the running C(ansible-playbook) as it was given (C(name=value)
    text, JSON or YAML text, or C(@file) with the file's path made absolute), in order.
  - For a play that starts a child C(ansible-playbook) that must see the same settings, as the recover watch does for
    each leg (C(playbooks/tasks/recover_watch.yml)); arguments given after them win, as on any command line.
options: {}
author:
  - mocha-cloud contributors (@mocha-cloud)
"""

EXAMPLES = r"""
- name: Start the same journey again for one run
  ansible.builtin.command:
    argv: "{{ ['ansible-playbook', 'site.yml'] + (query('mocha.cloud.cli_extra_vars') | map('regex_replace', '^', '-e=') | list)
              + ['-e', 'aws_gpu_instance_run_id=exp1'] }}"
"""

RETURN = r"""
_raw:
  description: The -e arguments, in order; empty when there were none.
  type: list
  elements: str
"""

import os  # noqa: E402

from ansible import context  # noqa: E402
from ansible.plugins.lookup import LookupBase  # noqa: E402


def absolute(argument):
    """An ``@file`` argument with its path made absolute (a child may run elsewhere); others unchanged."""
    text = str(argument)
    if text.startswith("@") and len(text) > 1:
        return "@" + os.path.abspath(os.path.expanduser(text[1:]))
    return text


class LookupModule(LookupBase):
    def run(self, terms, variables=None, **kwargs):
        return [absolute(arg) for arg in (context.CLIARGS.get("extra_vars") or ())]
