# -*- coding: utf-8 -*-
# Copyright: mocha-cloud contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

DOCUMENTATION = r"""
name: measured
short_description: The figures earlier runs measured on an instance type (or on-prem host), for the run plan
version_added: "0.1.0"
description:
  - Reads what the journey keeps on the controller under the artifacts directory given, each run's C(metrics.json)
    (C(<artifacts>/<host>/<run id>/metrics.json), the seconds per 200 iterations it trained at) and C(measured.json)
    (the long jobs of a configure, the Pkg phase and a Julia source build), and returns the figures for one instance
    type (on-prem, one host), each with its source, for the plan (the C(measured) of P(mocha.cloud.run_plan#filter)).
  - Per backend, the run with the most iterations counts. A directory that does not exist yet, or a file that cannot
    be read as JSON, is nothing measured.
options:
  _terms:
    description: The artifacts directory (one).
    type: list
    elements: str
    required: true
  instance_type:
    description: The EC2 instance type; empty on-prem.
    type: str
    default: ""
  host:
    description: The host, for figures kept on-prem (no instance type).
    type: str
    default: ""
author:
  - mocha-cloud contributors (@mocha-cloud)
"""

EXAMPLES = r"""
- name: Plan with what earlier runs on this instance type measured
  ansible.builtin.set_fact:
    plan: >-
      {{ {'instance_type': 'g4dn.xlarge', 'max_iter': 70000,
          'measured': query('mocha.cloud.measured', playbook_dir ~ '/artifacts', instance_type='g4dn.xlarge') | first}
         | mocha.cloud.run_plan }}
"""

RETURN = r"""
_raw:
  description: One dict, C(seconds_per_200) (per backend, C(seconds) and C(source)) and C(phases) (per phase, C(seconds)
    and C(source)).
  type: list
  elements: dict
"""

import glob  # noqa: E402
import json  # noqa: E402
import os  # noqa: E402

from ansible.errors import AnsibleLookupError  # noqa: E402
from ansible.plugins.lookup import LookupBase  # noqa: E402
from ansible_collections.mocha.cloud.plugins.module_utils.run_plan import measured_figures, measured_key  # noqa: E402


def _json(path):
    try:
        with open(path, encoding="utf-8") as handle:
            return json.load(handle)
    except (OSError, ValueError):
        return None


class LookupModule(LookupBase):
    def run(self, terms, variables=None, **kwargs):
        self.set_options(var_options=variables, direct=kwargs)
        if len(terms) != 1 or not str(terms[0]):
            raise AnsibleLookupError("measured: give the one artifacts directory to read")
        top = str(terms[0])
        metrics = [m for m in (_json(p) for p in sorted(glob.glob(os.path.join(glob.escape(top), "*", "*", "metrics.json"))))
                   if isinstance(m, dict)]
        records = _json(os.path.join(top, "measured.json"))
        key = measured_key(self.get_option("instance_type"), self.get_option("host"))
        return [measured_figures(key, metrics, records if isinstance(records, dict) else {})]
