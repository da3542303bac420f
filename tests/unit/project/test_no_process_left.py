"""The suite's own check that tests leave no gpg-agent behind (conftest): it sees one, and stopping works."""

import shutil
import subprocess

import pytest
from conftest import gpg_agents_under, stop_gpg_agents

pytestmark = pytest.mark.skipif(not (shutil.which("gpg") and shutil.which("gpgconf")), reason="needs gpg and gpgconf")


def start_agent(home):
    home.mkdir(mode=0o700, exist_ok=True)
    subprocess.run(["gpg", "--batch", "--pinentry-mode", "loopback", "--passphrase", "", "--quick-gen-key",
                    "leak check (tests only) <leak@example.invalid>", "rsa2048", "sign", "never"],
                   env={"GNUPGHOME": str(home), "PATH": "/usr/bin:/bin"}, check=True, capture_output=True)


def test_an_agent_left_running_is_seen_and_can_be_stopped(tmp_path):
    home = tmp_path / "leaky"
    start_agent(home)
    seen = gpg_agents_under(tmp_path)
    try:
        assert list(seen.values()) == [str(home)], seen  # what the teardown check in conftest would report
        assert gpg_agents_under(tmp_path / "elsewhere") == {}
    finally:
        left = stop_gpg_agents(home)
    assert left == {} and gpg_agents_under(tmp_path) == {}


def test_the_fixture_home_is_private(gnupg_home):
    assert gnupg_home.is_dir() and (gnupg_home.stat().st_mode & 0o777) == 0o700
    start_agent(gnupg_home)
    assert list(gpg_agents_under(gnupg_home).values()) == [str(gnupg_home)]  # stopped by the fixture when this test ends, or the suite fails
