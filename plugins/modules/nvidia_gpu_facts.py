#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: mocha-cloud contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later


DOCUMENTATION = r"""
---
module: nvidia_gpu_facts
short_description: Gather NVIDIA GPU, driver, CUDA, nvcc and cuDNN facts
version_added: "0.1.0"
description:
  - Reads the NVIDIA driver's view of the GPUs with C(nvidia-smi -q -x) and
    C(nvidia-smi --query-gpu=... --format=csv,noheader,nounits), run with C(LC_ALL=C).
  - Copes with C([N/A]) fields, several GPUs, MIG mode, and old drivers that lack the
    C(compute_cap) query field (the compute capability then comes from a table of product names).
  - Finds C(nvcc) on E(PATH) or under C(/usr/local/cuda/bin) and C(/usr/local/cuda-*/bin) (newest first)
    and reports its version.
  - Finds the cuDNN version in C(cudnn_version.h) (or C(cudnn.h) before cuDNN 8) under C(/usr/include),
    C(/usr/include/<triplet>), C(/usr/local/cuda*/include) and C(/usr/local/cuda*/targets/*/include),
    else from installed packages (C(dpkg-query) or C(rpm)).
  - No C(nvidia-smi), or no GPU, is not a failure; the facts then say C(present=false).
  - "A failing C(nvidia-smi) (for example C(Failed to initialize NVML: Driver/library version mismatch))
    gives C(present=false), the reason in C(error), and a warning that says what to do."
  - The module changes nothing on the host.
author:
  - mocha-cloud contributors (@mocha-cloud)
options:
  nvidia_smi_path:
    description:
      - Path of C(nvidia-smi). By default it is looked up on E(PATH), then in C(/usr/bin),
        C(/usr/local/nvidia/bin) and C(/usr/local/cuda/bin).
    type: path
  nvcc_path:
    description:
      - Path of C(nvcc). By default it is looked up on E(PATH), then under C(/usr/local/cuda/bin)
        and C(/usr/local/cuda-*/bin), newest version first.
    type: path
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
  - Tested on Ubuntu 24.04 with an NVIDIA H200, driver 580, CUDA 13.0 and cuDNN 9 (captured output),
    and on synthetic outputs for several GPUs, MIG, old drivers and NVML failures.
seealso:
  - module: mocha.cloud.lscpu_facts
"""

EXAMPLES = r"""
- name: Gather NVIDIA facts
  mocha.cloud.nvidia_gpu_facts:

- name: Stop unless a GPU with compute capability 7.0 or newer is present
  ansible.builtin.assert:
    that:
      - ansible_facts.nvidia.present
      - ansible_facts.nvidia.gpus | map(attribute='compute_capability') | map('float') | min >= 7.0
    fail_msg: "{{ ansible_facts.nvidia.error | default('GPU too old', true) }}"

- name: Use a particular nvidia-smi and nvcc
  mocha.cloud.nvidia_gpu_facts:
    nvidia_smi_path: /usr/local/nvidia/bin/nvidia-smi
    nvcc_path: /usr/local/cuda-12.4/bin/nvcc
"""

RETURN = r"""
ansible_facts:
  description: Facts added to C(ansible_facts).
  returned: always
  type: complex
  contains:
    nvidia:
      description: What the NVIDIA driver, CUDA toolkit and cuDNN on the host report.
      returned: always
      type: complex
      contains:
        present:
          description: Whether nvidia-smi ran and reported at least one GPU.
          type: bool
          returned: always
          sample: true
        error:
          description: Why O(ignore:present) is false (no nvidia-smi, no GPU, or nvidia-smi's error); V(null) otherwise.
          type: str
          returned: always
          sample: "Failed to initialize NVML: Driver/library version mismatch"
        driver_version:
          description: NVIDIA driver version.
          type: str
          returned: always
          sample: "580.159.04"
        cuda_version:
          description: Newest CUDA version the driver supports (not the installed toolkit; see RV(ignore:nvcc_version)).
          type: str
          returned: always
          sample: "13.0"
        gpus:
          description: One entry per GPU, ordered by index.
          type: list
          elements: dict
          returned: always
          contains:
            index:
              description: nvidia-smi's GPU index.
              type: int
              sample: 0
            name:
              description: Product name.
              type: str
              sample: NVIDIA H200
            uuid:
              description: GPU UUID.
              type: str
              sample: GPU-18989197-5caa-e519-572e-d6653fa76ead
            memory_total_mib:
              description: Total frame-buffer memory in MiB.
              type: int
              sample: 143771
            compute_capability:
              description: CUDA compute capability, V(null) when neither the driver nor the name table knows it.
              type: str
              sample: "9.0"
            pci_bus_id:
              description: PCI bus id as nvidia-smi writes it.
              type: str
              sample: "00000000:00:06.0"
            persistence_mode:
              description: Persistence mode; V(null) where it is not reported.
              type: bool
              sample: true
            mig_mode:
              description: Current MIG mode, V(enabled) or V(disabled); V(null) where the GPU has no MIG.
              type: str
              sample: disabled
            mig_devices:
              description: MIG devices of this GPU (index, gpu_instance_id, compute_instance_id, memory_total_mib).
              type: list
              elements: dict
              sample: []
        nvcc_version:
          description: Version of the CUDA compiler found, V(null) when none.
          type: str
          returned: always
          sample: "13.0.88"
        nvcc_path:
          description: Path of that nvcc, V(null) when none.
          type: str
          returned: always
          sample: /usr/local/cuda/bin/nvcc
        cudnn_version:
          description: cuDNN version (MAJOR.MINOR.PATCH), V(null) when not found.
          type: str
          returned: always
          sample: "9.14.0"
        cudnn_source:
          description: Where the cuDNN version came from (a header path, or C(dpkg:<package list>)/C(rpm)).
          type: str
          returned: always
          sample: /usr/include/x86_64-linux-gnu/cudnn_version_v9.h
"""

import glob  # noqa: E402 (ansible-test wants imports after DOCUMENTATION)
import os  # noqa: E402 (ansible-test wants imports after DOCUMENTATION)
import re  # noqa: E402 (ansible-test wants imports after DOCUMENTATION)

from ansible.module_utils.basic import AnsibleModule  # noqa: E402 (ansible-test wants imports after DOCUMENTATION)
from ansible_collections.mocha.cloud.plugins.module_utils.nvidia import (  # noqa: E402 (ansible-test wants imports after DOCUMENTATION)
    QUERY_FIELDS,
    QUERY_FIELDS_LEGACY,
    NvidiaParseError,
    driver_version_from_proc,
    first_line,
    gpus_from_query,
    merge_gpus,
    parse_cudnn_header,
    parse_cudnn_packages,
    parse_nvcc_version,
    parse_query_csv,
    parse_smi_xml,
    smi_failure_advice,
)

ENV = {"LC_ALL": "C", "LANG": "C"}
SMI_DIRS = ["/usr/bin", "/usr/local/nvidia/bin", "/usr/local/cuda/bin"]
PROC_DRIVER_VERSION = "/proc/driver/nvidia/version"
CUDA_HOME_GLOB = "/usr/local/cuda*"
# Where cuDNN headers live, in the order they are tried. Debian/Ubuntu packages put
# cudnn_version_v9.h under /usr/include/<triplet>/ with an alternatives link /usr/include/cudnn_version.h.
CUDNN_HEADER_GLOBS = [
    "/usr/include/cudnn_version.h",
    "/usr/include/*-linux-gnu/cudnn_version.h",
    "/usr/include/*-linux-gnu/cudnn_version_v*.h",
    "/usr/local/cuda/include/cudnn_version.h",
    "/usr/local/cuda*/include/cudnn_version.h",
    "/usr/local/cuda*/targets/*/include/cudnn_version.h",
    "/usr/include/cudnn.h",
    "/usr/include/*-linux-gnu/cudnn.h",
    "/usr/include/*-linux-gnu/cudnn_v*.h",
    "/usr/local/cuda/include/cudnn.h",
    "/usr/local/cuda*/include/cudnn.h",
]


def _version_sort_key(path):
    return [int(x) for x in re.findall(r"\d+", path)]


def nvcc_candidates():
    """/usr/local/cuda/bin/nvcc first, then /usr/local/cuda-X.Y/bin/nvcc, newest first."""
    homes = [h for h in glob.glob(CUDA_HOME_GLOB) if os.path.basename(h) != "cuda"]
    homes.sort(key=_version_sort_key, reverse=True)
    base = os.path.dirname(CUDA_HOME_GLOB)
    return [os.path.join(h, "bin", "nvcc") for h in [os.path.join(base, "cuda")] + homes]


class NvidiaFacts:
    def __init__(self, module):
        self.module = module
        self.facts = {
            "present": False,
            "error": None,
            "driver_version": None,
            "cuda_version": None,
            "gpus": [],
            "nvcc_version": None,
            "nvcc_path": None,
            "cudnn_version": None,
            "cudnn_source": None,
        }

    def run(self, argv):
        return self.module.run_command(argv, environ_update=ENV)

    # nvidia-smi -------------------------------------------------------------
    def find_smi(self):
        path = self.module.params["nvidia_smi_path"]
        if path:
            if not os.access(path, os.X_OK):
                self.module.fail_json(msg=f"nvidia_smi_path {path} is not an executable file; "
                                          "fix the path or leave the option out to search for nvidia-smi")
            return path
        return self.module.get_bin_path("nvidia-smi", required=False, opt_dirs=SMI_DIRS)

    def gather_gpus(self):
        smi = self.find_smi()
        if not smi:
            self.facts["error"] = "nvidia-smi not found (no NVIDIA driver installed)"
            self.facts["driver_version"] = self.proc_driver_version()
            return

        rc, out, err = self.run([smi, "-q", "-x"])
        if rc != 0:
            self.smi_failed(rc, out, err)
            return
        try:
            xml = parse_smi_xml(out)
        except NvidiaParseError as exc:
            self.module.warn(f"could not parse nvidia-smi -q -x ({exc}); using the --query-gpu CSV alone")
            xml = {"driver_version": None, "cuda_version": None, "gpus": []}

        fields = QUERY_FIELDS
        rc, out, err = self.run([smi, "--query-gpu=" + ",".join(fields), "--format=csv,noheader,nounits"])
        if rc != 0 and "not a valid field" in (out + err):
            # Drivers before 510 know neither compute_cap nor mig.mode.current.
            fields = QUERY_FIELDS_LEGACY
            rc, out, err = self.run([smi, "--query-gpu=" + ",".join(fields), "--format=csv,noheader,nounits"])
        query = []
        if rc == 0:
            try:
                query = parse_query_csv(out, fields)
            except NvidiaParseError as exc:
                self.module.warn(f"could not parse nvidia-smi --query-gpu output: {exc}")
        elif not xml["gpus"]:
            self.smi_failed(rc, out, err)
            return
        else:
            self.module.warn(f"nvidia-smi --query-gpu failed (rc={rc}: {first_line(err or out)}); "
                             "GPU facts come from -q -x alone")

        gpus = merge_gpus(xml["gpus"], gpus_from_query(query))
        driver = xml["driver_version"]
        if driver is None:
            driver = next((row.get("driver_version") for row in query if row.get("driver_version")), None)
        self.facts["driver_version"] = driver or self.proc_driver_version()
        self.facts["cuda_version"] = xml["cuda_version"]
        self.facts["gpus"] = gpus
        if gpus:
            self.facts["present"] = True
        else:
            self.facts["error"] = "nvidia-smi reports no GPU"

    def smi_failed(self, rc, out, err):
        output = "\n".join(x for x in (out, err) if x and x.strip())
        reason = first_line(output) or f"nvidia-smi exited with rc={rc} and no output"
        self.facts["error"] = reason
        self.facts["driver_version"] = self.proc_driver_version()
        if "no devices were found" in output.lower():
            return  # a driver without a GPU (e.g. a container): not worth a warning
        self.module.warn(f"nvidia-smi failed (rc={rc}): {reason}. {smi_failure_advice(output)}")

    def proc_driver_version(self):
        try:
            with open(PROC_DRIVER_VERSION) as handle:
                return driver_version_from_proc(handle.read())
        except OSError:
            return None

    # nvcc -------------------------------------------------------------------
    def gather_nvcc(self):
        path = self.module.params["nvcc_path"]
        if not path:
            path = self.module.get_bin_path("nvcc", required=False)
        if not path:
            path = next((c for c in nvcc_candidates() if os.access(c, os.X_OK)), None)
        if not path:
            return
        rc, out, err = self.run([path, "--version"])
        if rc != 0:
            self.module.warn(f"{path} --version failed (rc={rc}): {first_line(err or out)}")
            return
        self.facts["nvcc_path"] = path
        self.facts["nvcc_version"] = parse_nvcc_version(out)

    # cuDNN ------------------------------------------------------------------
    def gather_cudnn(self):
        for pattern in CUDNN_HEADER_GLOBS:
            for header in sorted(glob.glob(pattern), key=_version_sort_key, reverse=True):
                try:
                    with open(header) as handle:
                        version = parse_cudnn_header(handle.read())
                except (OSError, UnicodeDecodeError):
                    continue
                if version:
                    self.facts["cudnn_version"] = version
                    self.facts["cudnn_source"] = header
                    return
        dpkg = self.module.get_bin_path("dpkg-query", required=False)
        if dpkg:
            rc, out, dummy = self.run([dpkg, "-W", "-f", "${Package}\\t${Version}\\t${db:Status-Abbrev}\\n",
                                       "*cudnn*"])
            version = parse_cudnn_packages(out) if rc == 0 else None
            if version:
                self.facts["cudnn_version"] = version
                self.facts["cudnn_source"] = "dpkg"
                return
        rpm = self.module.get_bin_path("rpm", required=False)
        if rpm:
            rc, out, dummy = self.run([rpm, "-qa", "--qf", "%{NAME}\\t%{VERSION}\\n", "*cudnn*"])
            version = parse_cudnn_packages(out) if rc == 0 else None
            if version:
                self.facts["cudnn_version"] = version
                self.facts["cudnn_source"] = "rpm"


def main():
    module = AnsibleModule(
        argument_spec=dict(
            nvidia_smi_path=dict(type="path"),
            nvcc_path=dict(type="path"),
        ),
        supports_check_mode=True,
    )
    if module.params["nvcc_path"] and not os.access(module.params["nvcc_path"], os.X_OK):
        module.fail_json(msg="nvcc_path {} is not an executable file; fix the path or leave the option out "
                             "to search PATH and /usr/local/cuda*/bin".format(module.params["nvcc_path"]))
    gatherer = NvidiaFacts(module)
    gatherer.gather_gpus()
    gatherer.gather_nvcc()
    gatherer.gather_cudnn()
    module.exit_json(changed=False, ansible_facts={"nvidia": gatherer.facts})


if __name__ == "__main__":
    main()
