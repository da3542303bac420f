"""The FAKE Julia world fails where the real one does: the fake upstream's old trees (LLVM from source with
GCC >= 11, the dead pcre2 URL) and the fake official binary tarball's layout (tests/fixtures/make_julia_*.py)."""

import hashlib
import shutil
import subprocess
import tarfile
from pathlib import Path

import pytest
from conftest import FIXTURES, REPO, load_source

pytestmark = pytest.mark.skipif(not (shutil.which("git") and shutil.which("make")), reason="needs git and make")


def load(name):
    return load_source(FIXTURES / f"{name}.py")


@pytest.fixture(scope="module")
def upstream(tmp_path_factory):
    mod = load("make_julia_upstream")
    dest = tmp_path_factory.mktemp("up") / "julia.git"
    return mod, mod.make_upstream(dest, ["v0.6.2", "v0.6.4", "v0.7.0", "v1.3.1", "v1.10.10"], 4)


def fake_gcc(tmp_path, version):
    """A FAKE gcc that only answers -dumpfullversion -dumpversion (what the fake LLVM step asks)."""
    path = tmp_path / f"fake-gcc-{version}"
    path.write_text(f"#!/bin/sh\n# FAKE gcc {version} (tests only)\necho {version}\n")
    path.chmod(0o755)
    return path


def checkout(info, tag, tmp_path, make_user=""):
    src = tmp_path / f"src-{tag}"
    subprocess.run(["git", "clone", "-q", "--depth", "1", "--branch", tag, info["url"], str(src)], check=True,
                   capture_output=True)
    (src / "Make.user").write_text(f"prefix={tmp_path / ('inst-' + tag)}\n" + make_user)
    return src


def make(src, *args):
    return subprocess.run(["make", *(args or ["-j", "8"])], cwd=src, capture_output=True, text=True, check=False)


def seed(mod, src, data=None):
    (src / "deps" / "srccache").mkdir(parents=True, exist_ok=True)
    (src / "deps" / "srccache" / mod.PCRE2_FILE).write_bytes(mod.fake_pcre2_tarball() if data is None else data)


def build_with_gcc(upstream, tmp_path, tag, gcc, pcre2=None):
    """Checks out TAG with the FAKE gcc GCC as CC, seeds PCRE2's tarball (its real bytes for True, these bytes for
    bytes, none for None), runs make; returns the tree and make's process."""
    mod, info = upstream
    src = checkout(info, tag, tmp_path, f"CC = {fake_gcc(tmp_path, gcc)}\n")
    if pcre2 is not None:
        seed(mod, src, None if pcre2 is True else pcre2)
    return src, make(src)


@pytest.mark.parametrize("gcc", ["11.1.0", "12.2.0", "13.3.0"])
def test_julia_06_llvm_fails_with_gcc_11_and_newer(upstream, tmp_path, gcc):
    src, proc = build_with_gcc(upstream, tmp_path, "v0.6.4", gcc, pcre2=True)
    assert proc.returncode != 0
    assert "llvm-3.9.1/include/llvm/" in proc.stderr and "error: 'numeric_limits' is not a member of 'std'" in proc.stderr
    assert f"FAKE: LLVM 3.9.1 does not compile with GCC {gcc}" in proc.stderr
    assert not (src / "usr" / "bin" / "julia").exists()


def test_julia_07_builds_llvm_6_from_source_too(upstream, tmp_path):
    _, proc = build_with_gcc(upstream, tmp_path, "v0.7.0", "12.2.0")
    assert proc.returncode != 0 and "llvm-6.0.1" in proc.stderr


def test_julia_06_without_the_pcre2_file_fails_at_the_dead_url(upstream, tmp_path):
    _, proc = build_with_gcc(upstream, tmp_path, "v0.6.4", "9.4.0")
    assert proc.returncode != 0
    assert "curl: (7) Failed to connect to ftp.pcre.org port 443" in proc.stderr
    assert "https://ftp.pcre.org/pub/pcre/pcre2-10.23.tar.bz2" in proc.stdout
    assert "deps/srccache/pcre2-10.23.tar.bz2" in proc.stderr


def test_julia_062_names_its_older_dead_host(upstream, tmp_path):
    _, proc = build_with_gcc(upstream, tmp_path, "v0.6.2", "9.4.0")
    assert proc.returncode != 0 and "ftp.csx.cam.ac.uk" in proc.stderr


def test_julia_06_with_a_wrong_pcre2_file_fails_its_checksum(upstream, tmp_path):
    _, proc = build_with_gcc(upstream, tmp_path, "v0.6.4", "9.4.0", pcre2=b"not the tarball")
    assert proc.returncode != 0 and "Checksum mismatch" in proc.stderr


def test_julia_06_builds_with_an_older_gcc_and_the_pre_seeded_file(upstream, tmp_path):
    mod, info = upstream
    src = checkout(info, "v0.6.4", tmp_path, f"CC = {fake_gcc(tmp_path, '9.4.0')}\n")
    seed(mod, src)
    sha512 = (src / "deps" / "checksums" / mod.PCRE2_FILE / "sha512").read_text().strip()
    assert sha512 == hashlib.sha512(mod.fake_pcre2_tarball()).hexdigest() == info["srccache"]["sha512"]
    proc = make(src)
    assert proc.returncode == 0, proc.stderr
    assert "matches deps/checksums/pcre2-10.23.tar.bz2/sha512" in proc.stdout
    assert make(src, "install").returncode == 0
    out = subprocess.run([str(tmp_path / "inst-v0.6.4" / "bin" / "julia"), "--version"], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "julia version 0.6.4"


def test_julia_1x_trees_do_not_ask_the_compiler(upstream, tmp_path):
    """1.3 and newer download a prebuilt LLVM (BinaryBuilder): even a missing compiler does not stop the fake."""
    _, info = upstream
    for tag in ("v1.3.1", "v1.10.10"):
        src = checkout(info, tag, tmp_path, "CC = /nonexistent/gcc\n")
        assert not (src / "deps" / "fake-deps.mk").exists()
        proc = make(src)
        assert proc.returncode == 0, proc.stderr


def test_old_trees_without_a_compiler_fail(upstream, tmp_path):
    mod, info = upstream
    src = checkout(info, "v0.6.4", tmp_path, "CC = /nonexistent/gcc\n")
    seed(mod, src)
    proc = make(src)
    assert proc.returncode != 0 and "no C compiler to build LLVM 3.9.1" in proc.stderr


# --- the FAKE official binary tarball --------------------------------------------------------------------------

def test_fake_binary_has_the_real_layout(tmp_path):
    mod = load("make_julia_binary")
    info = mod.make_binary(tmp_path / "www")
    assert info["url_path"] == "linux/x64/0.6/julia-0.6.4-linux-x86_64.tar.gz"
    assert info["sha256"] == hashlib.sha256((tmp_path / "www" / info["url_path"]).read_bytes()).hexdigest()
    with tarfile.open(info["path"]) as tar:
        names = tar.getnames()
        assert {n.split("/")[0] for n in names} == {"julia-9d11f62bcb"}
        for rel in ("bin/julia", "bin/train.py", "bin/fake-julia-version", "lib/julia/libstdc++.so.6", "share/julia/cert.pem"):
            assert f"julia-9d11f62bcb/{rel}" in names, rel
        assert tar.extractfile("julia-9d11f62bcb/bin/fake-julia-version").read() == b"0.6.4\n"
        assert tar.getmember("julia-9d11f62bcb/bin/julia").mode & 0o111
        libstdcxx = tar.extractfile("julia-9d11f62bcb/lib/julia/libstdc++.so.6").read().decode().splitlines()
        assert libstdcxx[0].startswith("FAKE")
        assert "GLIBCXX_3.4.21" in libstdcxx and "GLIBCXX_3.4.22" not in libstdcxx
        assert "CXXABI_1.3.9" in libstdcxx and "CXXABI_1.3.10" not in libstdcxx
        assert tar.extractfile("julia-9d11f62bcb/share/julia/cert.pem").read().startswith(b"# FAKE")
        assert tar.extractfile("julia-9d11f62bcb/bin/julia").read() == (REPO / "tests" / "fakes" / "julia" / "julia").read_bytes()


def test_fake_binary_is_reproducible_and_runs(tmp_path):
    mod = load("make_julia_binary")
    a = mod.make_binary(tmp_path / "a")
    b = mod.make_binary(tmp_path / "b")
    assert a["sha256"] == b["sha256"]
    with tarfile.open(a["path"]) as tar:
        # Python 3.11.2 (Debian 12's, the oldest the project accepts) has no extraction filters (3.11.4 added them):
        # check the members as the "tar" filter would, then extract.
        assert all(not m.name.startswith("/") and ".." not in Path(m.name).parts for m in tar.getmembers())
        tar.extractall(tmp_path / "x")
    out = subprocess.run([str(tmp_path / "x" / "julia-9d11f62bcb" / "bin" / "julia"), "--version"], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "julia version 0.6.4"
    assert mod.make_binary(tmp_path / "c", "1.10.10")["url_path"] == "linux/x64/1.10/julia-1.10.10-linux-x86_64.tar.gz"
