# -*- coding: utf-8 -*-
# Copyright: mocha-cloud contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

DOCUMENTATION = r"""
name: settings
short_description: The user's one settings file, as variables of the group all
version_added: "0.1.0"
description:
  - Reads one YAML file of user settings (region, instance type, Julia version, iterations, ...) and gives its
    values to the group C(all), so every play of the collection sees them, installed or run from a checkout.
  - "Which file: the one O(file) names (environment variable E(MOCHA_CLOUD_SETTINGS)); V(none) there means no file.
    Otherwise C(settings.yml) beside the C(ansible.cfg) in use, when there is one. Otherwise nothing."
  - The values sit where inventory C(group_vars/all) sits, so role defaults < settings < group and host variables
    of the inventory < play variables < C(-e). The path of the file read is given as C(mocha_cloud_settings_file).
  - Like every vars plugin in a collection it runs only when enabled, for example in C(ansible.cfg)
    C(vars_plugins_enabled = ansible.builtin.host_group_vars, mocha.cloud.settings).
options:
  file:
    description:
      - The settings file. A relative path is taken from the current directory.
      - V(none) reads no file (tests and containers that must not see a checkout's settings).
      - Empty or unset, C(settings.yml) beside the C(ansible.cfg) in use is read when it exists.
    type: str
    env:
      - name: MOCHA_CLOUD_SETTINGS
  stage:
    ini:
      - key: stage
        section: vars_mocha_cloud_settings
    env:
      - name: ANSIBLE_VARS_PLUGIN_STAGE
extends_documentation_fragment:
  - ansible.builtin.vars_plugin_staging
author:
  - mocha-cloud contributors (@mocha-cloud)
notes:
  - A file named by E(MOCHA_CLOUD_SETTINGS) that does not exist, or that is not a YAML mapping, stops the run with a
    message naming it.
"""

EXAMPLES = r"""
# ansible.cfg of a project that uses the collection, with settings.yml beside it:
#   [defaults]
#   vars_plugins_enabled = ansible.builtin.host_group_vars, mocha.cloud.settings
#
# Another file for one run:
#   MOCHA_CLOUD_SETTINGS=~/gpu-lab.yml ansible-playbook mocha.cloud.site
"""

from ansible import constants as C  # noqa: E402
from ansible.inventory.group import InventoryObjectType  # noqa: E402
from ansible.plugins.vars import BaseVarsPlugin  # noqa: E402
from ansible_collections.mocha.cloud.plugins.plugin_utils.settings import load_settings, settings_path  # noqa: E402

SETTINGS_FILE_VAR = "mocha_cloud_settings_file"
_CACHE = {}


class VarsModule(BaseVarsPlugin):
    """Gives the settings file's values to the group all."""

    def get_vars(self, loader, path, entities, cache=True):
        if not isinstance(entities, list):
            entities = [entities]
        if not any(getattr(e, "base_type", None) is InventoryObjectType.GROUP and e.name == "all" for e in entities):
            return {}
        settings = settings_path(self.get_option("file"), C.CONFIG_FILE)
        if settings is None:
            return {}
        if not cache or settings not in _CACHE:
            data = load_settings(loader, settings)
            _CACHE[settings] = dict(data, **{SETTINGS_FILE_VAR: settings})
        return dict(_CACHE[settings])
