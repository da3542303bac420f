"""The julia_runtime_info module, run on trees laid out like Julia's: the official 0.6.4 binary (its bundled libstdc++
a FAKE that names only old GLIBCXX versions) and a source build (none bundled), against this machine's real
libstdc++ (found through ldconfig -p) and CA store."""

import os
import subprocess

import pytest
from ansible_collections.mocha.cloud.plugins.module_utils import julia_runtime as jr
from ansible_collections.mocha.cloud.plugins.modules import julia_runtime_info
from ansible_collections.mocha.cloud.tests.unit.plugins.modules.utils import run_module

OLD = b"FAKE libstdc++ of a 2018 Julia binary\0" + b"\0".join(b"GLIBCXX_3.4.%d" % n for n in range(0, 22)) + b"\0GLIBCXX_3.4\0"


def system_libstdcxx():
    out = subprocess.run(["ldconfig", "-p"], capture_output=True, text=True, check=False).stdout
    return jr.ldconfig_libstdcxx(out, os.uname().machine)


def fake_binary_tree(tmp_path, bundled=OLD):
    prefix = tmp_path / "julia-0.6.4"
    (prefix / "bin").mkdir(parents=True)
    (prefix / "lib" / "julia").mkdir(parents=True)
    (prefix / "share" / "julia").mkdir(parents=True)
    julia = prefix / "bin" / "julia"
    julia.write_text("#!/bin/sh\necho 'julia version 0.6.4'\n")
    julia.chmod(0o755)
    if bundled is not None:
        (prefix / "lib" / "julia" / "libstdc++.so.6").write_bytes(bundled)
    (prefix / "share" / "julia" / "cert.pem").write_text("FAKE 2018 bundle\n")
    link = tmp_path / "bin-julia"
    link.symlink_to(julia)
    return link, prefix


def run(args):
    return run_module(julia_runtime_info.main, args)


def test_module_on_a_binary_tree_preloads_the_system_copy(tmp_path):
    if not system_libstdcxx():
        pytest.skip("no libstdc++ in ldconfig's cache here")
    link, prefix = fake_binary_tree(tmp_path)
    res = run({"julia": str(link)})
    assert res["changed"] is False
    assert res["julia"] == str(prefix / "bin" / "julia")
    assert res["libstdcxx"]["bundled"] == {"path": str(prefix / "lib/julia/libstdc++.so.6"), "glibcxx": "3.4.21"}
    assert res["libstdcxx"]["preload"] == res["libstdcxx"]["system"]["path"] == system_libstdcxx()
    assert res["environment"]["LD_PRELOAD"] == system_libstdcxx()
    assert res["ssl"]["bundled_cert_pem"] == str(prefix / "share/julia/cert.pem")
    if os.path.isfile("/etc/ssl/certs/ca-certificates.crt"):
        assert res["environment"]["SSL_CERT_FILE"] == "/etc/ssl/certs/ca-certificates.crt"
    # Julia 0.6 prefers SSL_CERT_DIR and aborts at start when it holds a dangling link: never given to Julia.
    assert "SSL_CERT_DIR" not in res["environment"] and "cert_dir" not in res["ssl"]


def test_module_on_a_source_build_preloads_nothing(tmp_path):
    link, _prefix = fake_binary_tree(tmp_path, bundled=None)
    res = run({"julia": str(link)})
    assert res["libstdcxx"]["preload"] == "" and "LD_PRELOAD" not in res["environment"]
    assert "no bundled libstdc++" in res["libstdcxx"]["reason"]


def test_module_refuses_a_missing_julia(tmp_path):
    res = run({"julia": str(tmp_path / "nope")})
    assert res["failed"] is True and "not an executable julia" in res["msg"]
