"""Shared pytest set-up: make this checkout importable as ``ansible_collections.mocha.cloud``.

A temporary ``ansible_collections/mocha/cloud`` link to the checkout is made outside the tree
(no symlink loop inside the repository) and put first on ``sys.path``.
"""

import os
import sys
import tempfile
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
FIXTURES = REPO.parent / "shared" / "fixtures"
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
