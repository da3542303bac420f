# -*- coding: utf-8 -*-
# Copyright: mocha-cloud contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Filters that read a Mocha training log: progress while it runs, metrics when it is done.

Thin wrappers over the pure functions of plugins/module_utils/cifar10.py (unit-tested there).
"""

DOCUMENTATION = r"""
name: mocha_progress
short_description: Where a Mocha training run stands, from its log
version_added: "0.1.0"
description:
  - Reads the text of a Mocha training log (both the Logging.jl format of Mocha's tutorials,
    C(20-Nov 06:58:26:INFO:root:004600 :: TRAIN obj-val = 1.07695698), and the Memento format of Mocha 0.2+,
    C([2017-09-14 10:11:12 | info | Mocha]:  TRAIN iter=004600 obj_val=1.07695698)) and returns the
    iteration, the objective, the last test accuracy, iterations per second, the ETA and a one-line summary.
  - Companion filters in the same file, C(mocha_log_parse) (the curves) and C(mocha_metrics) (the
    C(metrics.json) document of a run), take the same input.
options:
  _input:
    description: The log text.
    type: str
    required: true
  max_iter:
    description: The run's C(max_iter).
    type: int
    required: true
"""

EXAMPLES = r"""
- name: Report progress
  ansible.builtin.debug:
    msg: "{{ (log.content | b64decode | mocha.cloud.mocha_progress(70000)).line }}"
"""

RETURN = r"""
_value:
  description: >-
    A dict with C(iteration), C(max_iter), C(objective), C(last_accuracy), C(last_accuracy_iter), C(it_per_s),
    C(eta_s), C(percent) and C(line), a human summary.
  type: dict
"""

from ansible.errors import AnsibleFilterError  # noqa: E402 (ansible-test wants imports after DOCUMENTATION)
from ansible_collections.mocha.cloud.plugins.module_utils import cifar10  # noqa: E402 (ansible-test wants imports after DOCUMENTATION)


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


def mocha_log_parse(text):
    return cifar10.parse_mocha_log(_text(text))


def mocha_progress(text, max_iter):
    prog = cifar10.progress(cifar10.parse_mocha_log(_text(text)), _max_iter(max_iter))
    prog["line"] = cifar10.progress_line(prog)
    return prog


def mocha_metrics(text, max_iter, summary_interval=200, extra=None):
    if extra is not None and not isinstance(extra, dict):
        raise AnsibleFilterError("extra must be a dict of fields to add to the metrics")
    return cifar10.metrics(cifar10.parse_mocha_log(_text(text)), _max_iter(max_iter), int(summary_interval), extra)


class FilterModule:
    def filters(self):
        return {
            "mocha_log_parse": mocha_log_parse,
            "mocha_progress": mocha_progress,
            "mocha_metrics": mocha_metrics,
        }
