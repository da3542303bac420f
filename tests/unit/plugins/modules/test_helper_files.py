"""mocha.cloud.helper_files: the collection's standard-library helpers written into a directory, only what differs,
check mode and diff truthful. tests/integration/test_helper_files.py runs it through Ansible (the helpers packed with
the module) and the state keeper from the directory it wrote."""

import ast
import os
import subprocess
import sys

import pytest
from ansible_collections.mocha.cloud.plugins.modules import helper_files
from ansible_collections.mocha.cloud.tests.unit.plugins.modules.utils import run_module
from conftest import REPO

NAMES = ["mocha_log", "run_legs", "snapshot_state"]
UTILS = REPO / "plugins" / "module_utils"


def test_writes_the_collections_files_then_nothing(tmp_path):
    dest = tmp_path / "keeper"
    check = run_module(helper_files.main, {"dest": str(dest), "names": NAMES}, check_mode=True)
    assert check["changed"] and not dest.exists()
    assert [d["after_header"] for d in check["diff"]] == [str(dest / f"{n}.py") for n in NAMES]
    first = run_module(helper_files.main, {"dest": str(dest), "names": NAMES})
    assert first["changed"] and first["written"] == first["files"] == [str(dest / f"{n}.py") for n in NAMES]
    for name in NAMES:
        assert (dest / f"{name}.py").read_bytes() == (UTILS / f"{name}.py").read_bytes()
        assert (dest / f"{name}.py").stat().st_mode & 0o7777 == 0o644
    again = run_module(helper_files.main, {"dest": str(dest), "names": NAMES})
    assert not again["changed"] and again["written"] == [] and again["diff"] == []
    assert not run_module(helper_files.main, {"dest": str(dest), "names": NAMES}, check_mode=True)["changed"]


def test_only_what_differs_is_written(tmp_path):
    run_module(helper_files.main, {"dest": str(tmp_path), "names": NAMES})
    stale = tmp_path / "mocha_log.py"
    stale.write_text("# an older mocha_log\n")
    (tmp_path / "run_legs.py").chmod(0o600)
    check = run_module(helper_files.main, {"dest": str(tmp_path), "names": NAMES}, check_mode=True)
    assert check["changed"] and check["written"] == [str(stale)]
    assert check["diff"][0]["before"] == "# an older mocha_log\n" and stale.read_text() == "# an older mocha_log\n"
    res = run_module(helper_files.main, {"dest": str(tmp_path), "names": NAMES})
    assert res["changed"] and res["written"] == [str(stale)]
    assert stale.read_bytes() == (UTILS / "mocha_log.py").read_bytes()
    assert (tmp_path / "run_legs.py").stat().st_mode & 0o7777 == 0o644


def test_mode_alone_is_a_change(tmp_path):
    run_module(helper_files.main, {"dest": str(tmp_path), "names": ["run_legs"]})
    (tmp_path / "run_legs.py").chmod(0o600)
    assert run_module(helper_files.main, {"dest": str(tmp_path), "names": ["run_legs"]}, check_mode=True)["changed"]
    assert run_module(helper_files.main, {"dest": str(tmp_path), "names": ["run_legs"]})["changed"]
    assert not run_module(helper_files.main, {"dest": str(tmp_path), "names": ["run_legs"]})["changed"]


@pytest.mark.parametrize(("args", "message"), [
    ({"names": ["aws_gpu"]}, "value of names must be one or more of"),
    ({"names": []}, "names is empty"),
])
def test_refuses_what_it_cannot_write(tmp_path, args, message):
    res = run_module(helper_files.main, dict(args, dest=str(tmp_path)))
    assert res["failed"] and message in res["msg"]
    assert os.listdir(tmp_path) == []


def test_refuses_a_file_as_dest(tmp_path):
    dest = tmp_path / "keeper"
    dest.write_text("not a directory\n")
    res = run_module(helper_files.main, {"dest": str(dest), "names": NAMES})
    assert res["failed"] and "is not a directory" in res["msg"]


@pytest.mark.parametrize("name", sorted(helper_files.HELPERS))
def test_each_helper_needs_the_standard_library_only(name):
    """A host runs them with its own python3: nothing outside the standard library; a helper that imports another
    falls back to the plain name (the file beside it) when the collection's path is not there."""
    tree = ast.parse((UTILS / f"{name}.py").read_text())
    allowed = set(sys.stdlib_module_names) | set(helper_files.HELPERS)
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            roots = [alias.name.split(".")[0] for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            roots = [(node.module or "").split(".")[0]]
            if roots == ["ansible_collections"]:
                assert any(isinstance(handler.type, ast.Name) and handler.type.id == "ImportError"
                           for parent in ast.walk(tree) if isinstance(parent, ast.Try) and node in parent.body
                           for handler in parent.handlers), f"{name}: {ast.unparse(node)} without the plain-name fallback"
                continue
        else:
            continue
        assert set(roots) <= allowed, f"{name} imports {roots}, not the standard library"


@pytest.mark.parametrize("name", sorted(helper_files.HELPERS))
def test_requires_lists_what_each_helper_imports(name):
    """REQUIRES is what the helper's source imports of the collection: a new import there and not here fails."""
    imported = set()
    for node in ast.walk(ast.parse((UTILS / f"{name}.py").read_text())):
        if isinstance(node, ast.ImportFrom) and (node.module or "").startswith("ansible_collections."):
            imported.add(node.module.rsplit(".", 1)[-1])
    assert imported == set(helper_files.REQUIRES.get(name, ()))


def test_a_helper_comes_with_what_it_imports(tmp_path):
    """mocha_log alone brings snapshot_state, and a python3 with no collection (-I, another directory) imports it
    from there, as the state keeper does on a host."""
    res = run_module(helper_files.main, {"dest": str(tmp_path), "names": ["mocha_log"]})
    assert res["files"] == [str(tmp_path / "mocha_log.py"), str(tmp_path / "snapshot_state.py")]
    log = "[2017-11-22 16:00:02 | info | Mocha]: Loading existing model from /srv/run/snapshots/snapshot-050000.jld\n"
    code = (f"import sys; sys.path.insert(0, {str(tmp_path)!r}); import mocha_log; "
            f"print(mocha_log.start_iteration({log!r}), mocha_log.__file__, mocha_log.SNAPSHOT_NAME.pattern)")
    run = subprocess.run([sys.executable, "-I", "-c", code], capture_output=True, text=True, cwd="/", check=False,
                         timeout=60)
    assert run.returncode == 0, run.stderr
    assert run.stdout.split()[:2] == ["50000", str(tmp_path / "mocha_log.py")]
