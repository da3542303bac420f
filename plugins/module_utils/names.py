# -*- coding: utf-8 -*-
# Copyright: (c) 2026, mocha-cloud contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The names and ceilings several parts of the collection share, each written once.

Pure values and one function, standard library only; imported by aws_results (where the AWS names are made),
aws_guard (the settings and the tags read back), autodown and sweep, which need the rules but none of the rest.

- ``NAME_RE``, ``name_problem``: the one rule of a project and a run id (no '*' or '?': they are wildcards in IAM
  conditions and EC2 tag filters), what teardown and the cifar10 role check before a name selects AWS resources or
  becomes a path.
- ``TAG_PREFIX``: the prefix of every tag the project writes (``mocha-cloud:run-id``, ...).
- ``EXPIRES_RE``: the form of the expiry time in the tag ``mocha-cloud:expires-at``.
- ``LIMITS``: the ceilings of the settings that bound what a run can cost (docs/aws.md).
"""

import re

NAME_RE = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,62}")
TAG_PREFIX = "mocha-cloud:"
EXPIRES_RE = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}Z")
LIMITS = {
    "max_hours": 168.0,     # one week; Mocha's CIFAR-10 run takes ~15 h on the CPU backend
    "count": 8,
    "volume_size_gb": 1024,
}


def name_problem(value, setting):
    """Why VALUE is not a project or run id (None when it is); SETTING names it in the message."""
    if not isinstance(value, str) or NAME_RE.fullmatch(value) is None:
        return f"{setting} must be 1-63 letters, digits, '.', '_' or '-' starting with a letter or digit, got {value!r}"
    return None
