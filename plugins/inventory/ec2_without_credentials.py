# -*- coding: utf-8 -*-
# Copyright: mocha-cloud contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

DOCUMENTATION = r"""
name: ec2_without_credentials
short_description: An empty inventory for an amazon.aws.aws_ec2 source when no AWS credentials exist
version_added: "0.1.0"
description:
  - Without AWS credentials, an C(amazon.aws.aws_ec2) inventory source fails, and ansible-core then prints a
    warning for every inventory plugin that tried the file (about 30 lines) before the first play runs. The
    project's first play already says, in one message, what is wrong and how to fix it.
  - Enabled before C(ansible.builtin.auto), this plugin takes an C(amazon.aws.aws_ec2) source file only when
    botocore finds no credentials (environment, shared files, SSO profile, container or instance role) and the
    file names no profile or keys of its own. It then adds no host. In every other case it declines the file
    (silently), and C(amazon.aws.aws_ec2) reads it as usual.
  - It never reaches AWS. Enable it in C(ansible.cfg), for example
    C(enable_plugins = ansible.builtin.host_list, mocha.cloud.ec2_without_credentials, ansible.builtin.auto, ...).
notes:
  - The check asks botocore for credentials, which may try the instance metadata service once (about a second)
    on a machine without any.
"""

EXAMPLES = r"""
# ansible.cfg
# [inventory]
# enable_plugins = ansible.builtin.host_list, mocha.cloud.ec2_without_credentials, ansible.builtin.auto
"""

import os  # noqa: E402 (ansible-test wants imports after DOCUMENTATION)

from ansible.plugins.inventory import BaseInventoryPlugin  # noqa: E402

try:
    import yaml
except ImportError:  # pragma: no cover - ansible-core requires PyYAML
    yaml = None

# Options of amazon.aws.aws_ec2 that bring their own credentials: the file is then left to that plugin.
_OWN_CREDENTIALS = (
    "access_key",
    "aws_access_key",
    "aws_access_key_id",
    "ec2_access_key",
    "profile",
    "aws_profile",
    "boto_profile",
    "session_token",
    "aws_session_token",
    "security_token",
)
_EC2_PLUGIN_NAMES = ("amazon.aws.aws_ec2", "aws_ec2")


def _ec2_source(path):
    """The parsed file when it is an amazon.aws.aws_ec2 source without credentials of its own, else None."""
    if yaml is None or not path.endswith(("aws_ec2.yml", "aws_ec2.yaml")) or not os.path.isfile(path):
        return None
    try:
        with open(path, encoding="utf-8") as handle:
            data = yaml.safe_load(handle)
    except (OSError, yaml.YAMLError):
        return None
    if not isinstance(data, dict) or data.get("plugin") not in _EC2_PLUGIN_NAMES:
        return None
    if any(data.get(key) for key in _OWN_CREDENTIALS):
        return None
    return data


def credentials_found():
    """True when botocore finds credentials the way amazon.aws.aws_ec2 would (or cannot be asked)."""
    try:
        import botocore.session
        from botocore.exceptions import BotoCoreError
    except ImportError:
        # Without botocore amazon.aws.aws_ec2 says so itself: leave the file to it.
        return True
    try:
        return botocore.session.Session().get_credentials() is not None
    except BotoCoreError:
        # A broken profile or SSO cache: the real plugin's error names it.
        return True


class InventoryModule(BaseInventoryPlugin):
    NAME = "mocha.cloud.ec2_without_credentials"

    def verify_file(self, path):
        return _ec2_source(path) is not None and not credentials_found()

    def parse(self, inventory, loader, path, cache=True):
        super().parse(inventory, loader, path, cache=cache)
        # No host: the plays that need AWS stop at their credentials check, which explains the fix.
        self.display.vvv(f"{self.NAME}: no AWS credentials, {path} gives no hosts")
