"""The repository is laid out as a collection that also runs in place."""

import subprocess
import sys
import tarfile
from pathlib import Path

import yaml
from conftest import REPO


def test_collection_metadata():
    galaxy = yaml.safe_load((REPO / "galaxy.yml").read_text())
    assert (galaxy["namespace"], galaxy["name"]) == ("mocha", "cloud")
    runtime = yaml.safe_load((REPO / "meta" / "runtime.yml").read_text())
    assert runtime["requires_ansible"].startswith(">=2.19")


def test_collection_artifact_leaves_out_tests_and_ci(tmp_path):
    out = subprocess.run(
        [str(Path(sys.executable).with_name("ansible-galaxy")), "collection", "build", "--force", "--output-path", str(tmp_path), str(REPO)],
        capture_output=True, text=True, check=False,
    )
    assert out.returncode == 0, out.stderr
    (artifact,) = tmp_path.glob("mocha-cloud-*.tar.gz")
    names = tarfile.open(artifact).getnames()
    assert "galaxy.yml" not in names  # replaced by MANIFEST.json
    assert "MANIFEST.json" in names
    assert any(n.startswith("roles/") for n in names)
    assert any(n.startswith("plugins/") for n in names)
    for left_out in ("tests/", "molecule/", ".ci/", ".venv/", ".config/", ".whl/", ".mocha-src/", "scripts/test"):
        assert not any(n.startswith(left_out) for n in names), left_out


def test_no_symlinks_tracked():
    tracked = subprocess.run(["git", "ls-files", "-s"], cwd=REPO, capture_output=True, text=True, check=True).stdout
    assert not [line for line in tracked.splitlines() if line.startswith("120000")]
