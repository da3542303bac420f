# -*- coding: utf-8 -*-
# Copyright: mocha-cloud contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""missing_packages: which of the wanted packages a package-status listing does not show as installed.

The roles look before they call apt: one ``dpkg-query -W -f='${Package} ${db:Status-Status}\\n' ...`` (or an
rpm query printing ``NAME installed``) lists the state of the packages, and the package manager runs only when
this filter returns something. Documented in missing_packages.yml beside this file.
"""

from ansible.errors import AnsibleFilterError


def missing_packages(lines, wanted, prefix=""):
    """The names of ``wanted`` that no line ``<prefix>NAME installed`` of ``lines`` lists, in wanted's order.

    Matching is by name, so a package listed twice (one line per architecture on a multiarch system) counts
    once; other lines (other states, other output) are ignored.
    """
    if isinstance(lines, str):
        lines = lines.splitlines()
    if not isinstance(lines, list) or not isinstance(wanted, list):
        raise AnsibleFilterError("missing_packages: expects the listing's lines and a list of package names")
    installed = set()
    for line in lines:
        line = str(line)
        if not line.startswith(prefix):
            continue
        fields = line[len(prefix):].split()
        if len(fields) == 2 and fields[1] == "installed":
            installed.add(fields[0])
    return [name for name in wanted if name not in installed]


class FilterModule:
    def filters(self):
        return {"missing_packages": missing_packages}
