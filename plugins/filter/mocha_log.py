# -*- coding: utf-8 -*-
# Copyright: mocha-cloud contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The filter that reads a finished Mocha training log into metrics (mocha.cloud.mocha_metrics).

A thin wrapper over the pure functions of plugins/module_utils/mocha_log.py (unit-tested there); progress while a
run goes on is the module job_status's. Its documentation is mocha_metrics.yml beside this file.
"""

from ansible.errors import AnsibleFilterError
from ansible_collections.mocha.cloud.plugins.module_utils import mocha_log


def _text(value):
    if isinstance(value, bytes):
        return value.decode("utf-8", "replace")
    if not isinstance(value, str):
        raise AnsibleFilterError(f"a Mocha log must be text, got {type(value).__name__}")
    return value


def _max_iter(max_iter):
    try:
        value = int(max_iter)
    except (TypeError, ValueError) as exc:
        raise AnsibleFilterError(f"max_iter must be a whole number, got {max_iter!r}") from exc
    if value < 1:
        raise AnsibleFilterError(f"max_iter must be 1 or more, got {value}")
    return value


def mocha_metrics(text, max_iter, summary_interval=200, extra=None):
    if extra is not None and not isinstance(extra, dict):
        raise AnsibleFilterError("extra must be a dict of fields to add to the metrics")
    return mocha_log.metrics(mocha_log.parse_mocha_log(_text(text)), _max_iter(max_iter), int(summary_interval), extra)


class FilterModule:
    def filters(self):
        return {
            "mocha_metrics": mocha_metrics,
        }
