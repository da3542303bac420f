# -*- coding: utf-8 -*-
# Copyright: mocha-cloud contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

DOCUMENTATION = r"""
name: role_options
short_description: The options of this collection's roles (their argument specs) or their defaults
version_added: "0.1.0"
description:
  - Returns one dictionary of the options of the C(main) entry point of each role named, read from the role's
    C(meta/argument_specs.yml) in the collection C(mocha.cloud) wherever it is installed (a checkout linked as the
    collection, or an installed collection). The preflight play checks the settings against it before any role runs.
  - With O(source=defaults), the values of each role's C(defaults/main.yml) instead (the provision play's image
    fingerprint takes them).
  - A role the collection does not have, or one without an argument spec for C(main), is an error that names it.
options:
  _terms:
    description: The roles' short names (C(cuda), not C(mocha.cloud.cuda)).
    type: list
    elements: str
    required: true
  source:
    description: C(argument_specs) for the options of the entry point C(main), C(defaults) for the defaults' values.
    type: str
    choices: [argument_specs, defaults]
    default: argument_specs
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
  description: One dictionary, option name to its spec (or to its default value), of every role named (a later
    role's option wins).
  type: list
  elements: dict
"""

import copy  # noqa: E402
import importlib  # noqa: E402
import os  # noqa: E402

import yaml  # noqa: E402
from ansible.errors import AnsibleLookupError  # noqa: E402
from ansible.plugins.lookup import LookupBase  # noqa: E402


def collection_root():
    """The directory of the collection mocha.cloud, as the collection loader found it."""
    package = importlib.import_module("ansible_collections.mocha.cloud")
    return list(package.__path__)[0]


# Parsed files by (path, modification time, size); libyaml's parser where PyYAML has it (a defaults file takes about
# 7 ms with it, 100 ms and more without on a busy machine).
_PARSED = {}
_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


def read_yaml(root, role, *parts):
    path = os.path.join(root, "roles", role, *parts)
    try:
        stat = os.stat(path)
        key = (path, stat.st_mtime_ns, stat.st_size)
        if key not in _PARSED:
            with open(path) as handle:
                _PARSED[key] = yaml.load(handle, Loader=_LOADER) or {}
    except OSError:
        raise AnsibleLookupError(f"role_options: mocha.cloud has no role {role!r} with {'/'.join(parts)} ({path})") from None
    return path, copy.deepcopy(_PARSED[key])


def role_defaults(root, roles):
    values = {}
    for role in roles:
        path, data = read_yaml(root, role, "defaults", "main.yml")
        if not isinstance(data, dict):
            raise AnsibleLookupError(f"role_options: {path} is no mapping of defaults")
        values.update(data)
    return values


def role_options(root, roles):
    options = {}
    for role in roles:
        path, spec = read_yaml(root, role, "meta", "argument_specs.yml")
        main = ((spec.get("argument_specs") or {}).get("main") or {}).get("options")
        if not isinstance(main, dict):
            raise AnsibleLookupError(f"role_options: {path} states no options for the entry point main")
        options.update(main)
    return options


class LookupModule(LookupBase):
    def run(self, terms, variables=None, **kwargs):
        source = kwargs.get("source", "argument_specs")
        if source not in ("argument_specs", "defaults"):
            raise AnsibleLookupError(f"role_options: source must be argument_specs or defaults, not {source!r}")
        read = role_defaults if source == "defaults" else role_options
        return [read(collection_root(), [str(t) for t in terms])]
