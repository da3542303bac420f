# -*- coding: utf-8 -*-
# Copyright: mocha-cloud contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""CIFAR-10 binary batches to Mocha's HDF5 layout, for the module ``mocha.cloud.cifar10_hdf5`` and the benchmark.

Needs numpy and h5py, imported lazily, so this file imports anywhere.

Layout written (the one Mocha's own CIFAR-10 converter writes): dataset ``data`` of shape (N, 3, 32, 32) float32, which Julia's
HDF5.jl reads as width x height x channels x N, and ``label`` of shape (N, 1) float32 (1 x N in Julia).
Element [n, c, y, x] of ``data`` is byte ``c*1024 + y*32 + x`` of record n's pixels, minus the mean of
that element over the whole training set.
"""

import errno
import hashlib
import json
import os

WIDTH = 32
HEIGHT = 32
CHANNELS = 3
PIXELS = WIDTH * HEIGHT * CHANNELS
RECORD_BYTES = 1 + PIXELS
NUM_CLASSES = 10
TRAIN_BATCHES = tuple(f"data_batch_{i}.bin" for i in range(1, 6))
TEST_BATCHES = ("test_batch.bin",)
STAMP_NAME = ".cifar10_hdf5.json"
STAMP_FORMAT = 1
# Records converted at a time: 2,000 records are 24 MB of float32, so peak memory stays small
# whatever the size of a source batch.
DEFAULT_CHUNK_RECORDS = 2000


class Cifar10Error(Exception):
    """Bad input: the message says what was wrong and how to fix it."""


# --------------------------------------------------------------------------------------------
# Source files
# --------------------------------------------------------------------------------------------

def file_sha256(path, bufsize=4 * 1024 * 1024):
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        while True:
            block = handle.read(bufsize)
            if not block:
                break
            digest.update(block)
    return digest.hexdigest()


def source_files(src):
    """Return {'train': [paths], 'test': [paths]}; raise Cifar10Error naming what is missing or malformed."""
    missing = [name for name in TRAIN_BATCHES + TEST_BATCHES if not os.path.isfile(os.path.join(src, name))]
    if missing:
        raise Cifar10Error(
            "{} lacks {}: point src at the extracted cifar-10-batches-bin directory of the CIFAR-10 binary archive".format(src, ", ".join(missing))
        )
    out = {"train": [os.path.join(src, n) for n in TRAIN_BATCHES], "test": [os.path.join(src, n) for n in TEST_BATCHES]}
    for path in out["train"] + out["test"]:
        size = os.path.getsize(path)
        if size == 0 or size % RECORD_BYTES:
            raise Cifar10Error(
                f"{path} has {size} bytes, not a whole number of {RECORD_BYTES}-byte records (1 label byte + 3072 pixel bytes): "
                "the file is truncated or not a CIFAR-10 binary batch; download and extract the archive again"
            )
    return out


def source_stamp(files, seed):
    """What an output was made from: the checksum of every source batch and the seed."""
    return {
        "format": STAMP_FORMAT,
        "seed": seed,
        "sources": {os.path.basename(p): file_sha256(p) for p in files["train"] + files["test"]},
    }


def read_stamp(dest):
    try:
        with open(os.path.join(dest, STAMP_NAME)) as handle:
            return json.load(handle)
    except (OSError, ValueError):
        return None


def output_paths(dest):
    return {
        "train_hdf5": os.path.join(dest, "train.hdf5"),
        "test_hdf5": os.path.join(dest, "test.hdf5"),
        "train_list": os.path.join(dest, "train.txt"),
        "test_list": os.path.join(dest, "test.txt"),
    }


def outputs_current(dest, stamp):
    """True when every output exists and the stamp says it was made from the same sources and seed."""
    paths = output_paths(dest)
    if not all(os.path.isfile(p) for p in paths.values()):
        return False
    old = read_stamp(dest)
    if not old:
        return False
    return {k: old.get(k) for k in ("format", "seed", "sources")} == stamp


# --------------------------------------------------------------------------------------------
# Conversion (numpy + h5py)
# --------------------------------------------------------------------------------------------

def _np():
    import numpy  # pylint: disable=import-outside-toplevel

    return numpy


def _map_file(np, path):
    """The bytes of a file as a read-only uint8 array: mapped from the page cache (no copy), or read."""
    import mmap  # pylint: disable=import-outside-toplevel

    fd = os.open(path, os.O_RDONLY)
    try:
        size = os.fstat(fd).st_size
        if size == 0:
            return np.zeros(0, dtype=np.uint8)
        try:
            # MAP_POPULATE maps every page in one call instead of one fault per 4 KiB page.
            mapped = mmap.mmap(fd, size, flags=mmap.MAP_SHARED | getattr(mmap, "MAP_POPULATE", 0), prot=mmap.PROT_READ)
        except (AttributeError, OSError, ValueError):
            return np.fromfile(path, dtype=np.uint8)
        return np.frombuffer(mapped, dtype=np.uint8)
    finally:
        os.close(fd)


def read_records(path):
    """The records of one batch file as a read-only uint8 array of shape (n, 3073)."""
    np = _np()
    raw = _map_file(np, path)
    if raw.size == 0 or raw.size % RECORD_BYTES:
        raise Cifar10Error(f"{path} is not a whole number of {RECORD_BYTES}-byte CIFAR-10 records")
    records = raw.reshape(-1, RECORD_BYTES)
    bad = records[:, 0] >= NUM_CLASSES
    if bad.any():
        first = int(np.argmax(bad))
        raise Cifar10Error(
            f"{path} record {first} has label {int(records[first, 0])}; CIFAR-10 labels are 0-9: "
            "this is not the CIFAR-10 binary version (CIFAR-100 has two label bytes)"
        )
    return records


def training_mean(train_paths, keep=False):
    """The true per-element mean image over every training record, as float64 of shape (3, 32, 32).

    Returns (mean, count, records): with keep=True, records is the list of the batches read (uint8,
    150 MB for CIFAR-10, mapped from the page cache), so the writer need not read them again.
    """
    np = _np()
    total = np.zeros(PIXELS, dtype=np.float64)
    count = 0
    kept = []
    for path in train_paths:
        records = read_records(path)
        # Exact integer sums, one batch at a time (uint32 cannot overflow below 16,843,009 records).
        total += records[:, 1:].sum(axis=0, dtype=np.uint32 if records.shape[0] < 16843009 else np.uint64)
        count += records.shape[0]
        if keep:
            kept.append(records)
    return (total / count).reshape(CHANNELS, HEIGHT, WIDTH), count, kept


# Offsets, lengths and buffer addresses of O_DIRECT writes must be multiples of the device's block size;
# 4 KiB covers every common one. A record's float32 pixels are 12,288 bytes, three such blocks.
DIRECT_ALIGN = 4096


def _aligned_empty(np, shape, dtype):
    """An array on fresh page-aligned memory (an anonymous mapping), as O_DIRECT writes need."""
    import mmap  # pylint: disable=import-outside-toplevel

    nbytes = int(np.prod(shape)) * np.dtype(dtype).itemsize
    return np.frombuffer(mmap.mmap(-1, max(nbytes, 1)), dtype=dtype, count=int(np.prod(shape))).reshape(shape)


def _pwrite_all(fd, view, offset):
    """Write all of ``view`` at ``offset`` (pwrite may write less than asked)."""
    while view:
        written = os.pwrite(fd, view, offset)
        view = view[written:]
        offset += written


class _Writer:
    """Writes blocks at byte offsets of a file from a background thread.

    os.pwrite releases the GIL, so the next block is shuffled, converted and centred (numpy also
    releases the GIL in its loops) while earlier ones are written. Blocks come from a small pool that is
    reused, so the output costs no fresh memory after the first few blocks.

    With direct=True the blocks go to disk with O_DIRECT: no copy into the page cache and nothing left
    to flush but the file's metadata, which suits a file written once and read later by another
    program. Where the file system refuses O_DIRECT (tmpfs, some network and FUSE file systems) or a
    block is not aligned, the write falls back to the page cache.
    """

    def __init__(self, path, block_shape, dtype, depth=3, direct=False):
        import queue  # pylint: disable=import-outside-toplevel
        import threading  # pylint: disable=import-outside-toplevel

        np = _np()
        self.fd = os.open(path, os.O_WRONLY)
        self.direct_fd = None
        if direct and hasattr(os, "O_DIRECT"):
            try:
                self.direct_fd = os.open(path, os.O_WRONLY | os.O_DIRECT)
            except OSError:
                pass  # tmpfs and others refuse the flag at open: the page cache it is
        self.queue = queue.Queue()
        self.free = queue.Queue()
        for _unused in range(depth):
            self.free.put(_aligned_empty(np, block_shape, dtype))
        self.error = None
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()

    def buffer(self):
        """A free block to fill (waits while every block is still being written)."""
        if self.error is not None:
            raise self.error
        return self.free.get()

    def _write_direct(self, view, offset, address):
        """Write with O_DIRECT when it applies; False when the caller must use the page cache."""
        if self.direct_fd is None or (offset | len(view) | address) % DIRECT_ALIGN:
            return False
        try:
            _pwrite_all(self.direct_fd, view, offset)
        except OSError as exc:
            if exc.errno != errno.EINVAL:
                raise
            # The file system takes the open flag but not the write: use the page cache from now on.
            os.close(self.direct_fd)
            self.direct_fd = None
            return False
        return True

    def _run(self):
        while True:
            item = self.queue.get()
            if item is None:
                return
            offset, block, count = item
            if self.error is None:
                view = memoryview(block).cast("B")[:count]
                try:
                    if not self._write_direct(view, offset, block.ctypes.data):
                        _pwrite_all(self.fd, view, offset)
                except OSError as exc:
                    self.error = exc
            self.free.put(block)

    def put(self, offset, block, count):
        """Write the first ``count`` bytes of ``block`` (from buffer()) at ``offset``."""
        if self.error is not None:
            raise self.error
        self.queue.put((offset, block, count))

    def close(self):
        self.queue.put(None)
        self.thread.join()
        if self.direct_fd is not None:
            os.close(self.direct_fd)
        os.close(self.fd)
        if self.error is not None:
            raise self.error


def _blocks(np, batches, mean32, rng, chunk_records, buffer):
    """Yield (first record, labels or None, float32 rows, their buffer) in output order, shuffled within
    each batch.

    ``buffer()`` gives the (chunk_records, 3, 32, 32) float32 array to fill; the rows yielded are its
    first rows.
    """
    offset = 0
    for records in batches:
        n = records.shape[0]
        # Shuffle within the batch; label and image move together since they share a row.
        perm = rng.permutation(n)
        yield offset, records[perm, 0].astype(np.float32), None, None
        for start in range(0, n, chunk_records):
            rows = records[perm[start:start + chunk_records], 1:]
            whole = buffer()
            block = whole[:rows.shape[0]]
            # One pass: uint8 - float32 mean -> float32.
            np.subtract(rows.reshape(-1, CHANNELS, HEIGHT, WIDTH), mean32, out=block)
            yield offset + start, None, block, whole
        offset += n


def _fsync_path(path):
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _write_set(h5py, np, path, batches, mean32, rng, chunk_records, raw=True, fsync=True):
    """Write one HDF5 file from its source batches (uint8 record arrays, or paths) under path + '.tmp'.

    Returns (count, flushed): flushed() waits until the file is on disk (fsync=True), so the caller can
    start the next file while this one's last blocks are flushed. The caller renames it into place.

    h5py makes the file: ``data`` is a contiguous float32 dataset allocated when created (no fill
    values written), ``label`` a small one, written once. With raw=True the float32 blocks then go
    straight to the dataset's byte offset in the file (what H5Dwrite would do for a contiguous,
    unfiltered dataset, without holding the GIL); with raw=False, or if HDF5 reports no offset, h5py
    writes them.
    """
    import threading  # pylint: disable=import-outside-toplevel

    batches = [read_records(b) if isinstance(b, str) else b for b in batches]
    total = sum(b.shape[0] for b in batches)
    chunk_records = max(1, min(chunk_records, max(b.shape[0] for b in batches)))
    tmp = path + ".tmp"
    labels = np.empty((total, 1), dtype=np.float32)
    # Large objects start on a 4 KiB boundary, so the data's blocks can be written with O_DIRECT.
    fapl = h5py.h5p.create(h5py.h5p.FILE_ACCESS)
    fapl.set_alignment(64 * 1024, DIRECT_ALIGN)
    with h5py.File(h5py.h5f.create(tmp.encode(), h5py.h5f.ACC_TRUNC, fapl=fapl)) as h5:
        dcpl = h5py.h5p.create(h5py.h5p.DATASET_CREATE)
        dcpl.set_layout(h5py.h5d.CONTIGUOUS)
        dcpl.set_alloc_time(h5py.h5d.ALLOC_TIME_EARLY)
        dcpl.set_fill_time(h5py.h5d.FILL_TIME_NEVER)
        space = h5py.h5s.create_simple((total, CHANNELS, HEIGHT, WIDTH))
        dsid = h5py.h5d.create(h5.id, b"data", h5py.h5t.IEEE_F32LE, space, dcpl=dcpl)
        data = h5py.Dataset(dsid)
        base = dsid.get_offset() if raw else None
        shape = (chunk_records, CHANNELS, HEIGHT, WIDTH)
        writer = _Writer(tmp, shape, np.float32, direct=True) if base is not None else None
        spare = np.empty(shape, dtype=np.float32) if writer is None else None
        row_bytes = PIXELS * 4
        try:
            for first, batch_labels, block, whole in _blocks(np, batches, mean32, rng, chunk_records,
                                                             writer.buffer if writer is not None else lambda: spare):
                if batch_labels is not None:
                    labels[first:first + batch_labels.shape[0], 0] = batch_labels
                elif writer is not None:
                    writer.put(base + first * row_bytes, whole, block.shape[0] * row_bytes)
                else:
                    data.write_direct(block, dest_sel=np.s_[first:first + block.shape[0]])
        finally:
            if writer is not None:
                writer.close()
        h5.create_dataset("label", data=labels)
        h5.attrs["mocha_cloud_layout"] = "data (N,3,32,32) float32 = Julia W x H x C x N; label (N,1) float32 = 1 x N"

    errors = []
    flusher = None
    if fsync:
        # On disk before the rename and the stamp: a crash never leaves a stamped, half-written file.
        def flush():
            try:
                _fsync_path(tmp)
            except OSError as exc:
                errors.append(exc)

        flusher = threading.Thread(target=flush, daemon=True)
        flusher.start()

    def flushed():
        if flusher is not None:
            flusher.join()
        if errors:
            raise errors[0]

    return total, flushed


# --------------------------------------------------------------------------------------------
# Failure paths: free space, signals, temporary files
# --------------------------------------------------------------------------------------------

# HDF5 metadata, alignment padding and the lists: a generous allowance per output file.
OVERHEAD_BYTES = 1024 * 1024


class Cifar10Interrupted(Cifar10Error):
    """A signal (SIGTERM, SIGHUP, SIGINT) stopped the conversion; its temporary files were removed."""


def bytes_needed(files):
    """Bytes the two outputs take, from the sizes of the source batches: {'train': n, 'test': n}."""
    out = {}
    for key in ("train", "test"):
        records = sum(os.path.getsize(p) // RECORD_BYTES for p in files[key])
        out[key] = records * (PIXELS + 1) * 4 + OVERHEAD_BYTES
    return out


def _mb(n):
    return f"{n / 1e6:,.0f} MB" if n >= 1e6 else f"{n / 1e3:,.0f} kB"


def check_free_space(dest, files):
    """Raise Cifar10Error, before anything is written, when dest has less room than the new outputs need.

    The new files are written beside the current ones and replace them only when complete, so the whole
    size of both is needed, whatever is there now.
    """
    need = bytes_needed(files)
    st = os.statvfs(dest)
    free = st.f_bavail * st.f_frsize
    total = need["train"] + need["test"]
    if free < total:
        raise Cifar10Error(
            f"not enough free space in {dest}: the conversion needs about {_mb(total)} "
            f"({_mb(need['train'])} for train.hdf5, {_mb(need['test'])} for test.hdf5, written beside the current files "
            f"until they are replaced) and {_mb(free)} are free. Free some space or point dest at a larger file "
            "system; nothing was changed"
        )
    return {"needed": total, "free": free}


def is_no_space(exc):
    """True for 'No space left on device', as OSError or as HDF5 reports it through h5py."""
    text = str(exc)
    return getattr(exc, "errno", None) == errno.ENOSPC or "No space left on device" in text or "errno = 28," in text


def _remove(paths):
    for path in paths:
        try:
            os.remove(path)
        except FileNotFoundError:
            pass


class _CleanUp:
    """Removes the temporary files when the block fails, however it fails.

    Exceptions (ENOSPC, an HDF5 error) pass through after the removal. SIGTERM, SIGHUP and SIGINT are turned
    into Cifar10Interrupted while the block runs (in the main thread; the previous handlers come back after),
    so a conversion stopped by Ansible or a user leaves no partial file either. Only SIGKILL cannot be caught:
    its leftovers are removed at the start of the next conversion.
    """

    SIGNALS = ("SIGTERM", "SIGHUP", "SIGINT")

    def __init__(self, temps):
        self.temps = temps
        self.previous = {}

    def _raise(self, signum, _frame):
        import signal  # pylint: disable=import-outside-toplevel

        raise Cifar10Interrupted(f"the conversion was stopped by {signal.Signals(signum).name}; its partial files were removed")

    def __enter__(self):
        import signal  # pylint: disable=import-outside-toplevel
        import threading  # pylint: disable=import-outside-toplevel

        if threading.current_thread() is threading.main_thread():
            for name in self.SIGNALS:
                signum = getattr(signal, name, None)
                if signum is not None:
                    self.previous[signum] = signal.signal(signum, self._raise)
        return self

    def __exit__(self, exc_type, exc, _tb):
        import signal  # pylint: disable=import-outside-toplevel

        try:
            if exc_type is not None:
                _remove(self.temps)
        finally:
            for signum, handler in self.previous.items():
                signal.signal(signum, handler)
        return False


def convert(src, dest, seed, chunk_records=DEFAULT_CHUNK_RECORDS, stamp=None, raw=True, fsync=True):
    """Convert the CIFAR-10 binary batches in src into train.hdf5/test.hdf5 and their lists in dest.

    Returns a dict with the paths written and the record counts. Both files are written under a temporary
    name and flushed to disk before either replaces its output; the stamp is removed just before the first
    replacement and written last, so an interrupted run is redone, never trusted. Free space is checked
    before anything is written. On any failure (an exception, ENOSPC, SIGTERM/SIGHUP/SIGINT) the temporary
    files are removed; when it happens before the replacement, the previous outputs and stamp are untouched.
    """
    import h5py  # pylint: disable=import-outside-toplevel

    np = _np()
    files = source_files(src)
    if not os.path.isdir(dest):
        os.makedirs(dest)
    paths = output_paths(dest)
    stamp_path = os.path.join(dest, STAMP_NAME)
    temps = [paths["train_hdf5"] + ".tmp", paths["test_hdf5"] + ".tmp", stamp_path + ".tmp"]
    _remove(temps)  # what a killed run (SIGKILL) left
    check_free_space(dest, files)
    hasher = None
    if stamp is None:
        # Checksum the sources in a thread (hashlib releases the GIL) while the mean is computed.
        import threading  # pylint: disable=import-outside-toplevel

        stamps = []
        hasher = threading.Thread(target=lambda: stamps.append(source_stamp(files, seed)), daemon=True)
        hasher.start()
    try:
        with _CleanUp(temps):
            mean, _count, train_batches = training_mean(files["train"], keep=True)
            mean32 = mean.astype(np.float32)
            rng = np.random.default_rng(seed)
            n_train, train_flushed = _write_set(h5py, np, paths["train_hdf5"], train_batches, mean32, rng, chunk_records,
                                                raw=raw, fsync=fsync)
            del train_batches
            # The training file's tail is flushed while the test file is written.
            n_test, test_flushed = _write_set(h5py, np, paths["test_hdf5"], files["test"], mean32, rng, chunk_records,
                                              raw=raw, fsync=fsync)
            train_flushed()
            test_flushed()
            if hasher is not None:
                hasher.join()
                if not stamps:
                    raise Cifar10Error(f"could not checksum the sources in {src}")
                stamp = stamps[0]
            # About to replace the outputs: from here until the new stamp is written, none is trusted.
            _remove([stamp_path])
            os.replace(temps[0], paths["train_hdf5"])
            os.replace(temps[1], paths["test_hdf5"])
            for key in ("train", "test"):
                with open(paths[key + "_list"], "w") as handle:
                    handle.write(paths[key + "_hdf5"] + "\n")
            with open(temps[2], "w") as handle:
                json.dump(dict(stamp, train_count=n_train, test_count=n_test), handle, indent=1, sort_keys=True)
            os.replace(temps[2], stamp_path)
    except (OSError, RuntimeError) as exc:
        if is_no_space(exc):
            need = bytes_needed(files)
            raise Cifar10Error(
                f"no space left on device while writing {dest} (the outputs need about {_mb(need['train'] + need['test'])}): "
                "the partial files were removed and the previous outputs, if any, are unchanged. Free some space or "
                "point dest at a larger file system"
            ) from exc
        raise
    return dict(paths, train_count=n_train, test_count=n_test, seed=seed)
