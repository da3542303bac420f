"""Parsers in plugins/module_utils/lscpu.py, on all 22 util-linux outputs and the H200 box."""

import json

import pytest
from ansible_collections.mocha.cloud.plugins.module_utils import lscpu
from conftest import FIXTURES, read_capture

UTIL_LINUX = FIXTURES / "lscpu-util-linux"
PARSABLE_MARK = "# The following is the parsable format"
ALL_FILES = sorted(p.name for p in UTIL_LINUX.glob("lscpu-*.txt"))


def split_util_linux(name):
    """A util-linux expected output: (human-readable text, [lscpu -p block, ...])."""
    text = (UTIL_LINUX / name).read_text()
    head, *blocks = text.split(PARSABLE_MARK)
    return head, [PARSABLE_MARK + b for b in blocks]


def capture(name):
    """A gpu-box capture without its '$ command' first line and '# rc=N' last line."""
    body, rc = read_capture(name)
    assert rc == 0, name
    return body


def test_all_22_util_linux_files_are_here():
    assert len(ALL_FILES) == 22


# name: (cpus, online_cpus, threads_per_core, cores_per_socket, sockets, model_names, numa {node: cpu_count},
#        L1d bytes, hypervisor, vendor)  -- read off the files by hand.
EXPECTED = {
    "lscpu-arm-A510-A710-A715-X3.txt": (8, 8, 1, 8, 1, ["Cortex-A510", "Cortex-A710", "Cortex-A715", "Cortex-X3"],
                                        {}, None, None, "ARM"),
    "lscpu-armv7.txt": (2, 2, 1, 2, 1, ["Cortex-A15"], {}, None, None, "ARM"),
    "lscpu-loongarch-kvm_on_loongson_3c6000.txt": (32, 32, 1, 1, 32, ["Loongson-3A5000"], {0: 32}, 2 * 1024 ** 2,
                                                   None, None),
    "lscpu-loongarch-loongson_3a5000_hv.txt": (4, 4, 1, 4, 1, ["Loongson-3A5000-HV"], {0: 4}, 256 * 1024, None, None),
    "lscpu-ppc-qemu.txt": (1, 1, 1, 1, 1, ["740/750"], {}, None, None, None),
    "lscpu-ppc64-POWER7-64cpu.txt": (64, 64, 4, 1, 16, ["POWER7 (architected), altivec supported"], {0: 64, 1: 0},
                                     512 * 1024, "pHyp", None),
    "lscpu-ppc64-POWER7.txt": (16, 16, 4, 1, 4, ["POWER7 (architected), altivec supported"], {0: 16}, 128 * 1024,
                               None, None),
    "lscpu-rv64-linux.txt": (2, 2, 2, 1, 1, ["sifive,u74-mc"], {}, 64 * 1024, None, None),
    "lscpu-rv64-milkvpioneer.txt": (64, 64, 1, 64, 1, [], {0: 16, 1: 16, 2: 16, 3: 16}, None, None, "0x5b7"),
    "lscpu-rv64-visionfive2.txt": (4, 4, 1, 4, 1, ["sifive,u74-mc"], {0: 4}, 128 * 1024, None, "0x489"),
    "lscpu-s390-kvm.txt": (3, 3, 1, 1, 3, [], {}, None, "KVM", "IBM/S390"),
    "lscpu-s390-lpar-drawer.txt": (8, 8, 1, 8, 24, [], {0: 141}, 1024 ** 2, "IBM", "IBM/S390"),
    "lscpu-s390-lpar.txt": (20, 17, 1, 4, 24, [], {}, None, "IBM", "IBM/S390"),
    "lscpu-s390-nested-virt.txt": (2, 2, 1, 1, 2, [], {0: 2}, 256 * 1024, "KVM", "IBM/S390"),
    "lscpu-s390-zvm.txt": (4, 4, 1, 1, 4, [], {}, None, "IBM", "IBM/S390"),
    "lscpu-sparc64.txt": (6, 6, 1, 1, 6, ["TI UltraSparc II  (BlackBird)"], {}, 96 * 1024, None, None),
    "lscpu-vbox-win.txt": (2, 2, 1, 2, 1, ["Intel(R) Core(TM) i5-3317U CPU @ 1.70GHz"], {0: 2}, 64 * 1024,
                           "Oracle", "GenuineIntel"),
    "lscpu-vmware_fpe.txt": (16, 16, 2, 4, 2, ["AMD Opteron(tm) Processor 6328"], {0: 4, 1: 4, 2: 4, 3: 4},
                             256 * 1024, None, "AuthenticAMD"),
    "lscpu-x86_64-64cpu-linux6.2.txt": (8, 8, 2, 4, 1, ["11th Gen Intel(R) Core(TM) i7-1165G7 @ 2.80GHz"], {0: 8},
                                        192 * 1024, None, "GenuineIntel"),
    "lscpu-x86_64-64cpu.txt": (64, 64, 2, 8, 4, ["Intel(R) Xeon(R) CPU           X7550  @ 2.00GHz"],
                               {0: 32, 2: 16, 3: 16}, 1024 ** 2, None, "GenuineIntel"),
    "lscpu-x86_64-dell_e4310.txt": (4, 4, 2, 2, 1, ["Intel(R) Core(TM) i5 CPU       M 560  @ 2.67GHz"], {0: 4},
                                    64 * 1024, None, "GenuineIntel"),
    "lscpu-x86_64-epyc_7451.txt": (96, 96, 2, 24, 2, ["AMD EPYC 7451 24-Core Processor"],
                                   {n: 12 for n in range(8)}, int(1.5 * 1024 ** 2), None, "AuthenticAMD"),
}


def test_expectations_cover_every_file():
    assert sorted(EXPECTED) == ALL_FILES


@pytest.mark.parametrize("name", ALL_FILES)
def test_util_linux_text(name):
    head, _blocks = split_util_linux(name)
    facts = lscpu.parse_lscpu_text(head)
    cpus, online, threads, cores, sockets, models, numa, l1d, hypervisor, vendor = EXPECTED[name]
    assert facts["cpus"] == cpus
    assert facts["online_cpus"] == online
    assert facts["threads_per_core"] == threads
    assert facts["cores_per_socket"] == cores
    assert facts["sockets"] == sockets
    assert facts["model_names"] == models
    assert {n["node"]: n["cpu_count"] for n in facts["numa_nodes"]} == numa
    assert facts["caches"].get("L1d") == l1d
    assert facts["hypervisor"] == hypervisor
    assert facts["vendor"] == vendor
    # These util-linux dumps come from sysfs snapshots without uname: no Architecture line.
    assert facts["architecture"] is None


@pytest.mark.parametrize("name", ALL_FILES)
def test_util_linux_parsable_blocks_agree_with_text(name):
    """Each file's `lscpu -p` blocks list exactly the online CPUs, on the NUMA nodes the text names."""
    head, blocks = split_util_linux(name)
    facts = lscpu.parse_lscpu_text(head)
    online = lscpu.parse_cpu_list(facts["online_cpu_list"])
    assert len(blocks) == 2
    for block in blocks:
        rows = lscpu.parse_lscpu_parsable(block)
        assert [r["CPU"] for r in rows] == online
        by_node = {}
        for row in rows:
            if row["Node"] is not None:
                by_node.setdefault(row["Node"], []).append(row["CPU"])
        text_nodes = {}
        for node in facts["numa_nodes"]:
            cpus = [c for c in lscpu.parse_cpu_list(node["cpus"]) if c in online]
            if cpus:
                text_nodes[node["node"]] = cpus
        assert by_node == text_nodes


@pytest.mark.parametrize("name, cores", [
    ("lscpu-x86_64-epyc_7451.txt", 48),
    ("lscpu-x86_64-64cpu.txt", 32),
    ("lscpu-vmware_fpe.txt", 8),
    ("lscpu-x86_64-64cpu-linux6.2.txt", 4),
])
def test_parsable_core_count_is_cpus_over_threads(name, cores):
    head, blocks = split_util_linux(name)
    facts = lscpu.parse_lscpu_text(head)
    rows = lscpu.parse_lscpu_parsable(blocks[0])
    assert len({(r["Socket"], r["Core"]) for r in rows}) == cores == facts["online_cpus"] // facts["threads_per_core"]


def test_epyc_eight_numa_nodes():
    facts = lscpu.parse_lscpu_text(split_util_linux("lscpu-x86_64-epyc_7451.txt")[0])
    assert [n["node"] for n in facts["numa_nodes"]] == list(range(8))
    assert facts["numa_nodes"][0] == {"node": 0, "cpus": "0-5,48-53", "cpu_count": 12}
    assert facts["numa_nodes"][7] == {"node": 7, "cpus": "42-47,90-95", "cpu_count": 12}
    assert facts["caches"] == {"L1d": 1572864, "L1i": 3145728, "L2": 24 * 1024 ** 2, "L3": 128 * 1024 ** 2}
    assert facts["cache_instances"] == {"L1d": 48, "L1i": 48, "L2": 48, "L3": 16}
    assert "avx2" in facts["flags"] and "sse4_2" in facts["flags"]


def test_strided_numa_lists():
    facts = lscpu.parse_lscpu_text(split_util_linux("lscpu-x86_64-64cpu.txt")[0])
    node0 = facts["numa_nodes"][0]
    assert node0["cpus"] == "0-62:2"
    assert lscpu.parse_cpu_list(node0["cpus"]) == list(range(0, 63, 2))


def test_big_little_lists_every_model():
    facts = lscpu.parse_lscpu_text(split_util_linux("lscpu-arm-A510-A710-A715-X3.txt")[0])
    assert facts["model_names"] == ["Cortex-A510", "Cortex-A710", "Cortex-A715", "Cortex-X3"]
    assert facts["cores_per_socket"] * facts["sockets"] * facts["threads_per_core"] == facts["cpus"] == 8


@pytest.mark.parametrize("name, books, drawers, sockets", [
    ("lscpu-s390-lpar-drawer.txt", 8, 4, 24),   # 3 sockets/book, 2 books/drawer, 4 drawers
    ("lscpu-s390-nested-virt.txt", 2, 2, 2),
    ("lscpu-s390-lpar.txt", 4, None, 24),       # 6 sockets/book, 4 books
    ("lscpu-s390-zvm.txt", 4, None, 4),
    ("lscpu-s390-kvm.txt", 3, None, 3),
])
def test_s390_books_and_drawers(name, books, drawers, sockets):
    facts = lscpu.parse_lscpu_text(split_util_linux(name)[0])
    assert (facts["books"], facts["drawers"], facts["sockets"]) == (books, drawers, sockets)


def test_s390_lpar_offline_cpus_and_caches():
    facts = lscpu.parse_lscpu_text(split_util_linux("lscpu-s390-lpar.txt")[0])
    assert facts["online_cpu_list"] == "1-5,8-19"
    assert facts["offline_cpu_list"] == "0,6,7"
    drawer = lscpu.parse_lscpu_text(split_util_linux("lscpu-s390-lpar-drawer.txt")[0])
    assert drawer["caches"]["L4"] == 480 * 1024 ** 2  # 'L4 cache: 480 MiB', no instance count
    assert "L4" not in drawer["cache_instances"]
    assert drawer["hypervisor"] == "IBM"


H200_FACTS = {
    "architecture": "x86_64",
    "vendor": "GenuineIntel",
    "model_names": ["Intel(R) Xeon(R) Processor"],
    "cpus": 16,
    "online_cpus": 16,
    "online_cpu_list": "0-15",
    "offline_cpu_list": None,
    "threads_per_core": 1,
    "cores_per_socket": 16,
    "sockets": 1,
    "books": None,
    "drawers": None,
    "numa_nodes": [{"node": 0, "cpus": "0-15", "cpu_count": 16}],
    "caches": {"L1d": 768 * 1024, "L1i": 512 * 1024, "L2": 32 * 1024 ** 2, "L3": 300 * 1024 ** 2},
    "cache_instances": {"L1d": 16, "L1i": 16, "L2": 16, "L3": 1},
    "hypervisor": "KVM",
    "virtualization_type": "full",
}


def test_gpu_box_text():
    facts = lscpu.parse_lscpu_text(capture("lscpu.txt"))
    flags = facts.pop("flags")
    assert facts == H200_FACTS
    assert len(flags) == 118 and flags[0] == "fpu" and "amx_tile" in flags and "avx512f" in flags


def test_gpu_box_json_equals_text():
    from_json = lscpu.parse_lscpu_json(capture("lscpu-json.txt"))
    from_text = lscpu.parse_lscpu_text(capture("lscpu.txt"))
    assert from_json == from_text
    assert from_json["cpus"] == int(capture("nproc.txt"))


def test_gpu_box_parsable_and_meminfo():
    rows = lscpu.parse_lscpu_parsable(capture("lscpu-p.txt"))
    assert [r["CPU"] for r in rows] == list(range(16))
    assert {r["Node"] for r in rows} == {0}
    info = lscpu.parse_meminfo(capture("meminfo.txt"))
    assert info["MemAvailable"] == 131478796
    assert lscpu.memory_available_mb(info) == 128397
    assert lscpu.build_jobs(16, lscpu.memory_available_mb(info), 1024) == 16


def test_hierarchical_json_children_flatten():
    doc = {"lscpu": [
        {"field": "Architecture:", "data": "aarch64"},
        {"field": "CPU(s):", "data": "4"},
        {"field": "On-line CPU(s) list:", "data": "0-3"},
        {"field": "Vendor ID:", "data": "ARM", "children": [
            {"field": "Model name:", "data": "Neoverse-N1", "children": [
                {"field": "Thread(s) per core:", "data": "1"},
                {"field": "Core(s) per cluster:", "data": "4"},
                {"field": "Socket(s):", "data": "-"},
                {"field": "Flags:", "data": "fp asimd"},
            ]},
        ]},
        {"field": "Caches (sum of all):", "data": None, "children": [
            {"field": "L1d:", "data": "256 KiB (4 instances)"},
            {"field": "L2:", "data": "4 MiB (4 instances)"},
        ]},
        {"field": "NUMA:", "data": None, "children": [
            {"field": "NUMA node(s):", "data": "1"},
            {"field": "NUMA node0 CPU(s):", "data": "0-3"},
        ]},
    ]}
    facts = lscpu.parse_lscpu_json(json.dumps(doc))
    assert (facts["architecture"], facts["vendor"], facts["model_names"]) == ("aarch64", "ARM", ["Neoverse-N1"])
    assert (facts["cores_per_socket"], facts["sockets"], facts["flags"]) == (4, None, ["fp", "asimd"])
    assert facts["caches"] == {"L1d": 256 * 1024, "L2": 4 * 1024 ** 2}
    assert facts["numa_nodes"] == [{"node": 0, "cpus": "0-3", "cpu_count": 4}]


def test_hierarchical_text_output():
    text = """Architecture:             x86_64
  CPU op-mode(s):         32-bit, 64-bit
CPU(s):                   4
  On-line CPU(s) list:    0-3
Vendor ID:                GenuineIntel
  Model name:             Intel(R) Xeon(R) CPU E5-2686 v4 @ 2.30GHz
    Thread(s) per core:   2
    Core(s) per socket:   2
    Socket(s):            1
Caches (sum of all):
  L1d:                    64 KiB (2 instances)
  L3:                     45 MiB (1 instance)
NUMA:
  NUMA node(s):           1
  NUMA node0 CPU(s):      0-3
"""
    facts = lscpu.parse_lscpu_text(text)
    assert facts["caches"] == {"L1d": 64 * 1024, "L3": 45 * 1024 ** 2}
    assert (facts["threads_per_core"], facts["cores_per_socket"], facts["sockets"]) == (2, 2, 1)


def test_old_format_sizes():
    text = """Architecture:          x86_64
CPU(s):                4
On-line CPU(s) list:   0-3
Thread(s) per core:    2
Core(s) per socket:    2
Socket(s):             1
NUMA node(s):          1
Vendor ID:             GenuineIntel
Model name:            Intel(R) Xeon(R) CPU E5-2670 0 @ 2.60GHz
Hypervisor vendor:     Xen
Virtualization type:   full
L1d cache:             32K
L1i cache:             32K
L2 cache:              256K
L3 cache:              20480K
NUMA node0 CPU(s):     0-3
"""
    facts = lscpu.parse_lscpu_text(text)
    assert facts["caches"] == {"L1d": 32768, "L1i": 32768, "L2": 262144, "L3": 20480 * 1024}
    assert facts["cache_instances"] == {}
    assert facts["hypervisor"] == "Xen"


@pytest.mark.parametrize("text, size", [
    ("32K", (32768, None)),
    ("6144K", (6291456, None)),
    ("1.5 MiB (48 instances)", (1572864, 48)),
    ("300 MiB (1 instance)", (314572800, 1)),
    ("480 MiB", (503316480, None)),
    ("2 GiB", (2 * 1024 ** 3, None)),
    ("512 B", (512, None)),
])
def test_parse_size(text, size):
    assert lscpu.parse_size(text) == size


@pytest.mark.parametrize("text", ["32Q", "lots", "", "1 MiB (x instances)"])
def test_parse_size_rejects(text):
    with pytest.raises(lscpu.LscpuParseError):
        lscpu.parse_size(text)


@pytest.mark.parametrize("text, cpus", [
    ("0-3", [0, 1, 2, 3]),
    ("6,7,10,11,14,15", [6, 7, 10, 11, 14, 15]),
    ("1-5,8-9", [1, 2, 3, 4, 5, 8, 9]),
    ("1-9:4", [1, 5, 9]),
    ("", []),
])
def test_parse_cpu_list(text, cpus):
    assert lscpu.parse_cpu_list(text) == cpus


@pytest.mark.parametrize("text, quoted", [
    ("CPU(s): 4\nthis line has no colon\n", "this line has no colon"),
    ("CPU(s): four\n", "CPU(s): 'four'"),
    ("CPU(s): 4\nL2 cache: a lot\n", "L2 cache: 'a lot'"),
    ("CPU(s): 4\nOn-line CPU(s) list: 0-x\n", "0-x"),
    ("Architecture: x86_64\n", "no 'CPU(s):' line"),
])
def test_unparsable_text_quotes_the_line(text, quoted):
    with pytest.raises(lscpu.LscpuParseError) as err:
        lscpu.parse_lscpu_text(text)
    assert quoted in str(err.value)


@pytest.mark.parametrize("text", ["not json", "{}", '{"lscpu": [{"data": "x"}]}'])
def test_unparsable_json(text):
    with pytest.raises(lscpu.LscpuParseError):
        lscpu.parse_lscpu_json(text)


def test_meminfo_without_memavailable():
    info = lscpu.parse_meminfo("MemTotal: 4046848 kB\nMemFree: 1048576 kB\nBuffers: 102400 kB\nCached: 946176 kB\n")
    assert lscpu.memory_available_mb(info) == (1048576 + 102400 + 946176) // 1024
    assert lscpu.memory_available_mb({}) is None


@pytest.mark.parametrize("cpus, avail, per_job, jobs", [
    (16, 128397, 1024, 16),   # the H200 box: CPU-bound
    (96, 30000, 1024, 29),    # memory-bound
    (8, 3000, 2048, 1),
    (4, 500, 1024, 1),        # never below 1
    (4, None, 1024, 4),       # memory unknown: CPUs
    (0, 8192, 1024, 1),
])
def test_build_jobs(cpus, avail, per_job, jobs):
    assert lscpu.build_jobs(cpus, avail, per_job) == jobs
