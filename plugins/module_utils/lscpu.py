# -*- coding: utf-8 -*-
# Copyright: mocha-cloud contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Pure parsers for ``lscpu`` (text, ``-J`` and ``-p``) and /proc/meminfo.

Text in, dict out; nothing here runs commands. ``mocha.cloud.lscpu_facts`` runs lscpu and calls these.
Both the human-readable output and ``lscpu -J`` are reduced to the same list of (field, value)
pairs first, so they give the same facts by construction.
"""


import json
import re

_UNITS = {
    "": 1, "B": 1,
    "K": 1024, "KB": 1024, "KIB": 1024,
    "M": 1024 ** 2, "MB": 1024 ** 2, "MIB": 1024 ** 2,
    "G": 1024 ** 3, "GB": 1024 ** 3, "GIB": 1024 ** 3,
    "T": 1024 ** 4, "TB": 1024 ** 4, "TIB": 1024 ** 4,
}
# '768 KiB (16 instances)', '1.5 MiB', '32K', '6144 KB', '64 MiB'
_SIZE = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([KMGT]?i?B?)\s*(?:\((\d+)\s+instances?\))?\s*$", re.IGNORECASE)
# Hierarchical text output (util-linux >= 2.37 on a terminal) names caches 'L1d:' under 'Caches (sum of all):'.
_CACHE_KEY = re.compile(r"^(L\d[a-z]*)(?: cache)?$")
_NUMA_KEY = re.compile(r"^NUMA node(\d+) CPU\(s\)$")


class LscpuParseError(ValueError):
    """lscpu output that cannot be understood; the message quotes the offending line."""


def parse_cpu_list(text):
    """Expand a Linux CPU list ('0-5,48-53', '0-62:2', '6,7,10', '') into a sorted list of ints."""
    cpus = set()
    text = (text or "").strip()
    if not text:
        return []
    for part in text.split(","):
        part = part.strip()
        match = re.match(r"^(\d+)(?:-(\d+)(?::(\d+))?)?$", part)
        if not match:
            raise LscpuParseError(f"cannot read CPU list {text!r} (at {part!r})")
        start = int(match.group(1))
        end = int(match.group(2)) if match.group(2) else start
        step = int(match.group(3)) if match.group(3) else 1
        if end < start or step < 1:
            raise LscpuParseError(f"cannot read CPU list {text!r} (at {part!r})")
        cpus.update(range(start, end + 1, step))
    return sorted(cpus)


def parse_size(text):
    """'768 KiB (16 instances)' -> (786432, 16); '32K' -> (32768, None). Raises on anything else."""
    match = _SIZE.match(text or "")
    if not match:
        raise LscpuParseError(f"cannot read cache size {text!r}")
    unit = match.group(2).upper()
    if unit not in _UNITS:
        raise LscpuParseError(f"cannot read cache size {text!r} (unit {match.group(2)!r})")
    number = float(match.group(1)) * _UNITS[unit]
    instances = int(match.group(3)) if match.group(3) else None
    return int(round(number)), instances


def text_to_fields(text):
    """Human-readable lscpu output -> [(field, value), ...] with the trailing ':' dropped.

    Indented sub-fields (hierarchical output) keep their own names; a line without ':' raises
    LscpuParseError quoting it.
    """
    fields = []
    for lineno, raw in enumerate(text.splitlines(), 1):
        if not raw.strip():
            continue
        if ":" not in raw:
            raise LscpuParseError(f"cannot parse lscpu output line {lineno}: {raw!r}")
        key, value = raw.split(":", 1)
        key = key.strip()
        if not key:
            raise LscpuParseError(f"cannot parse lscpu output line {lineno}: {raw!r}")
        fields.append((key, value.strip()))
    return fields


def json_to_fields(text):
    """``lscpu -J`` -> [(field, value), ...], flattening the 'children' of newer util-linux."""
    try:
        data = json.loads(text)
    except ValueError as exc:
        raise LscpuParseError(f"lscpu -J output is not JSON ({exc}): {text[:200]!r}") from exc
    entries = data.get("lscpu") if isinstance(data, dict) else None
    if not isinstance(entries, list):
        raise LscpuParseError(f"lscpu -J output has no 'lscpu' list: {text[:200]!r}")
    fields = []

    def walk(entries):
        for entry in entries:
            if not isinstance(entry, dict) or "field" not in entry:
                raise LscpuParseError(f"unexpected entry in lscpu -J output: {entry!r}")
            key = str(entry["field"]).strip()
            if key.endswith(":"):
                key = key[:-1]
            value = entry.get("data")
            fields.append((key.strip(), "" if value is None else str(value).strip()))
            walk(entry.get("children") or [])

    walk(entries)
    return fields


def _int_field(key, value):
    try:
        return int(value)
    except (TypeError, ValueError):
        raise LscpuParseError(f"cannot parse lscpu field {key}: {value!r} (expected a whole number)") from None


def facts_from_fields(fields):
    """Reduce lscpu (field, value) pairs to the ansible_facts.lscpu dict (without build_jobs).

    Heterogeneous (big.LITTLE) CPUs repeat 'Model name' and the per-model topology lines: the
    model names are all listed, threads_per_core is the largest, cores_per_socket the sum over
    the core types and sockets the largest. On s390, sockets is Socket(s) per book times the
    books (Book(s), or Book(s) per drawer times Drawer(s)), as lscpu reports the topology.
    """
    facts = {
        "architecture": None,
        "vendor": None,
        "model_names": [],
        "cpus": None,
        "online_cpus": None,
        "online_cpu_list": None,
        "offline_cpu_list": None,
        "threads_per_core": None,
        "cores_per_socket": None,
        "sockets": None,
        "books": None,
        "drawers": None,
        "numa_nodes": [],
        "caches": {},
        "cache_instances": {},
        "flags": [],
        "hypervisor": None,
        "virtualization_type": None,
    }
    threads, cores, sockets = [], [], []
    per_book = books = books_per_drawer = None
    hypervisor_name = None
    numa = {}
    for key, value in fields:
        if key == "Architecture":
            facts["architecture"] = value or None
        elif key == "Vendor ID":
            facts["vendor"] = value or None
        elif key == "Model name":
            if value and value != "-" and value not in facts["model_names"]:
                facts["model_names"].append(value)
        elif key == "CPU(s)":
            facts["cpus"] = _int_field(key, value)
        elif key == "On-line CPU(s) list":
            facts["online_cpu_list"] = value
        elif key == "Off-line CPU(s) list":
            facts["offline_cpu_list"] = value
        elif key == "Thread(s) per core":
            threads.append(_int_field(key, value))
        elif key == "Core(s) per socket" or key == "Core(s) per cluster":
            cores.append(_int_field(key, value))
        elif key == "Socket(s)":
            if value != "-":
                sockets.append(_int_field(key, value))
        elif key == "Socket(s) per book":
            per_book = _int_field(key, value)
        elif key == "Book(s)":
            books = _int_field(key, value)
        elif key == "Book(s) per drawer":
            books_per_drawer = _int_field(key, value)
        elif key == "Drawer(s)":
            facts["drawers"] = _int_field(key, value)
        elif key == "Flags":
            facts["flags"] = value.split()
        elif key == "Hypervisor vendor":
            facts["hypervisor"] = value or None
        elif key == "Hypervisor":
            hypervisor_name = value or None
        elif key == "Virtualization type":
            facts["virtualization_type"] = value or None
        elif _NUMA_KEY.match(key):
            numa[int(_NUMA_KEY.match(key).group(1))] = value
        elif _CACHE_KEY.match(key):
            if not value:
                continue
            name = _CACHE_KEY.match(key).group(1)
            try:
                size, instances = parse_size(value)
            except LscpuParseError:
                raise LscpuParseError(f"cannot parse lscpu field {key}: {value!r} (expected a size such as "
                                      "'32K' or '768 KiB (16 instances)')") from None
            facts["caches"][name] = size
            if instances is not None:
                facts["cache_instances"][name] = instances

    if facts["cpus"] is None:
        raise LscpuParseError("lscpu output has no 'CPU(s):' line; is this lscpu output?")
    if facts["online_cpu_list"] is None:
        facts["online_cpu_list"] = f"0-{facts['cpus'] - 1}" if facts["cpus"] else ""
    facts["online_cpus"] = len(parse_cpu_list(facts["online_cpu_list"]))
    if facts["offline_cpu_list"] is not None:
        parse_cpu_list(facts["offline_cpu_list"])  # raises on a list it cannot read
    facts["threads_per_core"] = max(threads) if threads else None
    facts["cores_per_socket"] = sum(cores) if cores else None
    if books is None and books_per_drawer is not None and facts["drawers"] is not None:
        books = books_per_drawer * facts["drawers"]
    facts["books"] = books
    if sockets:
        facts["sockets"] = max(sockets)
    elif per_book is not None and books is not None:
        facts["sockets"] = per_book * books
    if facts["hypervisor"] is None:
        facts["hypervisor"] = hypervisor_name
    facts["numa_nodes"] = [
        {"node": node, "cpus": numa[node], "cpu_count": len(parse_cpu_list(numa[node]))}
        for node in sorted(numa)
    ]
    return facts


def parse_lscpu_text(text):
    """Human-readable ``lscpu`` output -> facts dict."""
    return facts_from_fields(text_to_fields(text))


def parse_lscpu_json(text):
    """``lscpu -J`` output -> facts dict (the same as parse_lscpu_text on the same machine)."""
    return facts_from_fields(json_to_fields(text))


def parse_lscpu_parsable(text):
    """``lscpu -p[=COLUMNS]`` -> list of per-CPU dicts keyed by the header's column names.

    The header is the last '#' comment line holding commas; '' and '-' become None and numbers ints.
    """
    columns = None
    rows = []
    for lineno, line in enumerate(text.splitlines(), 1):
        if not line.strip():
            continue
        if line.startswith("#"):
            if "," in line:
                columns = [c.strip() for c in line[1:].split(",")]
            continue
        if columns is None:
            raise LscpuParseError(f"lscpu -p output line {lineno} comes before the column header: {line!r}")
        values = line.split(",")
        if len(values) != len(columns):
            raise LscpuParseError(
                f"lscpu -p output line {lineno} has {len(values)} columns, the header {len(columns)}: {line!r}")
        row = {}
        for pos, name in enumerate(columns):
            value = values[pos].strip()
            if value in ("", "-"):
                row[name] = None
            elif value.isdigit():
                row[name] = int(value)
            else:
                row[name] = value
        rows.append(row)
    return rows


def parse_meminfo(text):
    """/proc/meminfo -> {'MemTotal': kB, ...}."""
    info = {}
    for line in text.splitlines():
        match = re.match(r"^(\S+):\s+(\d+)(?:\s+kB)?\s*$", line)
        if match:
            info[match.group(1)] = int(match.group(2))
    return info


def memory_available_mb(meminfo):
    """MemAvailable in MiB; before Linux 3.14 (no MemAvailable) MemFree + Buffers + Cached. None if unknown."""
    if "MemAvailable" in meminfo:
        return meminfo["MemAvailable"] // 1024
    if "MemFree" in meminfo:
        return (meminfo["MemFree"] + meminfo.get("Buffers", 0) + meminfo.get("Cached", 0)) // 1024
    return None


def build_jobs(online_cpus, available_mb, memory_per_job_mb):
    """Parallel build jobs: online CPUs, capped by available memory / memory per job, at least 1."""
    jobs = max(1, int(online_cpus or 1))
    if available_mb is not None and memory_per_job_mb:
        jobs = min(jobs, int(available_mb) // int(memory_per_job_mb))
    return max(1, jobs)


def add_build_facts(facts, meminfo, memory_per_job_mb, available_mb=None):
    """Add memory_total_mb, memory_available_mb, memory_per_job_mb and build_jobs to lscpu facts.

    meminfo is parse_meminfo's dict; available_mb, when given, replaces MemAvailable.
    """
    if available_mb is None:
        available_mb = memory_available_mb(meminfo)
    facts["memory_total_mb"] = meminfo["MemTotal"] // 1024 if "MemTotal" in meminfo else None
    facts["memory_available_mb"] = available_mb
    facts["memory_per_job_mb"] = memory_per_job_mb
    facts["build_jobs"] = build_jobs(facts["online_cpus"], available_mb, memory_per_job_mb)
    return facts
