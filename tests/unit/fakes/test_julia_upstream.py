"""The FAKE Julia upstream (tests/fixtures/make_julia_upstream.py), a local bare git repository standing in for
github.com/JuliaLang/julia: tags (annotated, prereleases) as git ls-remote shows them, a shallow clone smaller than a
full one, a tree that builds with make and installs a julia, and a tree that fails on request."""

import shutil
import subprocess

import pytest
from ansible_collections.mocha.cloud.plugins.module_utils import julia_versions as jv
from conftest import REPO, load_source


@pytest.fixture(scope="module")
def upstream(tmp_path_factory):
    if not shutil.which("git"):
        pytest.skip("git not installed")
    mod = load_source(REPO / "tests" / "fixtures" / "make_julia_upstream.py")
    dest = tmp_path_factory.mktemp("up") / "julia.git"
    return mod, mod.make_upstream(dest, mod.DEFAULT_TAGS, 16)


def test_upstream_tags_resolve_via_ls_remote(upstream):
    _, info = upstream
    out = subprocess.run(["git", "ls-remote", "--tags", info["url"]], capture_output=True, text=True, check=True).stdout
    res = jv.resolve_version(out, "1.10")
    assert res["tag"] == "v1.10.10"
    expected = {t["tag"]: t["commit"] for t in info["tags"]}
    assert res["commit"] == expected["v1.10.10"]  # peeled commit, not the annotated tag object
    assert jv.resolve_version(out, "latest")["tag"] == "v1.11.2"
    assert "v1.11.0-rc1" in out and "v1.12.0-DEV" in out


def test_upstream_shallow_clone_is_smaller_and_builds(upstream, tmp_path):
    mod, info = upstream
    sizes = mod.measure(info["url"], "v1.10.10")
    assert sizes["shallow_git_bytes"] < sizes["full_git_bytes"]
    assert sizes["shallow_objects"] < sizes["full_objects"]
    if not shutil.which("make"):
        pytest.skip("make not installed")
    src = tmp_path / "src"
    subprocess.run(["git", "clone", "-q", "--depth", "1", "--branch", "v1.10.10", "--single-branch", info["url"], str(src)], check=True)
    (src / "Make.user").write_text("prefix=%s\nMARCH=x86-64\n" % (tmp_path / "inst"))
    subprocess.run(["make", "-j", "2"], cwd=src, check=True, capture_output=True)
    subprocess.run(["make", "install"], cwd=src, check=True, capture_output=True)
    info_dir = src / "usr" / "share" / "fake-julia-build"
    assert (info_dir / "jobs").read_text().strip() == "2"
    assert "MARCH=x86-64" in (info_dir / "make-vars").read_text()
    out = subprocess.run([str(tmp_path / "inst" / "bin" / "julia"), "--version"], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "julia version 1.10.10"


def test_upstream_fake_failure(upstream, tmp_path):
    _, info = upstream
    if not shutil.which("make"):
        pytest.skip("make not installed")
    src = tmp_path / "src"
    subprocess.run(["git", "clone", "-q", "--depth", "1", "--branch", "v1.9.4", info["url"], str(src)], check=True)
    (src / "Make.user").write_text("FAKE_FAIL = 1\n")
    proc = subprocess.run(["make"], cwd=src, capture_output=True, text=True, check=False)
    assert proc.returncode != 0
    assert "FAKE failure" in proc.stderr
