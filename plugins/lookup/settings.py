# -*- coding: utf-8 -*-
# Copyright: mocha-cloud contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

DOCUMENTATION = r"""
name: settings
short_description: A value of the user's settings file, where play variables do not reach (inventory sources)
version_added: "0.1.0"
description:
  - Reads the same settings file as the vars plugin P(mocha.cloud.settings#vars) (E(MOCHA_CLOUD_SETTINGS), V(none) for
    none, else C(settings.yml) beside the C(ansible.cfg) in use) and returns the values of the names given.
  - For the places that template their options before any play variable exists, such as the EC2 inventory's
    C(regions). In plays, use the variables themselves (the vars plugin gives them, and C(-e) overrides them).
options:
  _terms:
    description: Setting names.
    type: list
    elements: str
    required: true
  default:
    description: The value for a name the file does not set (or when there is no file).
    type: raw
author:
  - mocha-cloud contributors (@mocha-cloud)
"""

EXAMPLES = r"""
# inventory/aws_ec2.yml: describe only the region of the settings file
regions:
  - "{{ lookup('mocha.cloud.settings', 'aws_gpu_instance_region', default='us-east-1') }}"
"""

RETURN = r"""
_raw:
  description: The values, one per name.
  type: list
"""

import os  # noqa: E402

from ansible import constants as C  # noqa: E402
from ansible.errors import AnsibleLookupError  # noqa: E402
from ansible.plugins.lookup import LookupBase  # noqa: E402
from ansible_collections.mocha.cloud.plugins.plugin_utils.settings import load_settings, settings_path  # noqa: E402


class LookupModule(LookupBase):
    def run(self, terms, variables=None, **kwargs):
        path = settings_path(os.environ.get("MOCHA_CLOUD_SETTINGS", ""), C.CONFIG_FILE)
        data = load_settings(self._loader, path) if path else {}
        missing = object()
        default = kwargs.get("default", missing)
        values = []
        for name in terms:
            if name in data:
                values.append(data[name])
            elif default is not missing:
                values.append(default)
            else:
                raise AnsibleLookupError(f"the settings file ({path or 'none'}) does not set {name}, and no default was given")
        return values
