# -*- coding: utf-8 -*-
# Copyright (c) mocha-cloud contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Pure helpers for what a Julia process loads at run time: its C++ runtime and its TLS trust store.

Julia's official binaries ship their own ``lib/julia/libstdc++.so.6``. libjulia finds it through its RPATH, so it
wins over the system's copy; a C++ library loaded into Julia later (Mocha's native extension built with the host's
g++, cuDNN through the compat library) then fails with ``version `GLIBCXX_3.4.N' not found`` when the bundled copy
is older than the one the library was linked against. The fix is to load the system's newer libstdc++ first
(``LD_PRELOAD``) for Julia's processes, and only when the bundled one is older.

Julia 0.6's libgit2 verifies TLS against ``share/julia/cert.pem`` of its own tree (2018) unless ``SSL_CERT_FILE``
or ``SSL_CERT_DIR`` name the system's store; :func:`system_ca_store` finds the store's bundle file. Only
``SSL_CERT_FILE`` is ever given to Julia: 0.6's LibGit2 takes ``SSL_CERT_DIR`` in preference to it, and a certificate
directory holding one dangling symlink makes Julia abort at start ("error initializing LibGit2 module",
JuliaLang/julia#20439, fixed only in 0.7 by the LibGit2 0.26 update, #22614). :data:`UNSET` names the variables a
Julia process must not inherit.

Text and bytes in, plain values out: unit-tested on real files and captures.
"""

import os
import re

GLIBCXX_RE = re.compile(rb"GLIBCXX_(\d+)\.(\d+)(?:\.(\d+))?")

# Where distributions keep the CA bundle (file) and directory, most common first.
CA_FILES = (
    "/etc/ssl/certs/ca-certificates.crt",          # Debian, Ubuntu
    "/etc/pki/tls/certs/ca-bundle.crt",            # RHEL family, Fedora, Amazon Linux
    "/etc/pki/ca-trust/extracted/pem/tls-ca-bundle.pem",
    "/etc/ssl/ca-bundle.pem",                      # SUSE
    "/etc/ssl/cert.pem",                           # Alpine
)
# Never set for Julia, and removed from what a Julia process inherits (see the module's docstring).
UNSET = ("SSL_CERT_DIR",)


def glibcxx_versions(data):
    """Every GLIBCXX_X.Y[.Z] version named in a library's bytes, as sorted unique (X, Y, Z) tuples.

    A libstdc++ names each version it provides; a library linked against it names each version it needs.
    """
    found = {(int(a), int(b), int(c or 0)) for a, b, c in GLIBCXX_RE.findall(data or b"")}
    return sorted(found)


def newest(versions):
    """The newest version of a list of tuples, or None."""
    return max(versions) if versions else None


def version_text(version):
    """(3, 4, 30) -> '3.4.30'; None -> ''."""
    return ".".join(str(x) for x in version) if version else ""


def ldconfig_libstdcxx(text, machine="x86_64"):
    """The path of libstdc++.so.6 for this machine from ``ldconfig -p`` output, or ''.

    Lines look like ``\tlibstdc++.so.6 (libc6,x86-64) => /lib/x86_64-linux-gnu/libstdc++.so.6``; on a multilib host
    the 32-bit copy is listed too, and is skipped on a 64-bit machine.
    """
    want64 = machine in ("x86_64", "aarch64", "ppc64le", "s390x", "riscv64")
    for line in (text or "").splitlines():
        m = re.match(r"^\s*libstdc\+\+\.so\.6\s+\(([^)]*)\)\s+=>\s+(\S+)\s*$", line)
        if not m:
            continue
        is64 = "64" in m.group(1)
        if is64 == want64:
            return m.group(2)
    return ""


def bundled_libstdcxx(julia_real_path):
    """Where a Julia binary tree keeps its own libstdc++: <prefix>/lib/julia/libstdc++.so.6 for <prefix>/bin/julia."""
    prefix = os.path.dirname(os.path.dirname(julia_real_path))
    return os.path.join(prefix, "lib", "julia", "libstdc++.so.6")


def decide_preload(bundled_path, bundled_versions, system_path, system_versions):
    """(path to LD_PRELOAD or '', reason): the system's libstdc++ when Julia's bundled copy is older than it."""
    b, s = newest(bundled_versions), newest(system_versions)
    if not bundled_path:
        return "", "this julia has no bundled libstdc++ (a source build links the system's)"
    if not system_path or s is None:
        return "", f"no system libstdc++ was found to compare with the bundled {bundled_path}"
    if b is None:
        return system_path, (f"the bundled {bundled_path} names no GLIBCXX version; the system's {system_path} "
                             f"(GLIBCXX {version_text(s)}) is loaded first")
    if b < s:
        return system_path, (f"Julia's bundled libstdc++ provides GLIBCXX up to {version_text(b)}, older than the "
                             f"system's {version_text(s)} ({system_path}): the system's is loaded first (LD_PRELOAD), "
                             "so C++ libraries built on this host load into Julia")
    return "", (f"Julia's bundled libstdc++ (GLIBCXX {version_text(b)}) is not older than the system's "
                f"({version_text(s)}): nothing to preload")


def system_ca_store(exists=os.path.isfile):
    """The CA bundle file of this host ('' when there is none): the one trust store Julia's processes are given."""
    return next((p for p in CA_FILES if exists(p)), "")
