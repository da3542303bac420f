"""module_utils/julia_runtime.py: which libstdc++ a Julia process loads, and the CA store for Julia 0.6's libgit2.

Real files where this machine has them (its own libstdc++.so.6, found through ldconfig -p), and a tree laid out like
the official Julia 0.6.4 binary whose bundled libstdc++ is a FAKE that names only old GLIBCXX versions.
"""

import os
import subprocess

import pytest
from ansible_collections.mocha.cloud.plugins.module_utils import julia_runtime as jr

OLD = b"FAKE libstdc++ of a 2018 Julia binary\0" + b"\0".join(b"GLIBCXX_3.4.%d" % n for n in range(0, 22)) + b"\0GLIBCXX_3.4\0"
LDCONFIG = """\t754 libs found in cache `/etc/ld.so.cache'
\tlibstdc++.so.6 (libc6,x86-64) => /lib/x86_64-linux-gnu/libstdc++.so.6
\tlibstdc++.so.6 (libc6) => /lib/i386-linux-gnu/libstdc++.so.6
\tlibstdc.so.1 (libc6,x86-64) => /lib/x86_64-linux-gnu/libstdc.so.1
"""


def system_libstdcxx():
    out = subprocess.run(["ldconfig", "-p"], capture_output=True, text=True, check=False).stdout
    return jr.ldconfig_libstdcxx(out, os.uname().machine)


def test_glibcxx_versions_reads_what_a_library_names():
    assert jr.glibcxx_versions(OLD)[-1] == (3, 4, 21)
    assert jr.glibcxx_versions(OLD)[0] == (3, 4, 0)
    assert jr.glibcxx_versions(b"GLIBCXX_TUNABLES GLIBCXX_DEBUG") == []
    assert jr.version_text(jr.newest(jr.glibcxx_versions(b"GLIBCXX_3.4.9 GLIBCXX_3.4.30 GLIBCXX_3.4.29"))) == "3.4.30"


def test_ldconfig_picks_the_copy_for_this_machine():
    assert jr.ldconfig_libstdcxx(LDCONFIG, "x86_64") == "/lib/x86_64-linux-gnu/libstdc++.so.6"
    assert jr.ldconfig_libstdcxx(LDCONFIG, "i686") == "/lib/i386-linux-gnu/libstdc++.so.6"
    assert jr.ldconfig_libstdcxx("", "x86_64") == ""


def test_the_real_system_libstdcxx_is_newer_than_a_2018_bundle():
    path = system_libstdcxx()
    if not path:
        pytest.skip("no libstdc++ in ldconfig's cache here")
    with open(path, "rb") as handle:
        versions = jr.glibcxx_versions(handle.read())
    assert jr.newest(versions) > (3, 4, 21)


@pytest.mark.parametrize("bundled, system, preload", [
    ([(3, 4, 21)], [(3, 4, 30)], True),
    ([(3, 4, 30)], [(3, 4, 30)], False),
    ([(3, 4, 32)], [(3, 4, 30)], False),
    ([], [(3, 4, 30)], True),
])
def test_decide_preload(bundled, system, preload):
    path, reason = jr.decide_preload("/j/lib/julia/libstdc++.so.6", bundled, "/sys/libstdc++.so.6", system)
    assert (path == "/sys/libstdc++.so.6") is preload, reason
    assert reason


def test_no_bundled_copy_means_nothing_to_preload():
    assert jr.decide_preload("", [], "/sys/libstdc++.so.6", [(3, 4, 30)])[0] == ""
