# -*- coding: utf-8 -*-
# Copyright: mocha-cloud contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Which settings file a run reads: one rule for the vars plugin mocha.cloud.settings (every play) and the lookup
mocha.cloud.settings (the EC2 inventory's region, which no play variable reaches)."""

import os

from ansible.errors import AnsibleError


def settings_path(named, config_file):
    """The settings file to read, or None: NAMED (MOCHA_CLOUD_SETTINGS) first, else settings.yml beside CONFIG_FILE."""
    named = (named or "").strip()
    if named.lower() == "none":
        return None
    if named:
        path = os.path.abspath(os.path.expanduser(named))
        if not os.path.isfile(path):
            raise AnsibleError(
                f"MOCHA_CLOUD_SETTINGS names {named}, which is not a file ({path}). Point it to your settings file, "
                "set it to 'none' to read none, or unset it to read the settings.yml beside ansible.cfg."
            )
        return path
    if config_file:
        beside = os.path.join(os.path.dirname(os.path.abspath(config_file)), "settings.yml")
        if os.path.isfile(beside):
            return beside
    return None


def load_settings(loader, path):
    """The settings of PATH as a dict (an empty file is no settings); a file that is not a mapping is an error."""
    data = loader.load_from_file(path, cache="all", unsafe=True, trusted_as_template=True)
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise AnsibleError(f"{path} must be a YAML mapping of settings (name: value), not a {type(data).__name__}.")
    return data
