"""One rule, one place: the snapshot file-name rule is written once (snapshot_state.SNAPSHOT_NAME) and used by
everything else; a second definition, in Python or in a task file, fails here.

Allowed, each with its reason:
- cifar10's probe (roles/cifar10/files/probe.py) runs as ``python3 -c <its source>`` in preflight, before the
  collection's helpers are on the host, so it cannot import the rule: it checks names by hand, and the test below
  holds its check to the rule on the same names.
- cifar10's tasks/state.yml lists the controller's copies with a glob (``snapshot-*.jld``) and keeps the one
  snapshot_state picked: the glob only finds candidates to remove.
"""

import ast
import json
import re
import subprocess
import sys

from ansible_collections.mocha.cloud.plugins.module_utils import snapshot_state
from conftest import REPO

OWNER = "plugins/module_utils/snapshot_state.py"
ALLOWED = {"roles/cifar10/files/probe.py", "roles/cifar10/tasks/state.yml"}
ROOTS = ("plugins", "roles", "playbooks", "scripts", "benchmarks", "inventory", "molecule")
# The name written as a pattern (regex or glob), or its prefix alone (a hand check with startswith).
DEFINITION = re.compile(r"snapshot-(?:[\[(\\*]|[0-9]*\{|$)")


def python_definitions(path):
    """Line numbers of the string constants in PATH that define a snapshot's name (docstrings and messages such as
    'snapshot-NNNNNN.jld' do not)."""
    return [node.lineno for node in ast.walk(ast.parse(path.read_text(), str(path)))
            if isinstance(node, ast.Constant) and isinstance(node.value, str) and DEFINITION.search(node.value)]


def text_definitions(path):
    return [n for n, line in enumerate(path.read_text(errors="replace").splitlines(), 1)
            if DEFINITION.search(line.split("#", 1)[0]) and "snapshot-" in line]


def definitions():
    found = {}
    for root in ROOTS:
        base = REPO / root
        if not base.is_dir():
            continue
        for path in sorted(base.rglob("*")):
            rel = path.relative_to(REPO).as_posix()
            if not path.is_file() or "/.venv/" in rel or "__pycache__" in rel:
                continue
            if path.suffix == ".py":
                lines = python_definitions(path)
            elif path.suffix in (".yml", ".yaml", ".j2", ".sh", ".jl"):
                lines = text_definitions(path)
            else:
                continue
            if lines:
                found[rel] = lines
    return found


def test_the_reader_finds_a_copy(tmp_path):
    """The search itself: a copied pattern, a glob and a prefix check are found; a message is not."""
    copy = tmp_path / "copy.py"
    copy.write_text('"""Names snapshot-NNNNNN.jld."""\nimport re\nA = re.compile(r"snapshot-(\\d+)\\.jld")\n'
                    'B = "x".startswith("snapshot-")\nC = f"snapshot-{1:06d}.jld"\nD = "not a snapshot-NNNNNN.jld"\n')
    assert python_definitions(copy) == [3, 4, 5]
    task = tmp_path / "t.yml"
    task.write_text("- debug:\n    msg: \"{{ query('fileglob', 'snapshot-*.jld') }}\"\n# snapshot-[0-9]\n")
    assert text_definitions(task) == [2]


def test_the_snapshot_name_rule_is_defined_once():
    found = definitions()
    assert OWNER in found, "the rule's owner defines it"
    extra = sorted(set(found) - {OWNER} - ALLOWED)
    assert not extra, (f"a second definition of the snapshot file-name rule in {[(f, found[f]) for f in extra]}: "
                       "import snapshot_state.SNAPSHOT_NAME (or SNAPSHOT_FILE for a longer pattern) instead")
    assert not ALLOWED - set(found), f"{sorted(ALLOWED - set(found))} no longer define it: take them off ALLOWED"


NAMES = ["snapshot-000400.jld", "snapshot-001200.jld", "snapshot-99.jld", "snapshot-\u0663\u0663\u0663\u0663\u0663\u0663\u0663.jld",
         "snapshot-.jld", "snapshot-+5000.jld", "snapshot-005000.jld.tmp", "xsnapshot-090000.jld", "snapshot-0090000.jld\n",
         "snapshot- 80000.jld", "snapshot-080000.JLD", "snapshot-\u00b9\u00b2\u00b3\u00b9\u00b2\u00b3\u00b9.jld"]


def test_the_probes_hand_check_is_the_rule(tmp_path):
    """cifar10's probe, run as the role runs it (python3 -c), picks the newest snapshot the rule would pick, among
    names the rule refuses in every way it can."""
    run_dir = tmp_path / "run"
    (run_dir / "snapshots").mkdir(parents=True)
    source = (REPO / "roles" / "cifar10" / "files" / "probe.py").read_text()

    def probe():
        argv = [sys.executable, "-c", source, str(tmp_path / "julia"), str(run_dir), str(tmp_path / "jobctl"),
                str(tmp_path / "extracted")]
        return json.loads(subprocess.run(argv, capture_output=True, text=True, check=True, timeout=60).stdout)["latest_snapshot"]

    def rule():
        names = [n for n in (p.name for p in (run_dir / "snapshots").iterdir()) if snapshot_state.SNAPSHOT_NAME.match(n)]
        return max(names, key=lambda n: int(snapshot_state.SNAPSHOT_NAME.match(n).group("iter"))) if names else None

    assert probe() is None
    for name in sorted(NAMES, key=len, reverse=True):  # the longest (most of them refused) first
        (run_dir / "snapshots" / name).write_bytes(b"")
        assert probe() == rule(), f"the probe and snapshot_state.SNAPSHOT_NAME differ once {name!r} is there"
    assert rule() == "snapshot-001200.jld"
