"""The state keeper's reading of the training log (roles/cifar10/files/state_keeper.py): which snapshot the last start
of the training loaded, as Mocha says it. Its S3, IMDS and jobctl behaviour is tested in
tests/integration/test_state_keeper.py."""

import os
import sys

import pytest
from conftest import REPO, load_source

# snapshot_state.py is beside the keeper on a host; here it is found in module_utils, for this import only.
sys.path.insert(0, str(REPO / "plugins" / "module_utils"))
try:
    keeper = load_source(REPO / "roles" / "cifar10" / "files" / "state_keeper.py", "state_keeper")
finally:
    sys.path.remove(str(REPO / "plugins" / "module_utils"))

START = "[jobctl 2026-12-02T00:29:19Z] starting cifar10: julia cifar10.jl (via nohup)"
LOADED = "02-Dec 00:29:30:INFO:root:Loading existing model from /var/lib/mocha-cifar10/run/snapshots/snapshot-{:06d}.jld"
TRAIN = "02-Dec 00:29:31:INFO:root:{:06d} :: TRAIN obj-val = 2.30"


@pytest.mark.parametrize(("lines", "want"), [
    ([START, LOADED.format(50), TRAIN.format(75)], 50),  # resumed from 50
    ([START, LOADED.format(50), TRAIN.format(75), START, LOADED.format(300), TRAIN.format(325)], 300),  # the last start
    ([START, TRAIN.format(25)], 0),  # trained from scratch
    ([START, LOADED.format(50), TRAIN.format(75), START], None),  # started, not loaded yet: the log does not say
    ([TRAIN.format(25)], None),  # no start line
    ([], None),
])
def test_loaded_iteration(tmp_path, lines, want):
    log = tmp_path / "training.log"
    log.write_text("\n".join(lines) + "\n")
    assert keeper.loaded_iteration(str(log)) == want


def test_the_log_wins_over_snapshot_times(tmp_path):
    """A fast training writes new snapshots within the second it started: the log still says where it resumed."""
    snaps = tmp_path / "snapshots"
    snaps.mkdir()
    for it in (50, 100, 150):
        (snaps / f"snapshot-{it:06d}.jld").write_bytes(b"\0" * 512 + b"\x89HDF\r\n\x1a\n" + b"\0" * 64)
    started = int(os.path.getmtime(snaps / "snapshot-000150.jld"))
    log = tmp_path / "training.log"
    log.write_text("\n".join([START, LOADED.format(50), TRAIN.format(75)]) + "\n")
    assert keeper.resumed_iteration(str(snaps), started, str(log)) == 50
    assert keeper.resumed_iteration(str(snaps), started) == 150  # what snapshot times alone would say
    assert keeper.loaded_iteration(str(tmp_path / "missing.log")) is None
