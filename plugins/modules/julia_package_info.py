#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: mocha-cloud contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

DOCUMENTATION = r"""
---
module: julia_package_info
short_description: List installed Julia packages with their versions
version_added: "0.1.0"
description:
  - Asks Julia's package manager which packages are installed (C(Pkg.installed) on Julia 0.4 to
    0.6, C(Pkg.dependencies) on Julia 1.4 and later, C(Pkg.installed) on 0.7 to 1.3) and
    returns their versions, directories and git state. Changes nothing.
  - The Julia package check a play can assert on.
author:
  - mocha-cloud contributors (@mocha-cloud)
options:
  name:
    description: Only report these packages (default all installed ones).
    type: list
    elements: str
    default: []
  julia:
    description: The julia executable, an absolute path or a name looked up on PATH.
    type: str
    default: julia
  environment:
    description: Extra environment for julia, for example C(JULIA_PKGDIR) or C(JULIA_DEPOT_PATH).
    type: dict
    default: {}
attributes:
  check_mode:
    support: full
    description: The module only reads; it runs the same way in check mode.
  diff_mode:
    support: N/A
    details: It changes nothing, so there is no difference to show.
  platform:
    platforms: posix
extends_documentation_fragment:
  - ansible.builtin.action_common_attributes
notes:
  - Supports check mode (it never changes anything).
seealso:
  - module: mocha.cloud.julia_package
"""

EXAMPLES = r"""
- name: Which Julia packages are installed?
  mocha.cloud.julia_package_info:
    julia: /usr/local/bin/julia
    environment:
      JULIA_PKGDIR: /opt/mocha/julia-depot
  register: julia_pkgs

- name: Mocha is at v0.3.1
  ansible.builtin.assert:
    that: julia_pkgs.packages.Mocha.version == '0.3.1'
"""

RETURN = r"""
packages:
  description: Installed packages by name.
  returned: always
  type: dict
  sample:
    Mocha:
      version: 0.3.1
      path: /opt/mocha/julia-depot/v0.6/Mocha
      head: 4f3c2d1e9a8b7c6d5e4f3a2b1c0d9e8f7a6b5c4d
      branch: pinned.v0.3.1
      url: https://github.com/pluskid/Mocha.jl.git
julia_version:
  description: Version printed by C(julia --version).
  returned: always
  type: str
  sample: 0.6.4
pkg_generation:
  description: C(legacy) (Julia 0.4 to 0.6) or C(pkg3) (0.7 and later).
  returned: always
  type: str
  sample: legacy
"""

from ansible.module_utils.basic import AnsibleModule  # noqa: E402 - validate-modules wants imports after RETURN
from ansible_collections.mocha.cloud.plugins.module_utils import julia_pkg as jp  # noqa: E402 - as above


def main():
    module = AnsibleModule(
        argument_spec=dict(
            name=dict(type="list", elements="str", default=[]),
            julia=dict(type="str", default="julia"),
            environment=dict(type="dict", default={}),
        ),
        supports_check_mode=True,
    )
    names = module.params["name"] or None
    try:
        for n in names or []:
            jp.validate_name(n)
    except jp.JuliaPkgError as exc:
        module.fail_json(msg=str(exc))
    runner = jp.JuliaRunner(module, jp.resolve_julia(module, module.params["julia"]), module.params["environment"])
    julia_version, generation = runner.version()
    report = runner.program(generation, [], names, "", what="reading the installed packages")
    module.exit_json(changed=False, packages=report["packages"], julia_version=julia_version, pkg_generation=generation)


if __name__ == "__main__":
    main()
