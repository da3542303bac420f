"""The role cuda: the facts it publishes, and its files (the key fingerprint script, the CUDA self-test); defaults vs
argument_specs for every role: test_role_specs.py."""

import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from conftest import REPO

ROLE = REPO / "roles" / "cuda"
NVCC = shutil.which("nvcc") or next((str(p) for p in sorted(Path("/usr/local").glob("cuda*/bin/nvcc"))), None)


def test_published_facts_are_not_inputs():
    # set_fact would silently override an input of the same name for the rest of the play
    defaults = yaml.safe_load((ROLE / "defaults" / "main.yml").read_text())
    facts = {"cuda_home", "cuda_nvcc_path", "cuda_driver_version", "cuda_version", "cuda_cudnn_version",
             "cuda_path_taken", "cuda_gpu_present"}
    assert not facts & set(defaults)
    published = yaml.safe_load((ROLE / "tasks" / "verify.yml").read_text())[-1]["ansible.builtin.set_fact"]
    assert facts <= set(published) and published["cacheable"] is True


def _run(*args, **kw):
    return subprocess.run(list(args), capture_output=True, text=True, check=False, **kw)


def test_openpgp_fingerprints_match_gpg(tmp_path, gnupg_home):
    gpg = shutil.which("gpg")
    if not gpg:
        pytest.skip("gpg is not installed")
    home = gnupg_home
    env = {"GNUPGHOME": str(home), "PATH": "/usr/bin:/bin"}
    out = _run(gpg, "--batch", "--pinentry-mode", "loopback", "--passphrase", "", "--quick-gen-key",
               "Fake CUDA repo key (tests only) <fake@example.invalid>", "rsa2048", "sign", "never", env=env)
    assert out.returncode == 0, out.stderr
    listing = _run(gpg, "--batch", "--with-colons", "--list-keys", env=env).stdout
    expected = [line.split(":")[9] for line in listing.splitlines() if line.startswith("fpr:")][0]
    keyring = tmp_path / "cuda-archive-keyring.gpg"
    keyring.write_bytes(subprocess.run([gpg, "--batch", "--export"], env=env, capture_output=True, check=True).stdout)
    armored = tmp_path / "key.asc"
    armored.write_text(_run(gpg, "--batch", "--armor", "--export", env=env).stdout)
    script = str(ROLE / "files" / "openpgp_fingerprints.py")
    for path in (keyring, armored):
        res = _run(sys.executable, script, str(path))
        assert res.returncode == 0, res.stderr
        assert res.stdout.split() == [expected]
    # the same key inside a .deb shaped like cuda-keyring
    if shutil.which("dpkg-deb"):
        pkg = tmp_path / "pkg"
        (pkg / "DEBIAN").mkdir(parents=True)
        (pkg / "usr" / "share" / "keyrings").mkdir(parents=True)
        shutil.copy(keyring, pkg / "usr" / "share" / "keyrings" / "cuda-archive-keyring.gpg")
        (pkg / "DEBIAN" / "control").write_text(
            "Package: fake-cuda-keyring\nVersion: 1.0\nArchitecture: all\nMaintainer: tests <t@example.invalid>\n"
            "Description: fake keyring for tests\n")
        deb = tmp_path / "fake-cuda-keyring_1.0_all.deb"
        assert _run("dpkg-deb", "--build", "--root-owner-group", str(pkg), str(deb)).returncode == 0
        res = _run(sys.executable, script, str(deb))
        assert res.returncode == 0, res.stderr
        assert res.stdout.split() == [expected]


def test_openpgp_fingerprints_rejects_garbage(tmp_path):
    junk = tmp_path / "junk.gpg"
    junk.write_bytes(b"this is not a key")
    res = _run(sys.executable, str(ROLE / "files" / "openpgp_fingerprints.py"), str(junk))
    assert res.returncode == 1 and "not OpenPGP data" in res.stderr


@pytest.mark.skipif(NVCC is None, reason="no nvcc on this machine")
def test_selftest_compiles_and_reports(tmp_path):
    exe = tmp_path / "cuda_selftest"
    out = _run(NVCC, "-arch=sm_75", "-o", str(exe), str(ROLE / "files" / "cuda_selftest.cu"))
    assert out.returncode == 0, out.stderr
    res = _run(str(exe))
    if res.returncode == 2:  # no GPU or no driver here: the program must say so, not pretend
        assert "NO_DEVICE" in res.stdout and "SELFTEST" not in res.stdout
    else:
        assert res.returncode == 0, res.stdout
        assert "result=PASS" in res.stdout and "SELFTEST PASSED" in res.stdout
