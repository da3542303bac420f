"""The state keeper's reading of the training log (roles/cifar10/files/state_keeper.py): which snapshot the last start
of the training loaded and the last iteration logged, as Mocha v0.3.1 writes them (Memento), with the controller's own
reader (mocha_log). Its S3, IMDS and jobctl behaviour is tested in tests/integration/test_state_keeper.py."""

import os
import re
import sys

import pytest
from conftest import REPO, load_source

# On a host mocha.cloud.helper_files writes the helpers beside the keeper; here they are found in module_utils, for
# this import only.
sys.path.insert(0, str(REPO / "plugins" / "module_utils"))
try:
    keeper = load_source(REPO / "roles" / "cifar10" / "files" / "state_keeper.py", "state_keeper")
finally:
    sys.path.remove(str(REPO / "plugins" / "module_utils"))

START = "[jobctl 2026-12-02T00:29:19Z] starting cifar10: julia cifar10.jl (via nohup)"
# Mocha v0.3.1 (Memento, src/solvers.jl load_snapshot and src/coffee/training-summary.jl), as the fake julia logs.
CONFIG = ["Configuring Mocha...", " * CUDA       disabled by default", "Mocha configured, continue loading module...",
          "[2026-12-02 00:29:25 | info | Mocha]: Constructing net CIFAR10-train on Mocha.CPUBackend..."]
LOADED = "[2026-12-02 00:29:30 | info | Mocha]: Loading existing model from /var/lib/mocha-cifar10/run/snapshots/snapshot-{:06d}.jld"
TRAIN = "[2026-12-02 00:29:31 | info | Mocha]:  TRAIN iter={:06d} obj_val=2.30000000"
# Mocha <= 0.1 (Logging.jl, the tutorial's format), which the reader still accepts.
LOADED_OLD = "02-Dec 00:29:30:INFO:root:Loading existing model from /var/lib/mocha-cifar10/run/snapshots/snapshot-{:06d}.jld"
TRAIN_OLD = "02-Dec 00:29:31:INFO:root:{:06d} :: TRAIN obj-val = 2.30"


@pytest.mark.parametrize(("lines", "want", "last"), [
    ([START, *CONFIG, LOADED.format(50), TRAIN.format(50), TRAIN.format(75)], 50, 75),  # resumed from 50
    ([START, LOADED.format(50), TRAIN.format(75), START, *CONFIG, LOADED.format(300), TRAIN.format(325)], 300, 325),  # the last start
    ([START, *CONFIG, TRAIN.format(0), TRAIN.format(25)], 0, 25),  # trained from scratch
    ([START, LOADED.format(50), TRAIN.format(75), START, *CONFIG], None, 75),  # started, not loaded yet: the log does not say
    ([TRAIN.format(25)], None, 25),  # no start line
    ([], None, 0),
    ([START, LOADED_OLD.format(50), TRAIN_OLD.format(75)], 50, 75),  # Mocha <= 0.1
    ([START, TRAIN_OLD.format(25)], 0, 25),
])
def test_loaded_and_last_iteration(tmp_path, lines, want, last):
    log = tmp_path / "training.log"
    log.write_text("\n".join(lines) + "\n")
    assert keeper.loaded_iteration(str(log)) == want
    assert keeper.last_logged_iteration(str(log)) == last


def test_the_keeper_reads_the_log_with_the_controllers_reader():
    """One reader: the keeper's log functions are mocha_log's, not patterns of its own."""
    source = (REPO / "roles" / "cifar10" / "files" / "state_keeper.py").read_text()
    assert not re.search(r"re\.compile\([^)]*(TRAIN|Loading existing model)", source)
    assert keeper.mocha_log.__file__ == str(REPO / "plugins" / "module_utils" / "mocha_log.py")


def test_the_log_wins_over_snapshot_times(tmp_path):
    """A fast training writes new snapshots within the second it started: the log still says where it resumed."""
    snaps = tmp_path / "snapshots"
    snaps.mkdir()
    for it in (50, 100, 150):
        (snaps / f"snapshot-{it:06d}.jld").write_bytes(b"\0" * 512 + b"\x89HDF\r\n\x1a\n" + b"\0" * 64)
    started = int(os.path.getmtime(snaps / "snapshot-000150.jld"))
    log = tmp_path / "training.log"
    log.write_text("\n".join([START, *CONFIG, LOADED.format(50), TRAIN.format(75)]) + "\n")
    assert keeper.resumed_iteration(str(snaps), started, str(log)) == 50
    assert keeper.resumed_iteration(str(snaps), started) == 150  # what snapshot times alone would say
    assert keeper.loaded_iteration(str(tmp_path / "missing.log")) is None
