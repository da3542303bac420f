"""Shared pytest set-up: make this checkout importable as ``ansible_collections.mocha.cloud``.

A temporary ``ansible_collections/mocha/cloud`` link to the checkout is made outside the tree
(no symlink loop inside the repository) and put first on ``sys.path``.
"""

import os
import sys
import tempfile
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
FIXTURES = REPO / "tests" / "fixtures"
GPU_BOX = FIXTURES / "gpu-box-ubuntu2404-h200"


def read_capture(name):
    """One GPU-box capture: its body (stdout and stderr, ending in a newline) and its exit code.

    Each file starts with a `$ <command>` line and ends with a `# rc=<code>` line.
    """
    lines = (GPU_BOX / name).read_text().splitlines()
    assert lines[0].startswith("$ ") and lines[-1].startswith("# rc="), name
    return "\n".join(lines[1:-1]) + "\n", int(lines[-1][5:])


def capture(name):
    """The body of one GPU-box capture (see read_capture)."""
    return read_capture(name)[0]


def _link_collection() -> None:
    base = Path(tempfile.mkdtemp(prefix="mocha-cloud-coll-"))
    ns = base / "ansible_collections" / "mocha"
    ns.mkdir(parents=True)
    os.symlink(REPO, ns / "cloud")
    sys.path.insert(0, str(base))
    # ansible_collections is a namespace package; drop any cached portion list so ours is seen.
    for mod in [m for m in sys.modules if m == "ansible_collections" or m.startswith("ansible_collections.mocha")]:
        del sys.modules[mod]


_link_collection()


# --- Tests need only the repository --------------------------------------------------------------------------
# A user's clone has nothing beside it. Every file a test opens in this process is checked: one that lies beside
# the checkout (under its parent directory, outside the checkout) fails the test that opened it.
_OUTSIDE_READS = []


def outside_repo(path, repo=REPO):
    """True for a path beside the checkout: under the checkout's parent directory but not inside the checkout."""
    try:
        p = Path(os.path.abspath(os.fsdecode(path)))
    except (TypeError, ValueError):
        return False
    return p.is_relative_to(repo.parent) and not p.is_relative_to(repo)


def _audit(event, args):
    if event == "open" and args and isinstance(args[0], (str, bytes, os.PathLike)) and outside_repo(args[0]):
        _OUTSIDE_READS.append(os.fsdecode(args[0]))


sys.addaudithook(_audit)


def pytest_runtest_teardown(item):
    if _OUTSIDE_READS:
        paths = sorted(set(_OUTSIDE_READS))
        _OUTSIDE_READS.clear()
        raise AssertionError(f"{item.nodeid} opened files outside the repository (copy them into tests/fixtures/): {paths}")
