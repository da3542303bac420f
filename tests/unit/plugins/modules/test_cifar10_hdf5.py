"""The cifar10_hdf5 module: check mode, the real conversion, idempotence (a second run changes nothing), clear errors."""

import os

import pytest
from ansible_collections.mocha.cloud.plugins.module_utils import cifar10_hdf5
from ansible_collections.mocha.cloud.plugins.modules import cifar10_hdf5 as module
from ansible_collections.mocha.cloud.tests.unit.plugins.modules.utils import run_module
from conftest import FIXTURES, load_source

PER_BATCH = 20


@pytest.fixture(scope="module")
def source(tmp_path_factory):
    return load_source(FIXTURES / "make_cifar10.py").make(str(tmp_path_factory.mktemp("cifar")), per_batch=PER_BATCH, seed=3)


def test_module_check_real_repeat(source, tmp_path):
    args = {"src": source["batches_dir"], "dest": str(tmp_path / "h5"), "seed": 5}
    first = run_module(module.main, args, check_mode=True)
    assert first["changed"] is True and not (tmp_path / "h5").exists()
    real = run_module(module.main, args)
    assert real["changed"] is True, real
    assert (real["train_count"], real["test_count"]) == (5 * PER_BATCH, PER_BATCH)
    assert real["train_list"] == str(tmp_path / "h5" / "train.txt")
    mtime = os.path.getmtime(real["train_hdf5"])
    repeat = run_module(module.main, args)
    assert repeat["changed"] is False and repeat["train_count"] == 5 * PER_BATCH
    assert os.path.getmtime(real["train_hdf5"]) == mtime
    assert run_module(module.main, args, check_mode=True)["changed"] is False
    # A different seed, or a changed source batch, makes it convert again.
    assert run_module(module.main, dict(args, seed=6), check_mode=True)["changed"] is True


def test_module_reconverts_when_a_source_changes(source, tmp_path):
    src = tmp_path / "src"
    src.mkdir()
    for name in cifar10_hdf5.TRAIN_BATCHES + cifar10_hdf5.TEST_BATCHES:
        (src / name).write_bytes(open(os.path.join(source["batches_dir"], name), "rb").read())
    args = {"src": str(src), "dest": str(tmp_path / "h5")}
    assert run_module(module.main, args)["changed"] is True
    data = bytearray((src / "test_batch.bin").read_bytes())
    data[5] ^= 0xFF
    (src / "test_batch.bin").write_bytes(bytes(data))
    assert run_module(module.main, args)["changed"] is True
    assert run_module(module.main, args)["changed"] is False


def test_module_errors_are_clear(tmp_path):
    res = run_module(module.main, {"src": str(tmp_path), "dest": str(tmp_path / "o")})
    assert res["failed"] and "lacks data_batch_1.bin" in res["msg"] and "cifar-10-batches-bin" in res["msg"]
    res = run_module(module.main, {"src": str(tmp_path / "nowhere"), "dest": str(tmp_path / "o")}, check_mode=True)
    assert res["changed"] is True and "not there yet" in res["msg"]
    res = run_module(module.main, {"src": str(tmp_path), "dest": str(tmp_path / "o"), "chunk_records": 0})
    assert res["failed"] and "chunk_records" in res["msg"]
    assert not (tmp_path / "o").exists()
