#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright (c) mocha-cloud contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

DOCUMENTATION = r"""
---
module: julia_runtime_info
short_description: What a Julia process loads at run time (C++ runtime, TLS trust store), and the environment that fixes it
version_added: "0.1.0"
description:
  - Julia's official binaries ship their own C(lib/julia/libstdc++.so.6), which libjulia loads before the system's.
    When it is older than the system's, C++ libraries built on the host (Mocha's native extension) or loaded
    through it (cuDNN) fail inside Julia with C(version `GLIBCXX_3.4.N' not found). This module compares the newest
    GLIBCXX version each copy provides and, when the bundled one is older, returns C(LD_PRELOAD) of the system's.
  - Julia 0.6's libgit2 verifies TLS with its own 2018 C(share/julia/cert.pem) unless C(SSL_CERT_FILE) or
    C(SSL_CERT_DIR) is set; the module returns the host's CA bundle for C(SSL_CERT_FILE). C(SSL_CERT_DIR) is never
    returned, since Julia 0.6 prefers it and aborts at start when the directory holds a dangling symlink
    (JuliaLang/julia#20439, fixed in 0.7).
  - Changes nothing.
author:
  - mocha-cloud contributors (@mocha-cloud)
options:
  julia:
    description: The julia executable (an absolute path; a symlink is followed to the installed tree).
    type: path
    required: true
extends_documentation_fragment:
  - ansible.builtin.action_common_attributes
attributes:
  check_mode:
    support: full
  diff_mode:
    support: none
  platform:
    platforms: posix
notes:
  - Reads the two libraries' bytes and C(ldconfig -p); runs nothing else.
seealso:
  - module: mocha.cloud.julia_package_info
"""

EXAMPLES = r"""
- name: Read what julia loads at run time
  mocha.cloud.julia_runtime_info:
    julia: /usr/local/bin/julia
  register: julia_runtime

- name: Run julia with the environment that loads the system's libstdc++ and trusts the system's CAs
  ansible.builtin.command: /usr/local/bin/julia -e 'println(1)'
  environment: "{{ julia_runtime.environment }}"
  changed_when: false
"""

RETURN = r"""
julia:
  description: The julia executable, symlinks resolved.
  returned: always
  type: str
  sample: /opt/julia/julia-0.6.4/bin/julia
libstdcxx:
  description: Julia's bundled libstdc++ and the system's, with the newest GLIBCXX version each provides.
  returned: always
  type: dict
  sample:
    bundled: {path: /opt/julia/julia-0.6.4/lib/julia/libstdc++.so.6, glibcxx: 3.4.21}
    system: {path: /lib/x86_64-linux-gnu/libstdc++.so.6, glibcxx: 3.4.30}
    preload: /lib/x86_64-linux-gnu/libstdc++.so.6
    reason: "Julia's bundled libstdc++ provides GLIBCXX up to 3.4.21, older than the system's 3.4.30 ..."
ssl:
  description: The host's CA bundle, and Julia's own bundle.
  returned: always
  type: dict
  sample:
    cert_file: /etc/ssl/certs/ca-certificates.crt
    bundled_cert_pem: /opt/julia/julia-0.6.4/share/julia/cert.pem
environment:
  description: The variables to give Julia's processes (LD_PRELOAD only when needed; SSL_CERT_FILE when found).
  returned: always
  type: dict
  sample: {LD_PRELOAD: /lib/x86_64-linux-gnu/libstdc++.so.6, SSL_CERT_FILE: /etc/ssl/certs/ca-certificates.crt}
"""

import os  # noqa: E402 (ansible-test wants imports after DOCUMENTATION)
import platform  # noqa: E402

from ansible.module_utils.basic import AnsibleModule  # noqa: E402
from ansible_collections.mocha.cloud.plugins.module_utils.julia_runtime import (  # noqa: E402
    bundled_libstdcxx,
    decide_preload,
    glibcxx_versions,
    ldconfig_libstdcxx,
    newest,
    system_ca_store,
    version_text,
)


def read_bytes(path):
    try:
        with open(path, "rb") as handle:
            return handle.read()
    except OSError:
        return b""


def main():
    module = AnsibleModule(argument_spec={"julia": {"type": "path", "required": True}}, supports_check_mode=True)
    julia = os.path.realpath(module.params["julia"])
    if not (os.path.isfile(julia) and os.access(julia, os.X_OK)):
        module.fail_json(msg=f"{module.params['julia']} is not an executable julia: install Julia first (role mocha.cloud.julia_build)")

    bundled = bundled_libstdcxx(julia)
    bundled_versions = glibcxx_versions(read_bytes(bundled)) if os.path.isfile(bundled) else []
    ldconfig = module.get_bin_path("ldconfig", opt_dirs=["/sbin", "/usr/sbin"])
    system = ""
    if ldconfig:
        rc, out, _err = module.run_command([ldconfig, "-p"], environ_update={"LC_ALL": "C"})
        system = ldconfig_libstdcxx(out, platform.machine()) if rc == 0 else ""
    system_versions = glibcxx_versions(read_bytes(system)) if system else []
    preload, reason = decide_preload(bundled if os.path.isfile(bundled) else "", bundled_versions, system, system_versions)

    cert_file = system_ca_store()
    bundled_pem = os.path.join(os.path.dirname(os.path.dirname(julia)), "share", "julia", "cert.pem")
    environment = {}
    if preload:
        environment["LD_PRELOAD"] = preload
    if cert_file:
        environment["SSL_CERT_FILE"] = cert_file

    module.exit_json(
        changed=False,
        julia=julia,
        libstdcxx={
            "bundled": {"path": bundled if os.path.isfile(bundled) else "", "glibcxx": version_text(newest(bundled_versions))},
            "system": {"path": system, "glibcxx": version_text(newest(system_versions))},
            "preload": preload,
            "reason": reason,
        },
        ssl={"cert_file": cert_file, "bundled_cert_pem": bundled_pem if os.path.isfile(bundled_pem) else ""},
        environment=environment,
    )


if __name__ == "__main__":
    main()
