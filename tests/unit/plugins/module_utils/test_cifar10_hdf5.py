"""module_utils/cifar10_hdf5.py: the conversion read back with h5py, and every failure path (no space, signals, leftovers)."""

import errno
import hashlib
import json
import os
import shutil
import signal
import subprocess
import sys
import time

import h5py
import numpy as np
import pytest
from ansible_collections.mocha.cloud.plugins.module_utils import cifar10_hdf5
from conftest import FIXTURES, load_source

make_cifar10 = load_source(FIXTURES / "make_cifar10.py")
PER_BATCH = 60


@pytest.fixture(scope="module")
def source(tmp_path_factory):
    dest = tmp_path_factory.mktemp("cifar")
    info = make_cifar10.make(str(dest), per_batch=PER_BATCH, seed=3)
    return info


@pytest.fixture(scope="module")
def converted(source, tmp_path_factory):
    dest = tmp_path_factory.mktemp("hdf5")
    result = cifar10_hdf5.convert(source["batches_dir"], str(dest), seed=7, chunk_records=25)
    return dest, result


def _raw(source, name):
    return np.fromfile(os.path.join(source["batches_dir"], name), dtype=np.uint8).reshape(-1, cifar10_hdf5.RECORD_BYTES)


def test_counts_paths_and_lists(converted):
    dest, result = converted
    assert result["train_count"] == 5 * PER_BATCH
    assert result["test_count"] == PER_BATCH
    assert (dest / "train.txt").read_text() == str(dest / "train.hdf5") + "\n"
    assert (dest / "test.txt").read_text() == str(dest / "test.hdf5") + "\n"
    assert not list(dest.glob("*.tmp"))


@pytest.mark.parametrize("name,n", [("train.hdf5", 5 * PER_BATCH), ("test.hdf5", PER_BATCH)])
def test_dims_and_dtype(converted, name, n):
    dest, _ = converted
    with h5py.File(dest / name, "r") as h5:
        assert set(h5.keys()) == {"data", "label"}
        # h5py (C order) (N, 3, 32, 32) is Julia's width x height x channels x N.
        assert h5["data"].shape == (n, 3, 32, 32)
        assert h5["data"].dtype == np.dtype("<f4")
        assert h5["label"].shape == (n, 1)
        assert h5["label"].dtype == np.dtype("<f4")
        labels = h5["label"][:, 0]
    assert set(np.unique(labels)) <= set(range(10))


def test_true_training_mean_is_subtracted_from_both_sets(source, converted):
    dest, _ = converted
    train_raw = np.concatenate([_raw(source, n) for n in cifar10_hdf5.TRAIN_BATCHES])
    mean = train_raw[:, 1:].astype(np.float64).mean(axis=0).reshape(3, 32, 32)
    with h5py.File(dest / "train.hdf5", "r") as h5:
        train = h5["data"][:]
    with h5py.File(dest / "test.hdf5", "r") as h5:
        test = h5["data"][:]
    # The training set now has (float32-rounding) zero mean at every element.
    assert np.abs(train.astype(np.float64).mean(axis=0)).max() < 1e-3
    # The test set had the *training* mean taken off (not its own).
    test_raw = _raw(source, "test_batch.bin")[:, 1:].astype(np.float64).reshape(-1, 3, 32, 32)
    np.testing.assert_allclose(np.sort((test + mean).ravel()), np.sort(test_raw.ravel()), atol=1e-3)


def test_element_order_matches_julia_layout(source, converted):
    """[n, c, y, x] is pixel byte c*1024 + y*32 + x of the record (R, G, B planes, row-major)."""
    dest, _ = converted
    train_raw = np.concatenate([_raw(source, n) for n in cifar10_hdf5.TRAIN_BATCHES])
    mean = train_raw[:, 1:].astype(np.float64).mean(axis=0)
    by_id = {int.from_bytes(bytes(r[1:4]), "big"): r for r in train_raw}
    with h5py.File(dest / "train.hdf5", "r") as h5:
        row = h5["data"][17].astype(np.float64)
    pixels = np.rint(row.ravel() + mean).astype(np.uint8)
    rid = int.from_bytes(bytes(pixels[:3]), "big")
    original = by_id[rid][1:]
    for c, y, x in [(0, 0, 0), (0, 0, 5), (0, 3, 0), (1, 0, 0), (2, 31, 31), (1, 16, 7)]:
        assert round(row[c, y, x] + mean[c * 1024 + y * 32 + x]) == original[c * 1024 + y * 32 + x]


def test_shuffle_keeps_pairs_and_stays_within_batches(source, converted):
    dest, _ = converted
    train_raw = np.concatenate([_raw(source, n) for n in cifar10_hdf5.TRAIN_BATCHES])
    mean = train_raw[:, 1:4].astype(np.float64).mean(axis=0)
    with h5py.File(dest / "train.hdf5", "r") as h5:
        first3 = h5["data"][:, 0, 0, :3].astype(np.float64)
        labels = h5["label"][:, 0]
    ids = [int.from_bytes(bytes(np.rint(v + mean).astype(np.uint8)), "big") for v in first3]
    for rid, lab in zip(ids, labels, strict=False):
        assert make_cifar10.label_of(rid) == int(lab)
    ids = np.array(ids)
    for b in range(5):
        block = ids[b * PER_BATCH:(b + 1) * PER_BATCH]
        assert sorted(block) == list(range(b * PER_BATCH, (b + 1) * PER_BATCH))  # within its batch
    assert list(ids) != sorted(ids)  # and actually shuffled


def test_shuffle_is_reproducible_and_seeded(source, converted, tmp_path):
    dest, _ = converted
    again = cifar10_hdf5.convert(source["batches_dir"], str(tmp_path / "same"), seed=7, chunk_records=1000)
    other = cifar10_hdf5.convert(source["batches_dir"], str(tmp_path / "other"), seed=8)
    # The h5py write path (used when HDF5 gives no dataset offset) writes the same bytes.
    via_h5py = cifar10_hdf5.convert(source["batches_dir"], str(tmp_path / "h5py"), seed=7, chunk_records=33, raw=False)
    with h5py.File(dest / "train.hdf5", "r") as a, h5py.File(via_h5py["train_hdf5"], "r") as b:
        np.testing.assert_array_equal(a["data"][:], b["data"][:])
        np.testing.assert_array_equal(a["label"][:], b["label"][:])
    with h5py.File(dest / "train.hdf5", "r") as a, h5py.File(again["train_hdf5"], "r") as b:
        np.testing.assert_array_equal(a["label"][:], b["label"][:])
        np.testing.assert_array_equal(a["data"][:], b["data"][:])
    with h5py.File(dest / "train.hdf5", "r") as a, h5py.File(other["train_hdf5"], "r") as b:
        assert not np.array_equal(a["label"][:], b["label"][:])


def test_data_starts_on_a_direct_io_boundary(converted):
    """The data's file offset is 4 KiB aligned, so its blocks can go to disk with O_DIRECT."""
    dest, _ = converted
    with h5py.File(dest / "train.hdf5", "r") as h5:
        assert h5["data"].id.get_offset() % cifar10_hdf5.DIRECT_ALIGN == 0


def _read_all(path):
    with h5py.File(path, "r") as h5:
        return h5["data"][:], h5["label"][:]


def test_o_direct_refused_at_write_falls_back_to_the_page_cache(source, converted, tmp_path, monkeypatch):
    """A file system that takes the O_DIRECT flag but refuses the write gets the same bytes, buffered."""
    import errno
    import fcntl

    refused = []
    real_pwrite = os.pwrite

    def pwrite(fd, data, offset):
        if fcntl.fcntl(fd, fcntl.F_GETFL) & os.O_DIRECT:
            refused.append(fd)
            raise OSError(errno.EINVAL, "Invalid argument")
        return real_pwrite(fd, data, offset)

    monkeypatch.setattr(cifar10_hdf5.os, "pwrite", pwrite)
    dest, _ = converted
    again = cifar10_hdf5.convert(source["batches_dir"], str(tmp_path / "buffered"), seed=7, chunk_records=25)
    assert refused, "the O_DIRECT descriptor was never tried"
    for name in ("train_hdf5", "test_hdf5"):
        for a, b in zip(_read_all(again[name]), _read_all(dest / os.path.basename(again[name])), strict=True):
            np.testing.assert_array_equal(a, b)


@pytest.mark.skipif(not os.path.isdir("/dev/shm") or not os.access("/dev/shm", os.W_OK), reason="no writable /dev/shm")
def test_o_direct_refused_at_open_on_tmpfs(source, converted):
    """tmpfs refuses O_DIRECT when the file is opened: the conversion still writes the same bytes."""
    import tempfile

    dest, _ = converted
    with tempfile.TemporaryDirectory(dir="/dev/shm") as shm:
        again = cifar10_hdf5.convert(source["batches_dir"], shm, seed=7, chunk_records=25)
        for name in ("train_hdf5", "test_hdf5"):
            for a, b in zip(_read_all(again[name]), _read_all(dest / os.path.basename(again[name])), strict=True):
                np.testing.assert_array_equal(a, b)


def test_missing_and_malformed_sources(tmp_path, source):
    with pytest.raises(cifar10_hdf5.Cifar10Error, match="lacks data_batch_1.bin"):
        cifar10_hdf5.source_files(str(tmp_path))
    bad = tmp_path / "bad"
    bad.mkdir()
    for name in cifar10_hdf5.TRAIN_BATCHES + cifar10_hdf5.TEST_BATCHES:
        (bad / name).write_bytes(open(os.path.join(source["batches_dir"], name), "rb").read())
    (bad / "data_batch_3.bin").write_bytes(b"\x00" * 3074)
    with pytest.raises(cifar10_hdf5.Cifar10Error, match="not a whole number of 3073-byte records"):
        cifar10_hdf5.source_files(str(bad))
    (bad / "data_batch_3.bin").write_bytes(b"\x0c" + b"\x00" * 3072)
    with pytest.raises(cifar10_hdf5.Cifar10Error, match="label 12"):
        cifar10_hdf5.convert(str(bad), str(tmp_path / "out"), seed=1)


# ---------------------------------------------------------------------------------------------
# Failure paths: no space, signals, leftovers. Nothing partial is left, and the previous outputs and
# their stamp stay as they were when nothing was replaced.
# ---------------------------------------------------------------------------------------------

def _snapshot(dest):
    """Every file of dest with its bytes' checksum (what 'left as it was' is compared with)."""
    return {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in sorted(dest.iterdir())}


@pytest.fixture
def previous(source, tmp_path):
    """A finished conversion (seed 7) in its own directory."""
    dest = tmp_path / "h5"
    cifar10_hdf5.convert(source["batches_dir"], str(dest), seed=7, chunk_records=25)
    before = _snapshot(dest)
    assert cifar10_hdf5.STAMP_NAME in before and len(before) == 5
    return dest, before


def test_no_space_mid_write_removes_the_partial_files_and_keeps_the_outputs(source, previous, monkeypatch):
    dest, before = previous
    real_pwrite = os.pwrite
    calls = []

    def pwrite(fd, data, offset):
        calls.append(offset)
        if len(calls) == 3:
            raise OSError(errno.ENOSPC, "No space left on device")
        return real_pwrite(fd, data, offset)

    monkeypatch.setattr(cifar10_hdf5.os, "pwrite", pwrite)
    with pytest.raises(cifar10_hdf5.Cifar10Error, match=r"no space left on device while writing .* the partial files were removed"):
        cifar10_hdf5.convert(source["batches_dir"], str(dest), seed=8, chunk_records=25)
    assert len(calls) == 3
    assert _snapshot(dest) == before  # no .tmp, the same outputs and stamp
    assert cifar10_hdf5.outputs_current(str(dest), cifar10_hdf5.source_stamp(cifar10_hdf5.source_files(source["batches_dir"]), 7))


def test_any_error_mid_write_removes_the_partial_files(source, previous, monkeypatch):
    dest, before = previous
    real_put = cifar10_hdf5._Writer.put
    calls = []

    def put(self, offset, block, count):
        calls.append(offset)
        if len(calls) == 4:
            raise RuntimeError("HDF5 said no")
        return real_put(self, offset, block, count)

    monkeypatch.setattr(cifar10_hdf5._Writer, "put", put)
    with pytest.raises(RuntimeError, match="HDF5 said no"):
        cifar10_hdf5.convert(source["batches_dir"], str(dest), seed=8, chunk_records=25)
    assert _snapshot(dest) == before


def test_free_space_is_checked_before_writing(source, previous, monkeypatch):
    dest, before = previous
    real = os.statvfs

    class Small:
        def __init__(self, st):
            self.f_frsize, self.f_bavail = st.f_frsize, 10

    monkeypatch.setattr(cifar10_hdf5.os, "statvfs", lambda path: Small(real(path)))
    need = cifar10_hdf5.bytes_needed(cifar10_hdf5.source_files(source["batches_dir"]))
    assert need["train"] == 5 * PER_BATCH * 3073 * 4 + cifar10_hdf5.OVERHEAD_BYTES
    with pytest.raises(cifar10_hdf5.Cifar10Error, match=r"not enough free space in .*: the conversion needs about 7 MB "
                                                   r"\(5 MB for train.hdf5, 2 MB for test.hdf5.* nothing was changed"):
        cifar10_hdf5.convert(source["batches_dir"], str(dest), seed=8)
    assert _snapshot(dest) == before


def test_leftovers_of_a_killed_run_are_removed(source, previous):
    dest, before = previous
    for name in ("train.hdf5.tmp", "test.hdf5.tmp", cifar10_hdf5.STAMP_NAME + ".tmp"):
        (dest / name).write_bytes(b"\0" * 1000)
    cifar10_hdf5.convert(source["batches_dir"], str(dest), seed=7, chunk_records=25)
    assert not list(dest.glob("*.tmp")) and set(_snapshot(dest)) == set(before)


CHILD = """
import json, os, sys, time
from ansible_collections.mocha.cloud.plugins.module_utils import cifar10_hdf5
real = os.pwrite
def slow(fd, data, offset):
    if not os.path.exists(sys.argv[3]):
        open(sys.argv[3], "w").close()      # tell the test the write has started
    time.sleep(0.3)
    return real(fd, data, offset)
os.pwrite = slow
try:
    cifar10_hdf5.convert(sys.argv[1], sys.argv[2], seed=8, chunk_records=10)
except cifar10_hdf5.Cifar10Interrupted as exc:
    print(json.dumps({"interrupted": str(exc)}))
    sys.exit(3)
print(json.dumps({"finished": True}))
"""


def _child_env():
    return dict(os.environ, PYTHONPATH=os.pathsep.join(p for p in sys.path if p))


@pytest.mark.parametrize("signame", ["SIGTERM", "SIGINT", "SIGHUP"])
def test_signal_mid_write_removes_the_partial_files_and_keeps_the_outputs(source, previous, tmp_path, signame):
    dest, before = previous
    started = tmp_path / "started"
    child = subprocess.Popen([sys.executable, "-c", CHILD, source["batches_dir"], str(dest), str(started)],
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=_child_env())
    deadline = time.monotonic() + 60
    while not started.exists() and child.poll() is None and time.monotonic() < deadline:
        time.sleep(0.05)
    assert started.exists(), child.communicate(timeout=30)
    assert list(dest.glob("*.tmp")), "the conversion had not begun writing"
    child.send_signal(getattr(signal, signame))
    out, err = child.communicate(timeout=60)
    assert child.returncode == 3, (out, err)
    assert json.loads(out)["interrupted"] == f"the conversion was stopped by {signame}; its partial files were removed"
    assert _snapshot(dest) == before


def test_sigkill_leftovers_go_with_the_next_run(source, previous, tmp_path):
    """SIGKILL cannot be caught: its partial file stays until the next conversion, which removes it first."""
    dest, before = previous
    started = tmp_path / "started"
    child = subprocess.Popen([sys.executable, "-c", CHILD, source["batches_dir"], str(dest), str(started)],
                             stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=_child_env())
    deadline = time.monotonic() + 60
    while not started.exists() and time.monotonic() < deadline:
        time.sleep(0.05)
    child.kill()
    child.wait(timeout=30)
    assert list(dest.glob("*.tmp"))
    assert {k: v for k, v in _snapshot(dest).items() if not k.endswith(".tmp")} == before  # stamp untouched
    cifar10_hdf5.convert(source["batches_dir"], str(dest), seed=8, chunk_records=25)
    assert not list(dest.glob("*.tmp"))


TMPFS_CHILD = """
import hashlib, json, os, sys
from ansible_collections.mocha.cloud.plugins.module_utils import cifar10_hdf5
src, dest, raw = sys.argv[1], sys.argv[2], sys.argv[3] == "raw"
def snap():
    return {n: hashlib.sha256(open(os.path.join(dest, n), "rb").read()).hexdigest() for n in sorted(os.listdir(dest))}
report = {}
cifar10_hdf5.convert(src, dest, seed=7, chunk_records=25, raw=raw)
before = snap()
for step in ("checked", "unchecked"):
    if step == "unchecked":
        # Another process takes the space after the check: the writes themselves hit ENOSPC.
        cifar10_hdf5.check_free_space = lambda dest, files: None
    try:
        cifar10_hdf5.convert(src, dest, seed=8, chunk_records=25, raw=raw)
        report[step] = "converted"
    except cifar10_hdf5.Cifar10Error as exc:
        report[step] = str(exc)
    report[step + "_unchanged"] = snap() == before
print(json.dumps(report))
"""


def _unshare_works():
    if shutil.which("unshare") is None:
        return False
    return subprocess.run(["unshare", "-rm", "true"], capture_output=True, check=False).returncode == 0


@pytest.mark.skipif(not _unshare_works(), reason="no user and mount namespaces (unshare -rm) for a private tmpfs")
@pytest.mark.parametrize("mode", ["raw", "h5py"])
def test_real_full_file_system(source, tmp_path, mode):
    """A 7 MiB tmpfs (private mount namespace): room for one set of outputs, not for a second beside it."""
    mnt = tmp_path / "mnt"
    mnt.mkdir()
    script = tmp_path / "child.py"
    script.write_text(TMPFS_CHILD)
    cmd = (f"mount -t tmpfs -o size=7m tmpfs {mnt} && "
           f"{sys.executable} {script} {source['batches_dir']} {mnt}/h5 {mode}")
    out = subprocess.run(["unshare", "-rm", "sh", "-c", cmd], capture_output=True, text=True, env=_child_env(), timeout=300,
                         check=False)
    assert out.returncode == 0, out.stderr[-3000:]
    report = json.loads(out.stdout)
    assert report["checked"].startswith(f"not enough free space in {mnt}/h5: the conversion needs about 7 MB"), report
    assert report["unchecked"].startswith(f"no space left on device while writing {mnt}/h5"), report
    assert report["checked_unchanged"] and report["unchecked_unchanged"], report
