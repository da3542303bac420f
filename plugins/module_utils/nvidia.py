# -*- coding: utf-8 -*-
# Copyright: mocha-cloud contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Pure parsers for NVIDIA tool output (nvidia-smi, nvcc, cuDNN headers, package lists).

Every function takes text and returns plain data; nothing here runs commands or touches files,
so the parsers can be tested on captured output. The module ``mocha.cloud.nvidia_gpu_facts``
runs the commands and calls these.
"""


import re
import xml.etree.ElementTree as ET

# The fields asked of ``nvidia-smi --query-gpu``, in order. ``compute_cap`` arrived with driver 510;
# older drivers answer 'Field "compute_cap" is not a valid field to query.' and the module asks again
# without it (QUERY_FIELDS_LEGACY).
QUERY_FIELDS = (
    "index",
    "name",
    "uuid",
    "driver_version",
    "memory.total",
    "compute_cap",
    "pci.bus_id",
    "persistence_mode",
    "mig.mode.current",
)
QUERY_FIELDS_LEGACY = tuple(f for f in QUERY_FIELDS if f not in ("compute_cap", "mig.mode.current"))

# Compute capability by product name, for drivers too old to report it. Longest match wins.
# Sources: NVIDIA's CUDA GPUs table; covers the data-centre parts AWS and labs have used.
COMPUTE_CAPABILITY_BY_NAME = {
    "GRID K520": "3.0",
    "Tesla K10": "3.0",
    "Tesla K20": "3.5",
    "Tesla K40": "3.5",
    "Tesla K80": "3.7",
    "Tesla M4": "5.2",
    "Tesla M40": "5.2",
    "Tesla M60": "5.2",
    "Tesla M10": "5.0",
    "Tesla P4": "6.1",
    "Tesla P40": "6.1",
    "Tesla P100": "6.0",
    "Tesla V100": "7.0",
    "V100": "7.0",
    "Titan V": "7.0",
    "Tesla T4": "7.5",
    "T4": "7.5",
    "Quadro RTX": "7.5",
    "GeForce RTX 20": "7.5",
    "GeForce GTX 16": "7.5",
    "A100": "8.0",
    "A30": "8.0",
    "A10G": "8.6",
    "A10": "8.6",
    "A40": "8.6",
    "A16": "8.6",
    "A2": "8.6",
    "RTX A6000": "8.6",
    "GeForce RTX 30": "8.6",
    "L4": "8.9",
    "L40": "8.9",
    "L40S": "8.9",
    "GeForce RTX 40": "8.9",
    "H100": "9.0",
    "H200": "9.0",
    "GH200": "9.0",
    "B200": "10.0",
    "GB200": "10.0",
    "GeForce RTX 50": "12.0",
}

_NA = ("", "n/a", "[n/a]", "[not supported]", "not supported", "none", "[unknown error]", "unknown error")


class NvidiaParseError(ValueError):
    """Text that does not look like the output it should be."""


def clean(value):
    """Strip a field; nvidia-smi's placeholders ([N/A], [Not Supported], N/A) become None."""
    if value is None:
        return None
    value = value.strip()
    if value.lower() in _NA:
        return None
    return value


def _int(value):
    """First integer in a field such as '143771 MiB' or '143771'; None when absent."""
    value = clean(value)
    if value is None:
        return None
    match = re.search(r"-?\d+", value)
    return int(match.group(0)) if match else None


def _enabled(value):
    """'Enabled'/'Disabled' (or 'On'/'Off') to True/False; placeholders to None."""
    value = clean(value)
    if value is None:
        return None
    low = value.lower()
    if low in ("enabled", "on", "yes", "true", "1"):
        return True
    if low in ("disabled", "off", "no", "false", "0"):
        return False
    return None


def _mig(value):
    """MIG mode as 'enabled' / 'disabled', or None where the GPU does not support MIG."""
    flag = _enabled(value)
    if flag is None:
        return None
    return "enabled" if flag else "disabled"


def compute_capability_from_name(name):
    """Look a product name up in COMPUTE_CAPABILITY_BY_NAME; None when it is not known."""
    if not name:
        return None
    best = None
    for key, cap in COMPUTE_CAPABILITY_BY_NAME.items():
        if re.search(r"(?<![A-Za-z0-9])" + re.escape(key) + r"(?![0-9])", name, re.IGNORECASE):
            if best is None or len(key) > len(best[0]):
                best = (key, cap)
    return best[1] if best else None


def _text(node, path):
    if node is None:
        return None
    found = node.find(path)
    if found is None or found.text is None:
        return None
    return clean(found.text)


def parse_smi_xml(text):
    """Parse ``nvidia-smi -q -x``.

    Returns {driver_version, cuda_version, gpus: [...]}; each GPU has index (position in the
    output, which is nvidia-smi's enumeration order), name, uuid, memory_total_mib, pci_bus_id,
    persistence_mode (bool or None), mig_mode ('enabled'/'disabled'/None), mig_devices (list)
    and compute_capability (None: the XML does not carry it).
    """
    start = text.find("<nvidia_smi_log")
    if start < 0:
        raise NvidiaParseError(f"no <nvidia_smi_log> element in nvidia-smi -q -x output: {text[:200]!r}")
    end = text.rfind("</nvidia_smi_log>")
    if end < 0:
        raise NvidiaParseError("nvidia-smi -q -x output is cut short (no </nvidia_smi_log>)")
    try:
        root = ET.fromstring(text[start:end + len("</nvidia_smi_log>")])
    except ET.ParseError as exc:
        raise NvidiaParseError(f"nvidia-smi -q -x output is not well-formed XML: {exc}") from exc
    gpus = []
    for index, gpu in enumerate(root.findall("gpu")):
        mig_devices = []
        for dev in gpu.findall("mig_devices/mig_device"):
            mig_devices.append({
                "index": _int(_text(dev, "index")),
                "gpu_instance_id": _int(_text(dev, "gpu_instance_id")),
                "compute_instance_id": _int(_text(dev, "compute_instance_id")),
                "memory_total_mib": _int(_text(dev, "fb_memory_usage/total")),
            })
        pci_bus_id = _text(gpu, "pci/pci_bus_id") or clean(gpu.get("id"))
        gpus.append({
            "index": index,
            "name": _text(gpu, "product_name"),
            "uuid": _text(gpu, "uuid"),
            "memory_total_mib": _int(_text(gpu, "fb_memory_usage/total")),
            "compute_capability": None,
            "pci_bus_id": pci_bus_id,
            "persistence_mode": _enabled(_text(gpu, "persistence_mode")),
            "mig_mode": _mig(_text(gpu, "mig_mode/current_mig")),
            "mig_devices": mig_devices,
        })
    return {
        "driver_version": _text(root, "driver_version"),
        "cuda_version": _text(root, "cuda_version"),
        "gpus": gpus,
    }


def parse_query_csv(text, fields=QUERY_FIELDS):
    """Parse ``nvidia-smi --query-gpu=<fields> --format=csv,noheader,nounits``.

    Returns one dict per GPU keyed by the query field names, values stripped, placeholders None.
    """
    rows = []
    for lineno, line in enumerate(text.splitlines(), 1):
        if not line.strip():
            continue
        values = [v.strip() for v in line.split(",")]
        if len(values) != len(fields):
            # GPU names never hold commas in practice; a mismatch means this is not our CSV.
            raise NvidiaParseError(
                f"nvidia-smi --query-gpu line {lineno} has {len(values)} fields, "
                f"expected {len(fields)} ({','.join(fields)}): {line!r}"
            )
        # (no zip(strict=...): targets may run Python 3.8)
        rows.append({fields[i]: clean(values[i]) for i in range(len(fields))})
    return rows


def gpus_from_query(rows):
    """Turn parse_query_csv rows into the GPU dicts of ansible_facts.nvidia.gpus."""
    gpus = []
    for pos, row in enumerate(rows):
        index = _int(row.get("index"))
        gpus.append({
            "index": pos if index is None else index,
            "name": row.get("name"),
            "uuid": row.get("uuid"),
            "memory_total_mib": _int(row.get("memory.total")),
            "compute_capability": row.get("compute_cap"),
            "pci_bus_id": row.get("pci.bus_id"),
            "persistence_mode": _enabled(row.get("persistence_mode")),
            "mig_mode": _mig(row.get("mig.mode.current")),
            "mig_devices": [],
        })
    return gpus


def merge_gpus(xml_gpus, query_gpus):
    """Join the XML and CSV views of the GPUs (by uuid, then PCI bus id, then position).

    The XML is the base; the CSV supplies the index and compute capability and fills any gap.
    Where only one view exists it is used alone. Compute capability still missing is looked up
    by product name.
    """
    if not xml_gpus:
        merged = [dict(g) for g in query_gpus]
    else:
        merged = []
        for pos, xgpu in enumerate(xml_gpus):
            match = None
            for qgpu in query_gpus:
                if xgpu.get("uuid") and qgpu.get("uuid") == xgpu.get("uuid"):
                    match = qgpu
                    break
            if match is None:
                for qgpu in query_gpus:
                    if xgpu.get("pci_bus_id") and _same_bus(qgpu.get("pci_bus_id"), xgpu.get("pci_bus_id")):
                        match = qgpu
                        break
            if match is None and len(query_gpus) == len(xml_gpus):
                match = query_gpus[pos]
            gpu = dict(xgpu)
            if match:
                gpu["index"] = match["index"]
                for key, value in match.items():
                    if gpu.get(key) is None and value is not None:
                        gpu[key] = value
            merged.append(gpu)
    for gpu in merged:
        if gpu.get("compute_capability") is None:
            gpu["compute_capability"] = compute_capability_from_name(gpu.get("name"))
    merged.sort(key=lambda g: g["index"])
    return merged


def _same_bus(a, b):
    """PCI bus ids compare equal whatever the domain width ('0000:00:06.0' vs '00000000:00:06.0')."""
    if not a or not b:
        return False

    def norm(x):
        parts = x.lower().split(":")
        if len(parts) == 3:
            parts[0] = parts[0].lstrip("0") or "0"
        return ":".join(parts)

    return norm(a) == norm(b)


def driver_version_from_proc(text):
    """Driver version from /proc/driver/nvidia/version ('NVRM version: ... Module ...  580.159.04  Release ...')."""
    for line in text.splitlines():
        if line.startswith("NVRM version"):
            match = re.search(r"\s(\d+\.\d+(?:\.\d+)?)\s", line + " ")
            if match:
                return match.group(1)
    return None


def parse_nvcc_version(text):
    """'Cuda compilation tools, release 13.0, V13.0.88' -> '13.0.88' ('13.0' when there is no V part)."""
    match = re.search(r"release\s+(\d+\.\d+)(?:,\s*V(\d+\.\d+(?:\.\d+)?))?", text)
    if not match:
        return None
    return match.group(2) or match.group(1)


def parse_cudnn_header(text):
    """CUDNN_MAJOR/MINOR/PATCHLEVEL from cudnn_version.h (cuDNN >= 8) or cudnn.h (older) -> '9.14.0'."""
    parts = {}
    for name in ("CUDNN_MAJOR", "CUDNN_MINOR", "CUDNN_PATCHLEVEL"):
        match = re.search(r"^\s*#\s*define\s+" + name + r"\s+(\d+)\b", text, re.MULTILINE)
        if match:
            parts[name] = match.group(1)
    if "CUDNN_MAJOR" not in parts:
        return None
    return ".".join(parts.get(n, "0") for n in ("CUDNN_MAJOR", "CUDNN_MINOR", "CUDNN_PATCHLEVEL"))


_CUDNN_PKG = re.compile(r"^(?:lib)?cudnn(\d+)?(?:[-_.].*)?$", re.IGNORECASE)


def _version_key(version):
    return tuple(int(x) for x in re.findall(r"\d+", version)[:4])


def parse_cudnn_packages(text):
    """cuDNN version from package lists, or None.

    Accepts lines 'NAME<TAB>VERSION[<TAB>STATUS]' as printed by
    ``dpkg-query -W -f '${Package}\\t${Version}\\t${db:Status-Abbrev}\\n'`` (STATUS must start with
    'ii' or 'hi', i.e. installed) or ``rpm -qa --qf '%{NAME}\\t%{VERSION}\\n'``. Returns the highest
    'MAJOR.MINOR.PATCH' among installed cuDNN packages ('9.14.0.64-1' -> '9.14.0').
    """
    best = None
    for line in text.splitlines():
        cols = line.split("\t")
        if len(cols) < 2:
            continue
        name, version = cols[0].strip(), cols[1].strip()
        if len(cols) > 2 and cols[2].strip() and cols[2].strip()[:2] not in ("ii", "hi"):
            continue
        if not _CUDNN_PKG.match(name) or "cudnn" not in name.lower():
            continue
        version = version.split(":", 1)[-1]
        match = re.match(r"(\d+)\.(\d+)(?:\.(\d+))?", version)
        if not match:
            continue
        found = "{}.{}.{}".format(match.group(1), match.group(2), match.group(3) or "0")
        if best is None or _version_key(found) > _version_key(best):
            best = found
    return best


def smi_failure_advice(output):
    """A one-line 'what to do' for a failing nvidia-smi, from its output."""
    low = (output or "").lower()
    if "version mismatch" in low:
        return ("The loaded NVIDIA kernel module and the user-space driver libraries differ, usually after "
                "a driver upgrade without a reboot: reboot the host (or unload and reload the nvidia kernel "
                "modules), then run again.")
    if "couldn't communicate with the nvidia driver" in low or "driver not loaded" in low:
        return ("The NVIDIA kernel module is not loaded: check `lsmod | grep nvidia`, `dmesg | grep -i nvidia` "
                "and that the driver (DKMS) is built for the running kernel (and signed, with Secure Boot); "
                "reinstall the driver or reboot, then run again.")
    if "insufficient permissions" in low or "permission denied" in low:
        return "nvidia-smi could not open /dev/nvidia*: run with become: true or fix the device permissions."
    if "no devices were found" in low:
        return ("The driver is loaded but sees no GPU: check `lspci | grep -i nvidia`, that the GPU is passed "
                "through to this machine, and `dmesg` for GPU errors.")
    return ("nvidia-smi failed: check the NVIDIA driver installation (`nvidia-smi` by hand, "
            "`dmesg | grep -i nvidia`) and reboot after driver changes.")


def first_line(output):
    """The first non-empty line of some output, for error messages."""
    for line in (output or "").splitlines():
        if line.strip():
            return line.strip()
    return ""
