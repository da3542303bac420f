#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: mocha-cloud contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later


DOCUMENTATION = r"""
---
module: lscpu_facts
short_description: Gather CPU topology facts from lscpu, and the parallel build jobs they allow
version_added: "0.1.0"
description:
  - Runs C(lscpu -J) with C(LC_ALL=C) on the target and, where that option does not exist
    (util-linux before 2.30) or its output cannot be read, plain C(lscpu). Both give the same facts.
  - Returns C(ansible_facts.lscpu) with architecture, vendor, model names (a list, since big.LITTLE
    machines have several), logical and online CPUs, threads per core, cores per socket, sockets
    (plus books and drawers on s390), NUMA nodes with their CPU lists, cache sizes in bytes, flags
    and hypervisor.
  - Derives C(build_jobs), the C(make -j) value for memory-hungry builds such as Julia's LLVM, from the
    online CPUs capped by C(MemAvailable) in C(/proc/meminfo) divided by O(memory_per_job_mb).
  - Fails when lscpu is missing (naming the util-linux package to install) or prints a line it cannot read
    (quoting that line). Much faster than M(ansible.builtin.setup) with C(gather_subset=hardware).
author:
  - mocha-cloud contributors (@mocha-cloud)
options:
  memory_per_job_mb:
    description:
      - Memory one build job needs, in MiB. C(build_jobs) is at most C(MemAvailable / memory_per_job_mb).
    type: int
    default: 1024
  memory_available_mb:
    description:
      - Memory available for the build, in MiB, instead of C(MemAvailable) from C(/proc/meminfo)
        (for example C(ansible_facts.memfree_mb) or a share of a machine you do not have to yourself).
    type: int
attributes:
  check_mode:
    support: full
    description: The module only reads; it runs the same way in check mode.
  diff_mode:
    support: N/A
    details: It changes nothing, so there is no difference to show.
  facts:
    support: full
  platform:
    platforms: posix
extends_documentation_fragment:
  - ansible.builtin.action_common_attributes
  - ansible.builtin.action_common_attributes.facts
notes:
  - Tested on the 22 lscpu outputs of util-linux's own test suite (x86, EPYC with 8 NUMA nodes,
    ARM big.LITTLE, POWER, s390 books and drawers, SPARC, RISC-V, LoongArch, VMs) and on an
    Ubuntu 24.04 H200 box (text and C(-J) output).
seealso:
  - module: mocha.cloud.nvidia_gpu_facts
  - module: ansible.builtin.setup
"""

EXAMPLES = r"""
- name: Gather CPU facts
  mocha.cloud.lscpu_facts:

- name: Build with one job per 2 GiB of available memory
  mocha.cloud.lscpu_facts:
    memory_per_job_mb: 2048

- name: Use them
  ansible.builtin.command:
    cmd: "make -j {{ ansible_facts.lscpu.build_jobs }}"
    chdir: /opt/julia
  changed_when: true
"""

RETURN = r"""
ansible_facts:
  description: Facts added to C(ansible_facts).
  returned: always
  type: complex
  contains:
    lscpu:
      description: The CPU topology lscpu reports, and the build jobs derived from it.
      returned: always
      type: complex
      contains:
        architecture:
          description: CPU architecture (V(null) where lscpu has none).
          type: str
          sample: x86_64
        vendor:
          description: Vendor ID.
          type: str
          sample: GenuineIntel
        model_names:
          description: Model names, one per core type (several on big.LITTLE CPUs); C(-) entries are left out.
          type: list
          elements: str
          sample: ["Intel(R) Xeon(R) Processor"]
        cpus:
          description: Logical CPUs (C(CPU(s))).
          type: int
          sample: 16
        online_cpus:
          description: Number of online logical CPUs.
          type: int
          sample: 16
        online_cpu_list:
          description: Online CPU list as lscpu prints it.
          type: str
          sample: "0-15"
        offline_cpu_list:
          description: Offline CPU list, V(null) when none.
          type: str
          sample: "0,6,7"
        threads_per_core:
          description: Threads per core (the largest, on heterogeneous CPUs).
          type: int
          sample: 1
        cores_per_socket:
          description: Cores per socket (summed over core types on heterogeneous CPUs).
          type: int
          sample: 16
        sockets:
          description: Sockets; on s390, sockets per book times books.
          type: int
          sample: 1
        books:
          description: Books (s390), V(null) elsewhere.
          type: int
          sample: null
        drawers:
          description: Drawers (s390), V(null) elsewhere.
          type: int
          sample: null
        numa_nodes:
          description: NUMA nodes with their CPU list (as lscpu prints it) and CPU count.
          type: list
          elements: dict
          sample: [{"node": 0, "cpus": "0-15", "cpu_count": 16}]
        caches:
          description:
            - Cache name to size in bytes, as lscpu prints it. New util-linux prints the sum over
              all instances (C(768 KiB (16 instances))); old util-linux the size of one (C(32K)).
          type: dict
          sample: {"L1d": 786432, "L1i": 524288, "L2": 33554432, "L3": 314572800}
        cache_instances:
          description: Cache name to number of instances, where lscpu prints it.
          type: dict
          sample: {"L1d": 16, "L1i": 16, "L2": 16, "L3": 1}
        flags:
          description: CPU flags.
          type: list
          elements: str
          sample: [fpu, vme, avx2]
        hypervisor:
          description: Hypervisor vendor, V(null) on bare metal.
          type: str
          sample: KVM
        virtualization_type:
          description: Virtualization type (C(full), C(para)...), V(null) on bare metal.
          type: str
          sample: full
        memory_total_mb:
          description: C(MemTotal) from C(/proc/meminfo), in MiB (V(null) when unknown).
          type: int
          sample: 128887
        memory_available_mb:
          description: Memory counted for C(build_jobs), in MiB (V(null) when unknown).
          type: int
          sample: 128397
        memory_per_job_mb:
          description: The O(memory_per_job_mb) used.
          type: int
          sample: 1024
        build_jobs:
          description: Online CPUs capped by RV(ansible_facts.lscpu.memory_available_mb) // O(memory_per_job_mb), at least 1.
          type: int
          sample: 16
        source:
          description: Which lscpu output the facts came from, C(json) or C(text).
          type: str
          sample: json
"""

from ansible.module_utils.basic import AnsibleModule  # noqa: E402 (ansible-test wants imports after DOCUMENTATION)
from ansible_collections.mocha.cloud.plugins.module_utils.lscpu import (  # noqa: E402
    LscpuParseError,
    add_build_facts,
    parse_lscpu_json,
    parse_lscpu_text,
    parse_meminfo,
)

ENV = {"LC_ALL": "C", "LANG": "C"}
MEMINFO = "/proc/meminfo"
MISSING = ("lscpu was not found on the target: install the util-linux package "
           "(apt-get install util-linux, dnf install util-linux or zypper install util-linux)")


def read_meminfo():
    try:
        with open(MEMINFO) as handle:
            return parse_meminfo(handle.read())
    except OSError:
        return {}


def gather(module):
    lscpu = module.get_bin_path("lscpu")
    if not lscpu:
        module.fail_json(msg=MISSING)

    rc, out, err = module.run_command([lscpu, "-J"], environ_update=ENV)
    if rc == 0:
        try:
            facts = parse_lscpu_json(out)
            facts["source"] = "json"
            return facts
        except LscpuParseError as exc:
            module.warn(f"could not read lscpu -J output ({exc}); using plain lscpu")
    elif not ("invalid option" in err or "unrecognized option" in err or "unknown option" in err):
        module.fail_json(msg=f"{lscpu} -J failed with rc={rc}: {(err or out).strip()}", rc=rc, stdout=out, stderr=err)

    rc, out, err = module.run_command([lscpu], environ_update=ENV)
    if rc != 0:
        module.fail_json(msg=f"{lscpu} failed with rc={rc}: {(err or out).strip()}", rc=rc, stdout=out, stderr=err)
    try:
        facts = parse_lscpu_text(out)
    except LscpuParseError as exc:
        module.fail_json(msg=f"cannot parse the output of {lscpu}: {exc}", rc=rc, stdout=out, stderr=err)
    facts["source"] = "text"
    return facts


def main():
    module = AnsibleModule(
        argument_spec=dict(
            memory_per_job_mb=dict(type="int", default=1024),
            memory_available_mb=dict(type="int"),
        ),
        supports_check_mode=True,
    )
    per_job = module.params["memory_per_job_mb"]
    if per_job < 1:
        module.fail_json(msg=f"memory_per_job_mb must be a positive number of MiB, got {per_job}")
    available = module.params["memory_available_mb"]
    if available is not None and available < 0:
        module.fail_json(msg=f"memory_available_mb must not be negative, got {available}")

    facts = add_build_facts(gather(module), read_meminfo(), per_job, available)
    module.exit_json(changed=False, ansible_facts={"lscpu": facts})


if __name__ == "__main__":
    main()
