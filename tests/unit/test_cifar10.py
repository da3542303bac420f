"""mocha.cloud.cifar10_hdf5 and its module_utils: conversion read back with h5py, idempotence, check mode."""

import hashlib
import importlib.util
import json
import os
import subprocess
import sys
import urllib.request

import h5py
import numpy as np
import pytest
from ansible_collections.mocha.cloud.plugins.module_utils import cifar10
from conftest import REPO

FIXTURES = REPO / "tests" / "fixtures"


def _load(name):
    spec = importlib.util.spec_from_file_location(name, FIXTURES / (name + ".py"))
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


make_cifar10 = _load("make_cifar10")
serve_http = _load("serve_http")
PER_BATCH = 60


@pytest.fixture(scope="module")
def source(tmp_path_factory):
    dest = tmp_path_factory.mktemp("cifar")
    info = make_cifar10.make(str(dest), per_batch=PER_BATCH, seed=3)
    return info


@pytest.fixture(scope="module")
def converted(source, tmp_path_factory):
    dest = tmp_path_factory.mktemp("hdf5")
    result = cifar10.convert(source["batches_dir"], str(dest), seed=7, chunk_records=25)
    return dest, result


def _raw(source, name):
    return np.fromfile(os.path.join(source["batches_dir"], name), dtype=np.uint8).reshape(-1, cifar10.RECORD_BYTES)


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
    train_raw = np.concatenate([_raw(source, n) for n in cifar10.TRAIN_BATCHES])
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
    train_raw = np.concatenate([_raw(source, n) for n in cifar10.TRAIN_BATCHES])
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
    train_raw = np.concatenate([_raw(source, n) for n in cifar10.TRAIN_BATCHES])
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
    again = cifar10.convert(source["batches_dir"], str(tmp_path / "same"), seed=7, chunk_records=1000)
    other = cifar10.convert(source["batches_dir"], str(tmp_path / "other"), seed=8)
    # The h5py write path (used when HDF5 gives no dataset offset) writes the same bytes.
    via_h5py = cifar10.convert(source["batches_dir"], str(tmp_path / "h5py"), seed=7, chunk_records=33, raw=False)
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
        assert h5["data"].id.get_offset() % cifar10.DIRECT_ALIGN == 0


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

    monkeypatch.setattr(cifar10.os, "pwrite", pwrite)
    dest, _ = converted
    again = cifar10.convert(source["batches_dir"], str(tmp_path / "buffered"), seed=7, chunk_records=25)
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
        again = cifar10.convert(source["batches_dir"], shm, seed=7, chunk_records=25)
        for name in ("train_hdf5", "test_hdf5"):
            for a, b in zip(_read_all(again[name]), _read_all(dest / os.path.basename(again[name])), strict=True):
                np.testing.assert_array_equal(a, b)


def test_missing_and_malformed_sources(tmp_path, source):
    with pytest.raises(cifar10.Cifar10Error, match="lacks data_batch_1.bin"):
        cifar10.source_files(str(tmp_path))
    bad = tmp_path / "bad"
    bad.mkdir()
    for name in cifar10.TRAIN_BATCHES + cifar10.TEST_BATCHES:
        (bad / name).write_bytes(open(os.path.join(source["batches_dir"], name), "rb").read())
    (bad / "data_batch_3.bin").write_bytes(b"\x00" * 3074)
    with pytest.raises(cifar10.Cifar10Error, match="not a whole number of 3073-byte records"):
        cifar10.source_files(str(bad))
    (bad / "data_batch_3.bin").write_bytes(b"\x0c" + b"\x00" * 3072)
    with pytest.raises(cifar10.Cifar10Error, match="label 12"):
        cifar10.convert(str(bad), str(tmp_path / "out"), seed=1)


# ---------------------------------------------------------------------------------------------
# The module, run as Ansible runs it (a subprocess with JSON args), for idempotence and check mode
# ---------------------------------------------------------------------------------------------

def run_module(args, check=False):
    payload = {"ANSIBLE_MODULE_ARGS": dict(args, _ansible_check_mode=check)}
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(p for p in sys.path if p))
    out = subprocess.run(
        [sys.executable, "-m", "ansible_collections.mocha.cloud.plugins.modules.cifar10_hdf5"],
        input=json.dumps(payload), capture_output=True, text=True, env=env, check=False,
    )
    return json.loads(out.stdout)


def test_module_check_real_repeat(source, tmp_path):
    args = {"src": source["batches_dir"], "dest": str(tmp_path / "h5"), "seed": 5}
    first = run_module(args, check=True)
    assert first["changed"] is True and not (tmp_path / "h5").exists()
    real = run_module(args)
    assert real["changed"] is True, real
    assert (real["train_count"], real["test_count"]) == (5 * PER_BATCH, PER_BATCH)
    assert real["train_list"] == str(tmp_path / "h5" / "train.txt")
    mtime = os.path.getmtime(real["train_hdf5"])
    repeat = run_module(args)
    assert repeat["changed"] is False and repeat["train_count"] == 5 * PER_BATCH
    assert os.path.getmtime(real["train_hdf5"]) == mtime
    assert run_module(args, check=True)["changed"] is False
    # A different seed, or a changed source batch, makes it convert again.
    assert run_module(dict(args, seed=6), check=True)["changed"] is True


def test_module_reconverts_when_a_source_changes(source, tmp_path):
    src = tmp_path / "src"
    src.mkdir()
    for name in cifar10.TRAIN_BATCHES + cifar10.TEST_BATCHES:
        (src / name).write_bytes(open(os.path.join(source["batches_dir"], name), "rb").read())
    args = {"src": str(src), "dest": str(tmp_path / "h5")}
    assert run_module(args)["changed"] is True
    data = bytearray((src / "test_batch.bin").read_bytes())
    data[5] ^= 0xFF
    (src / "test_batch.bin").write_bytes(bytes(data))
    assert run_module(args)["changed"] is True
    assert run_module(args)["changed"] is False


def test_module_errors_are_clear(tmp_path):
    res = run_module({"src": str(tmp_path), "dest": str(tmp_path / "o")})
    assert res["failed"] and "lacks data_batch_1.bin" in res["msg"] and "cifar-10-batches-bin" in res["msg"]
    res = run_module({"src": str(tmp_path / "nowhere"), "dest": str(tmp_path / "o")}, check=True)
    assert res["changed"] is True and "not there yet" in res["msg"]
    res = run_module({"src": str(tmp_path), "dest": str(tmp_path / "o"), "chunk_records": 0})
    assert res["failed"] and "chunk_records" in res["msg"]


# ---------------------------------------------------------------------------------------------
# The fake archive and the local server that the role's tests download from
# ---------------------------------------------------------------------------------------------

def test_fake_archive_is_reproducible_and_served_with_ranges(tmp_path):
    a = make_cifar10.make(str(tmp_path / "a"), per_batch=4, seed=2)
    b = make_cifar10.make(str(tmp_path / "b"), per_batch=4, seed=2)
    assert a["md5"] == b["md5"] and a["size"] == os.path.getsize(a["archive"])
    server, port = serve_http.start(str(tmp_path / "a"))
    try:
        url = f"http://127.0.0.1:{port}/cifar-10-binary.tar.gz"
        body = urllib.request.urlopen(url).read()
        assert hashlib.md5(body).hexdigest() == a["md5"]
        req = urllib.request.Request(url, headers={"Range": "bytes=10-"})
        with urllib.request.urlopen(req) as resp:
            assert resp.status == 206
            assert resp.read() == body[10:]
    finally:
        server.shutdown()
