"""The FAKE julia fails where a real Julia 0.6 fails at run time (tests/fakes/julia/fakeruntime.py).

- Pkg.init() clones METADATA.jl over https: without SSL_CERT_FILE/SSL_CERT_DIR, Julia 0.6's libgit2 verifies against its
  2018 cert.pem and fails.
- A tree laid out like the official binary (bundled lib/julia/libstdc++.so.6, older than the system's) cannot load a
  library that needs a newer GLIBCXX, unless the system's libstdc++ is preloaded.
- init(GPUBackend()) needs a CUDA device (FAKE_JULIA_CUDA_DEVICES stands in for the driver), cuDNN on the library
  path, and Mocha's compiled kernels.
"""

import os
import shutil
import subprocess

import pytest
from conftest import REPO

FAKE_DIR = REPO / "tests" / "fakes" / "julia"
SMOKE = REPO / "roles" / "mocha" / "files" / "mocha-gpu-smoke.jl"
OLD_LIBSTDCXX = b"FAKE bundled libstdc++\0" + b"\0".join(b"GLIBCXX_3.4.%d" % n for n in range(22))


def system_libstdcxx():
    out = subprocess.run(["ldconfig", "-p"], capture_output=True, text=True, check=False).stdout
    for line in out.splitlines():
        if line.strip().startswith("libstdc++.so.6 ") and "x86-64" in line:
            return line.split("=>")[1].strip()
    pytest.skip("no 64-bit libstdc++ in ldconfig's cache")


def clean_env(**extra):
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("FAKE_JULIA", "JULIA_", "MOCHA_", "SSL_CERT", "LD_PRELOAD", "LD_LIBRARY_PATH"))}
    env.update({k: str(v) for k, v in extra.items()})
    return env


@pytest.fixture()
def binary_tree(tmp_path):
    """<prefix>/bin/julia (the fake, 0.6.4), lib/julia/libstdc++.so.6 (FAKE, GLIBCXX <= 3.4.21), share/julia/cert.pem."""
    prefix = tmp_path / "julia-0.6.4"
    (prefix / "bin").mkdir(parents=True)
    for f in FAKE_DIR.iterdir():
        if f.is_file():
            shutil.copy(f, prefix / "bin" / f.name)
    (prefix / "bin" / "fake-julia-version").write_text("0.6.4\n")
    (prefix / "lib" / "julia").mkdir(parents=True)
    (prefix / "lib" / "julia" / "libstdc++.so.6").write_bytes(OLD_LIBSTDCXX)
    (prefix / "share" / "julia").mkdir(parents=True)
    (prefix / "share" / "julia" / "cert.pem").write_text("FAKE 2018 CA bundle\n")
    return prefix


@pytest.fixture()
def gpu_host(tmp_path, binary_tree):
    """A Mocha package with built kernels and a FAKE cuDNN that needs GLIBCXX 3.4.26."""
    pkgdir = tmp_path / "depot"
    mocha = pkgdir / "v0.6" / "Mocha"
    (mocha / "src" / "cuda" / "kernels").mkdir(parents=True)
    (mocha / "src" / "cuda" / "kernels" / "kernels.ptx").write_text("// FAKE ptx\n")
    (mocha / "deps").mkdir()
    libdir = tmp_path / "compat" / "lib"
    libdir.mkdir(parents=True)
    (libdir / "libcudnn.so").write_bytes(b"FAKE cuDNN\0GLIBCXX_3.4.21\0GLIBCXX_3.4.26\0")
    return {"julia": str(binary_tree / "bin" / "julia"), "JULIA_PKGDIR": str(pkgdir), "LD_LIBRARY_PATH": str(libdir),
            "MOCHA_USE_CUDA": "true", "MOCHA_USE_NATIVE_EXT": "false", "FAKE_JULIA_CUDA_DEVICES": "1"}


def smoke(host, **overrides):
    env = dict(host, **overrides)
    julia = env.pop("julia")
    env = clean_env(**{k: v for k, v in env.items() if v is not None})
    return subprocess.run([julia, "--startup-file=no", str(SMOKE)], env=env, capture_output=True, text=True, check=False)


def test_pkg_init_needs_the_system_ca_store(tmp_path, binary_tree):
    julia = str(binary_tree / "bin" / "julia")
    home = {"HOME": str(tmp_path)}
    bare = subprocess.run([julia, "-e", "Pkg.init()"], env=clean_env(**home), capture_output=True, text=True, check=False)
    assert bare.returncode == 1
    assert "ECERTIFICATE" in bare.stderr and str(binary_tree / "share/julia/cert.pem") in bare.stderr
    missing = subprocess.run([julia, "-e", "Pkg.init()"], env=clean_env(SSL_CERT_FILE=tmp_path / "nope.crt", **home),
                             capture_output=True, text=True, check=False)
    assert missing.returncode == 1 and "ECERTIFICATE" in missing.stderr
    bundle = tmp_path / "ca.crt"
    bundle.write_text("FAKE system CA bundle\n")
    ok = subprocess.run([julia, "-e", "Pkg.init()"], env=clean_env(SSL_CERT_FILE=bundle, **home),
                        capture_output=True, text=True, check=False)
    assert ok.returncode == 0, ok.stderr
    assert (tmp_path / ".julia" / "v0.6" / "METADATA").is_dir()


@pytest.mark.parametrize("version, aborts", [("0.6.4", True), ("0.7.0", False), ("1.10.4", False)])
def test_a_dangling_link_in_ssl_cert_dir_aborts_julia_06_at_start(tmp_path, binary_tree, version, aborts):
    """JuliaLang/julia#20439: with SSL_CERT_DIR naming a directory that holds a dangling symlink, Julia 0.6 dies while
    initializing LibGit2, before any code runs; 0.7 (LibGit2 0.26, #22614) starts. SSL_CERT_FILE alone is fine."""
    julia = str(binary_tree / "bin" / "julia")
    certs = tmp_path / "certs"
    certs.mkdir()
    (certs / "ca.pem").write_text("FAKE CA\n")
    (certs / "b8a1c3f0.0").symlink_to(tmp_path / "removed-ca.pem")
    bundle = tmp_path / "ca.crt"
    bundle.write_text("FAKE system CA bundle\n")
    env = clean_env(HOME=tmp_path, FAKE_JULIA_VERSION=version, SSL_CERT_DIR=certs, SSL_CERT_FILE=bundle)
    started = subprocess.run([julia, "-e", "Pkg.init()" if version < "0.7" else "using Pkg"], env=env,
                             capture_output=True, text=True, check=False)
    if aborts:
        assert started.returncode == 1
        assert 'ErrorException("error initializing LibGit2 module")' in started.stderr
        assert not (tmp_path / ".julia" / "v0.6" / "METADATA").exists()  # nothing ran
    else:
        assert "LibGit2" not in started.stderr
    version_only = subprocess.run([julia, "--version"], env=env, capture_output=True, text=True, check=False)
    assert version_only.returncode == 0  # answered before LibGit2 starts
    env.pop("SSL_CERT_DIR")
    ok = subprocess.run([julia, "-e", "Pkg.init()"], env=dict(env, FAKE_JULIA_VERSION="0.6.4"), capture_output=True,
                        text=True, check=False)
    assert ok.returncode == 0, ok.stderr


def test_gpu_smoke_passes_with_the_system_libstdcxx_preloaded(gpu_host):
    p = smoke(gpu_host, LD_PRELOAD=system_libstdcxx())
    assert p.returncode == 0, p.stderr
    assert p.stdout.startswith("MOCHA_CLOUD_SMOKE ok")


def test_gpu_smoke_fails_on_the_bundled_older_libstdcxx(gpu_host):
    p = smoke(gpu_host)
    assert p.returncode == 1
    assert "version `GLIBCXX_3.4.26' not found" in p.stderr
    assert "lib/julia/libstdc++.so.6" in p.stderr


@pytest.mark.parametrize("overrides, message", [
    ({"FAKE_JULIA_CUDA_DEVICES": "0"}, "CUDA_ERROR_NO_DEVICE"),
    ({"LD_LIBRARY_PATH": None}, 'could not load library "libcudnn"'),
    ({"MOCHA_USE_CUDA": None}, "GPUBackend not defined"),
])
def test_gpu_smoke_fails_without_what_gpubackend_needs(gpu_host, overrides, message):
    p = smoke(gpu_host, LD_PRELOAD=system_libstdcxx(), **overrides)
    assert p.returncode == 1 and message in p.stderr, p.stderr


def test_gpu_smoke_needs_the_kernels(gpu_host, tmp_path):
    os.remove(tmp_path / "depot" / "v0.6" / "Mocha" / "src" / "cuda" / "kernels" / "kernels.ptx")
    p = smoke(gpu_host, LD_PRELOAD=system_libstdcxx())
    assert p.returncode == 1 and "Mocha CUDA kernels not found" in p.stderr


def test_native_extension_needs_a_new_enough_libstdcxx(gpu_host, tmp_path):
    native = tmp_path / "depot" / "v0.6" / "Mocha" / "deps" / "libmochaext.so"
    native.write_bytes(b"FAKE native extension\0GLIBCXX_3.4.29\0")
    cpu = dict(gpu_host, MOCHA_USE_CUDA=None, MOCHA_USE_NATIVE_EXT="true")
    script = tmp_path / "train.jl"
    script.write_text('using Mocha\nmax_iter = 10\nHDF5DataLayer(name="data-train", source="/nope/train.txt")\n')
    julia = cpu.pop("julia")
    env = clean_env(**{k: v for k, v in cpu.items() if v is not None})
    p = subprocess.run([julia, str(script)], env=env, capture_output=True, text=True, check=False)
    assert p.returncode == 1 and "GLIBCXX_3.4.29' not found (required by" in p.stderr, p.stderr
    env["LD_PRELOAD"] = system_libstdcxx()
    p = subprocess.run([julia, str(script)], env=env, capture_output=True, text=True, check=False)
    # Past the native extension, the fake training now stops at the missing data list, as Mocha would.
    assert p.returncode == 1 and "HDF5DataLayer source /nope/train.txt" in p.stderr + p.stdout, p.stderr
