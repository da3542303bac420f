"""The FAKE CIFAR-10 archive (tests/fixtures/make_cifar10.py) and the local file server the role's tests download it
from (tests/fixtures/serve_http.py): reproducible, in the real binary format, served with byte ranges."""

import hashlib
import os
import tarfile
import urllib.request

from conftest import FIXTURES, load_source

make_cifar10 = load_source(FIXTURES / "make_cifar10.py")
serve_http = load_source(FIXTURES / "serve_http.py")


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


def test_fake_archive_has_the_real_layout(tmp_path):
    """The real archive unpacks to cifar-10-batches-bin/ with five training batches and one test batch of
    3073-byte records (1 label byte + 3072 pixel bytes)."""
    info = make_cifar10.make(str(tmp_path / "a"), per_batch=4, seed=2)
    with tarfile.open(info["archive"]) as tar:
        sizes = {m.name: m.size for m in tar.getmembers() if m.isfile()}
    batches = {f"cifar-10-batches-bin/data_batch_{i}.bin" for i in range(1, 6)} | {"cifar-10-batches-bin/test_batch.bin"}
    assert batches <= set(sizes), sorted(sizes)
    assert all(sizes[name] == 4 * 3073 for name in batches)
