#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: mocha-cloud contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

DOCUMENTATION = r"""
---
module: cifar10_hdf5
short_description: Convert the CIFAR-10 binary batches into Mocha's HDF5 layout
version_added: "0.1.0"
description:
  - Reads C(data_batch_1.bin) ... C(data_batch_5.bin) and C(test_batch.bin) (records of 1 label byte and
    3072 pixel bytes, the R, G and B planes of a 32x32 image) and writes C(train.hdf5) and C(test.hdf5)
    with the datasets Mocha's C(HDF5DataLayer) reads, plus the lists C(train.txt) and C(test.txt).
  - C(data) is Float32 of HDF5 shape (N, 3, 32, 32), which Julia reads as width x height x channels x N;
    C(label) is Float32 of HDF5 shape (N, 1), read by Julia as 1 x N.
  - The true mean image of the whole training set is subtracted from both sets (Mocha's own C(convert.jl)
    uses a running mean that weighs the batches unequally; this module does not).
  - Records are shuffled within each source batch with a generator seeded by O(seed), so the output is
    reproducible; every label moves with its image.
  - The work is vectorised with numpy and written in chunks of O(chunk_records) records, so memory stays
    far below the size of the output. The sources are memory-mapped, and the float32 blocks are written by
    a second thread while the next block is computed, with O_DIRECT where the file system allows it (the
    data starts on a 4 KiB boundary for that), else through the page cache. The files are flushed to disk
    before they are renamed into place and the stamp is written.
  - Idempotent. When the outputs exist and a stamp in O(dest) says they were made from source batches with
    the same SHA-256 checksums and the same seed, nothing is written.
  - Free space in O(dest) is checked before anything is written (both new files are written beside the current
    ones until they replace them). On any failure (an error, no space left on device, SIGTERM, SIGHUP or SIGINT)
    the temporary files are removed, and when it happens before the replacement the previous outputs and their
    stamp are left as they were. Files a killed (SIGKILL) run left are removed by the next conversion.
requirements:
  - numpy and h5py on the target (Debian and Ubuntu packages C(python3-numpy) and C(python3-h5py)).
author:
  - mocha-cloud contributors (@mocha-cloud)
options:
  src:
    description: Directory holding the extracted batches (C(cifar-10-batches-bin) of the binary archive).
    type: path
    required: true
  dest:
    description: Directory to write C(train.hdf5), C(test.hdf5), C(train.txt) and C(test.txt) into; made if missing.
    type: path
    required: true
  seed:
    description: Seed of the shuffle within each batch.
    type: int
    default: 42
  chunk_records:
    description: Records converted and written at a time (bounds memory use).
    type: int
    default: 2000
  force:
    description: Convert even when the outputs are current.
    type: bool
    default: false
attributes:
  check_mode:
    support: full
    description: Reports whether a conversion is due; writes nothing.
  diff_mode:
    support: none
  platform:
    platforms: posix
extends_documentation_fragment:
  - ansible.builtin.action_common_attributes
notes:
  - The lists hold absolute paths, so Mocha finds the files whatever its working directory.
  - Tested on synthetic batches in the real binary format (read back with h5py); the full-size benchmark is
    C(benchmarks/cifar10_convert.py).
seealso:
  - name: Mocha's CIFAR-10 tutorial
    description: The example this layout serves.
    link: https://mochajl.readthedocs.io/en/latest/tutorial/cifar10.html
"""

EXAMPLES = r"""
- name: Convert CIFAR-10 to HDF5 for Mocha
  mocha.cloud.cifar10_hdf5:
    src: /var/lib/mocha-cifar10/data/cifar-10-batches-bin
    dest: /var/lib/mocha-cifar10/data/hdf5
    seed: 42
  register: cifar10_converted

- name: Show where the training list is
  ansible.builtin.debug:
    msg: "{{ cifar10_converted.train_list }} ({{ cifar10_converted.train_count }} records)"
"""

RETURN = r"""
train_hdf5:
  description: Path of the training set.
  returned: always
  type: str
  sample: /var/lib/mocha-cifar10/data/hdf5/train.hdf5
test_hdf5:
  description: Path of the test set.
  returned: always
  type: str
  sample: /var/lib/mocha-cifar10/data/hdf5/test.hdf5
train_list:
  description: Path of C(train.txt), the list Mocha's C(HDF5DataLayer) reads.
  returned: always
  type: str
  sample: /var/lib/mocha-cifar10/data/hdf5/train.txt
test_list:
  description: Path of C(test.txt).
  returned: always
  type: str
  sample: /var/lib/mocha-cifar10/data/hdf5/test.txt
train_count:
  description: Records in the training set (null in check mode before a first conversion).
  returned: always
  type: int
  sample: 50000
test_count:
  description: Records in the test set (null in check mode before a first conversion).
  returned: always
  type: int
  sample: 10000
seed:
  description: The seed used.
  returned: always
  type: int
  sample: 42
sources:
  description: SHA-256 of each source batch, by file name (empty in check mode when the sources are not there yet).
  returned: always
  type: dict
  sample: {"test_batch.bin": "5f...", "data_batch_1.bin": "0a..."}
msg:
  description: What was done.
  returned: always
  type: str
  sample: converted 50000 training and 10000 test records
"""

import os  # noqa: E402 (ansible-test wants imports after DOCUMENTATION)
import traceback  # noqa: E402 (ansible-test wants imports after DOCUMENTATION)

from ansible.module_utils.basic import AnsibleModule, missing_required_lib  # noqa: E402 (ansible-test wants imports after DOCUMENTATION)
from ansible_collections.mocha.cloud.plugins.module_utils import cifar10_hdf5  # noqa: E402 (ansible-test wants imports after DOCUMENTATION)

try:
    import h5py  # noqa: F401  pylint: disable=unused-import
    import numpy  # noqa: F401  pylint: disable=unused-import

    HAS_DEPS = True
    DEPS_ERROR = None
except ImportError:
    HAS_DEPS = False
    DEPS_ERROR = traceback.format_exc()


def run_module(module):
    src = module.params["src"]
    dest = module.params["dest"]
    seed = module.params["seed"]
    paths = cifar10_hdf5.output_paths(dest)
    result = dict(paths, changed=False, seed=seed, train_count=None, test_count=None, sources={})

    if module.params["chunk_records"] < 1:
        module.fail_json(msg=f"chunk_records must be 1 or more, got {module.params['chunk_records']}", **result)
    if seed < 0:
        module.fail_json(msg=f"seed must be 0 or more, got {seed}", **result)

    if module.check_mode and not os.path.isdir(src):
        result.update(changed=True, msg=f"{src} is not there yet; it would be converted once it is")
        return result

    try:
        files = cifar10_hdf5.source_files(src)
        stamp = cifar10_hdf5.source_stamp(files, seed)
    except cifar10_hdf5.Cifar10Error as exc:
        module.fail_json(msg=str(exc), **result)
    result["sources"] = stamp["sources"]

    if cifar10_hdf5.outputs_current(dest, stamp) and not module.params["force"]:
        old = cifar10_hdf5.read_stamp(dest)
        result.update(train_count=old.get("train_count"), test_count=old.get("test_count"),
                      msg="outputs are current (same source checksums and seed)")
        return result

    result["changed"] = True
    if module.check_mode:
        result["msg"] = f"would convert {src} into {dest}"
        return result

    if not HAS_DEPS:
        module.fail_json(msg=missing_required_lib("h5py and numpy (Debian/Ubuntu: python3-h5py python3-numpy)"),
                         exception=DEPS_ERROR, **result)
    try:
        done = cifar10_hdf5.convert(src, dest, seed, chunk_records=module.params["chunk_records"], stamp=stamp)
    except cifar10_hdf5.Cifar10Error as exc:
        module.fail_json(msg=str(exc), **result)
    except OSError as exc:
        module.fail_json(msg=f"writing {dest} failed: {exc} (check permissions and free space); "
                             "the partial files were removed", **result)
    result.update(done)
    result["msg"] = f"converted {done['train_count']} training and {done['test_count']} test records"
    return result


def main():
    module = AnsibleModule(
        argument_spec=dict(
            src=dict(type="path", required=True),
            dest=dict(type="path", required=True),
            seed=dict(type="int", default=42),
            chunk_records=dict(type="int", default=2000),
            force=dict(type="bool", default=False),
        ),
        supports_check_mode=True,
    )
    module.exit_json(**run_module(module))


if __name__ == "__main__":
    main()
