# -*- coding: utf-8 -*-
# Copyright: mocha-cloud contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

DOCUMENTATION = r"""
name: role_options
short_description: The options of this collection's roles, as their argument specs state them
version_added: "0.1.0"
description:
  - Returns one dictionary of the options of the C(main) entry point of each role named, read from the role's
    C(meta/argument_specs.yml) in the collection C(mocha.cloud) wherever it is installed (a checkout linked as the
    collection, or an installed collection). The preflight play checks the settings against it before any role runs.
  - A role the collection does not have, or one without an argument spec for C(main), is an error that names it.
options:
  _terms:
    description: The roles' short names (C(cuda), not C(mocha.cloud.cuda)).
    type: list
    elements: str
    required: true
author:
  - mocha-cloud contributors (@mocha-cloud)
"""

EXAMPLES = r"""
- name: Check the settings against the roles' argument specs
  ansible.builtin.validate_argument_spec:
    argument_spec: "{{ lookup('mocha.cloud.role_options', 'cuda', 'mocha') }}"
    provided_arguments: "{{ {'mocha_backend': 'auto'} }}"
"""

RETURN = r"""
_raw:
  description: One dictionary, option name to its spec, of every role named (a later role's option wins).
  type: list
  elements: dict
"""

import importlib  # noqa: E402
import os  # noqa: E402

import yaml  # noqa: E402
from ansible.errors import AnsibleLookupError  # noqa: E402
from ansible.plugins.lookup import LookupBase  # noqa: E402


def collection_root():
    """The directory of the collection mocha.cloud, as the collection loader found it."""
    package = importlib.import_module("ansible_collections.mocha.cloud")
    return list(package.__path__)[0]


def role_options(root, roles):
    options = {}
    for role in roles:
        path = os.path.join(root, "roles", role, "meta", "argument_specs.yml")
        try:
            with open(path) as handle:
                spec = yaml.safe_load(handle) or {}
        except OSError:
            raise AnsibleLookupError(f"role_options: mocha.cloud has no role {role!r} with an argument spec ({path})") from None
        main = ((spec.get("argument_specs") or {}).get("main") or {}).get("options")
        if not isinstance(main, dict):
            raise AnsibleLookupError(f"role_options: {path} states no options for the entry point main")
        options.update(main)
    return options


class LookupModule(LookupBase):
    def run(self, terms, variables=None, **kwargs):
        self.set_options(var_options=variables, direct=kwargs)
        return [role_options(collection_root(), [str(t) for t in terms])]
