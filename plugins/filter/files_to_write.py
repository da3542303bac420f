# -*- coding: utf-8 -*-
# Copyright: mocha-cloud contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""files_to_write: which of the files a role manages differ on the host from what it would write.

The roles render their small files on the controller, read the checksums and modes of all of them with one probe
(mocha.cloud.common's files/files_probe.py, the shape of ansible.builtin.find's answer with get_checksum), and write
only those this filter returns: on a host that is already right that is one round trip instead of a stat and a file
call per template. Documented in
files_to_write.yml beside this file.
"""

import hashlib

from ansible.errors import AnsibleFilterError


def _mode(value):
    text = str(value).strip()
    try:
        return int(text, 8)
    except ValueError as exc:
        raise AnsibleFilterError(f"files_to_write: mode must be octal like 0644, got {value!r}") from exc


def files_to_write(wanted, found):
    """The entries of ``wanted`` ({dest, content, mode}) whose file is missing, differs in content or in mode.

    ``found`` is the ``files`` list of the probe (or of ansible.builtin.find run with get_checksum): path, checksum
    (sha1), mode.
    """
    if not isinstance(wanted, list) or not isinstance(found, list):
        raise AnsibleFilterError("files_to_write: expects a list of {dest, content, mode} and find's files list")
    on_host = {f.get("path"): f for f in found if isinstance(f, dict)}
    out = []
    for entry in wanted:
        if not isinstance(entry, dict) or not {"dest", "content", "mode"} <= set(entry):
            raise AnsibleFilterError(f"files_to_write: each file needs dest, content and mode, got {entry!r}")
        have = on_host.get(entry["dest"])
        want_sum = hashlib.sha1(str(entry["content"]).encode("utf-8")).hexdigest()  # nosec - find's checksum is sha1
        if (
            have is None
            or have.get("checksum") != want_sum
            or _mode(have.get("mode", "0")) != _mode(entry["mode"])
        ):
            out.append(entry)
    return out


class FilterModule:
    def filters(self):
        return {"files_to_write": files_to_write}
