"""The role cuda refuses a cuda-keyring package that does not carry NVIDIA's key, before installing anything.

A real (not check-mode) run of the install path on this machine (cuda_assume_gpu pretends a GPU) against a
local HTTP server (tests only) that serves a FAKE cuda-keyring .deb signed into existence with a throw-away
gpg key. The download lands in a scratch directory; the role must stop at the fingerprint check, say which
key it found, and leave the apt sources alone.
"""

import functools
import http.server
import shutil
import subprocess
import sys
import threading
from pathlib import Path

import pytest
from conftest import REPO

PLAYBOOK = REPO / "molecule" / "cuda" / "gpu-box.yml"
SOURCE = Path("/etc/apt/sources.list.d/cuda-debian12-x86_64.list")

pytestmark = pytest.mark.skipif(
    not (shutil.which("gpg") and shutil.which("dpkg-deb") and Path("/etc/debian_version").exists()),
    reason="needs gpg, dpkg-deb and a Debian-family machine")


def _fake_keyring_deb(tmp_path, home):
    env = {"GNUPGHOME": str(home), "PATH": "/usr/bin:/bin"}
    subprocess.run(["gpg", "--batch", "--pinentry-mode", "loopback", "--passphrase", "", "--quick-gen-key",
                    "FAKE cuda repo key (tests only) <fake@example.invalid>", "rsa2048", "sign", "never"],
                   env=env, check=True, capture_output=True)
    listing = subprocess.run(["gpg", "--batch", "--with-colons", "--list-keys"], env=env, check=True,
                             capture_output=True, text=True).stdout
    fpr = [line.split(":")[9] for line in listing.splitlines() if line.startswith("fpr:")][0]
    pkg = tmp_path / "pkg"
    (pkg / "DEBIAN").mkdir(parents=True)
    (pkg / "usr" / "share" / "keyrings").mkdir(parents=True)
    (pkg / "usr" / "share" / "keyrings" / "cuda-archive-keyring.gpg").write_bytes(
        subprocess.run(["gpg", "--batch", "--export"], env=env, check=True, capture_output=True).stdout)
    (pkg / "DEBIAN" / "control").write_text(
        "Package: cuda-keyring\nVersion: 1.1-1\nArchitecture: all\nMaintainer: tests <t@example.invalid>\n"
        "Description: FAKE cuda-keyring for tests\n")
    repo = tmp_path / "www" / "debian12" / "x86_64"
    repo.mkdir(parents=True)
    subprocess.run(["dpkg-deb", "--build", "--root-owner-group", str(pkg), str(repo / "cuda-keyring_1.1-1_all.deb")],
                   check=True, capture_output=True)
    return tmp_path / "www", fpr


@pytest.fixture
def fake_repo(tmp_path, gnupg_home):
    root, fpr = _fake_keyring_deb(tmp_path, gnupg_home)
    handler = functools.partial(http.server.SimpleHTTPRequestHandler, directory=str(root))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}", fpr
    server.shutdown()
    server.server_close()


def test_keyring_with_the_wrong_key_is_refused(fake_repo, tmp_path):
    url, fake_fpr = fake_repo
    if subprocess.run(["dpkg-query", "-W", "cuda-keyring"], capture_output=True, check=False).returncode == 0:
        pytest.skip("a cuda-keyring package is installed here")
    source_before = SOURCE.exists()
    downloads = tmp_path / "downloads"
    cmd = [str(Path(sys.executable).parent / "ansible-playbook"), "-i", "localhost,", "-c", "local",
           "-e", "ansible_python_interpreter=" + sys.executable, "-e", "cuda_assume_gpu=7.5",
           "-e", "cuda_repo_base_url=" + url + "/", "-e", "cuda_download_dir=" + str(downloads), str(PLAYBOOK)]
    res = subprocess.run(cmd, capture_output=True, text=True, check=False, timeout=600,
                         env={"PATH": "/usr/bin:/bin", "ANSIBLE_CONFIG": str(REPO / "ansible.cfg"), "MOCHA_CLOUD_SETTINGS": "none",
                              "ANSIBLE_NOCOLOR": "true", "HOME": str(Path.home())})
    out = " ".join(res.stdout.split())
    assert res.returncode != 0, out[-3000:]
    assert "Refuse a keyring that does not carry NVIDIA's key" in out, out[-3000:]
    assert fake_fpr in out and "EB693B3035CD5710E231E123A4B469963BF863CC" in out and "not installing it" in out
    # it was downloaded (to the scratch directory) but neither installed nor used as an apt source
    assert (downloads / "debian12-x86_64-cuda-keyring_1.1-1_all.deb").exists()
    assert SOURCE.exists() == source_before
    assert subprocess.run(["dpkg-query", "-W", "cuda-keyring"], capture_output=True, check=False).returncode != 0
