"""The tests need only the repository: a fresh clone with nothing beside it runs them green."""

import re
import subprocess

from conftest import REPO, outside_repo

# Any way of naming a place beside the checkout in test code.
BESIDE = re.compile(r"""\.\./shared|REPO\.parent|parents\[\d+\]\s*/\s*["']shared|["']shared["']\s*/\s*["']fixtures""")


def test_outside_repo_flags_paths_beside_the_checkout_only():
    assert outside_repo(REPO.parent / "shared" / "fixtures" / "x.txt")
    assert outside_repo(str(REPO) + "-other/file")
    assert not outside_repo(REPO / "tests" / "fixtures" / "README.md")
    assert not outside_repo("/usr/lib/python3/os.py", repo=REPO.parent / "checkout")


def test_a_clone_in_the_home_directory_may_read_the_users_caches_but_not_its_neighbours(tmp_path, monkeypatch):
    """`cd ~ && git clone`: the checkout's parent is HOME. matplotlib's font cache and the project's header cache
    under ~/.cache, ~/.ansible and ~/.gitconfig are the user's own; ~/shared and ~/other-checkout are beside it."""
    home = tmp_path / "home"
    clone = home / "mocha-cloud"
    monkeypatch.delenv("XDG_CACHE_HOME", raising=False)
    for own in (".cache/matplotlib/fontlist-v390.json", ".cache/mocha-cloud/cuda-headers/cudnn.h", ".ansible/tmp/x",
                ".gitconfig", ".config/matplotlib/matplotlibrc"):
        assert not outside_repo(home / own, repo=clone, home=home), own
    for beside in ("shared/fixtures/x.txt", "other-checkout/tests/conftest.py", "notes.txt"):
        assert outside_repo(home / beside, repo=clone, home=home), beside
    assert not outside_repo(clone / "tests" / "conftest.py", repo=clone, home=home)
    monkeypatch.setenv("XDG_CACHE_HOME", str(home / "cache"))
    assert not outside_repo(home / "cache" / "matplotlib" / "fontlist.json", repo=clone, home=home)


def test_opening_a_file_beside_the_checkout_is_seen(tmp_path):
    """The audit hook in conftest records the open; this test takes the record back so it does not fail itself."""
    import conftest

    target = REPO.parent / "mocha-cloud-self-contained-probe"
    before = len(conftest._OUTSIDE_READS)
    try:
        open(target).close()
    except OSError:
        pass
    seen = conftest._OUTSIDE_READS[before:]
    del conftest._OUTSIDE_READS[before:]
    assert str(target) in seen


def test_no_test_names_a_path_beside_the_checkout():
    files = subprocess.run(["git", "-C", str(REPO), "ls-files", "-co", "--exclude-standard", "tests", "molecule", "benchmarks"],
                           capture_output=True, text=True, check=True).stdout.split()
    offenders = []
    for rel in files:
        if not rel.endswith((".py", ".yml", ".yaml", ".sh")) or rel == "tests/unit/project/test_self_contained.py":
            continue
        text = (REPO / rel).read_text(errors="replace")
        offenders += [f"{rel}:{n}: {line.strip()}" for n, line in enumerate(text.splitlines(), 1) if BESIDE.search(line)]
    assert offenders == [], "tests must read only the repository (copy fixtures into tests/fixtures/):\n" + "\n".join(offenders)


def test_fixtures_the_tests_use_are_in_the_repository():
    for sub in ("gpu-box-ubuntu2404-h200", "lscpu-util-linux"):
        d = REPO / "tests" / "fixtures" / sub
        assert d.is_dir() and any(d.iterdir()), d
