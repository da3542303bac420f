"""Parsers in plugins/module_utils/nvidia.py, on the H200 captures and synthetic outputs."""

import pytest
from ansible_collections.mocha.cloud.plugins.module_utils import nvidia
from conftest import capture

H200 = {
    "index": 0,
    "name": "NVIDIA H200",
    "uuid": "GPU-18989197-5caa-e519-572e-d6653fa76ead",
    "memory_total_mib": 143771,
    "compute_capability": "9.0",
    "pci_bus_id": "00000000:00:06.0",
    "persistence_mode": True,
    "mig_mode": "disabled",
    "mig_devices": [],
}


def test_h200_xml():
    parsed = nvidia.parse_smi_xml(capture("nvidia-smi-qx.txt"))
    assert parsed["driver_version"] == "580.159.04"
    assert parsed["cuda_version"] == "13.0"
    assert len(parsed["gpus"]) == 1
    # The XML carries no compute capability; everything else matches.
    assert parsed["gpus"][0] == dict(H200, compute_capability=None)


def test_h200_query_csv_from_capture():
    # The capture asked for a different field list than the module does: the parser follows the list.
    fields = ("index", "name", "uuid", "driver_version", "memory.total", "compute_cap", "pci.bus_id",
              "pcie.link.gen.max", "power.limit", "temperature.gpu", "utilization.gpu")
    rows = nvidia.parse_query_csv(capture("nvidia-smi-query.txt"), fields)
    assert rows == [{
        "index": "0", "name": "NVIDIA H200", "uuid": "GPU-18989197-5caa-e519-572e-d6653fa76ead",
        "driver_version": "580.159.04", "memory.total": "143771", "compute_cap": "9.0",
        "pci.bus_id": "00000000:00:06.0", "pcie.link.gen.max": "5", "power.limit": "700.00",
        "temperature.gpu": "33", "utilization.gpu": "0",
    }]
    gpu = nvidia.gpus_from_query(rows)[0]
    assert (gpu["memory_total_mib"], gpu["compute_capability"], gpu["persistence_mode"]) == (143771, "9.0", None)


def test_h200_xml_and_csv_merge():
    xml = nvidia.parse_smi_xml(capture("nvidia-smi-qx.txt"))
    csv = nvidia.gpus_from_query(nvidia.parse_query_csv(
        "0, NVIDIA H200, GPU-18989197-5caa-e519-572e-d6653fa76ead, 580.159.04, 143771, 9.0, "
        "00000000:00:06.0, Enabled, Disabled\n"))
    assert nvidia.merge_gpus(xml["gpus"], csv) == [H200]


def test_query_csv_two_gpus_with_na_fields():
    text = (
        "0, Tesla V100-SXM2-16GB, GPU-aaaa, 535.183.01, 16384, 7.0, 00000000:00:1E.0, Disabled, [N/A]\n"
        "1, Tesla V100-SXM2-16GB, GPU-bbbb, 535.183.01, [N/A], 7.0, 00000000:00:1F.0, [N/A], [N/A]\n"
    )
    gpus = nvidia.gpus_from_query(nvidia.parse_query_csv(text))
    assert [g["index"] for g in gpus] == [0, 1]
    assert gpus[0]["persistence_mode"] is False
    assert gpus[0]["mig_mode"] is None  # V100 has no MIG
    assert gpus[1]["memory_total_mib"] is None
    assert gpus[1]["persistence_mode"] is None
    assert gpus[1]["pci_bus_id"] == "00000000:00:1F.0"


def test_query_csv_wrong_field_count_quotes_the_line():
    with pytest.raises(nvidia.NvidiaParseError, match="0, only three"):
        nvidia.parse_query_csv("0, only three\n")


MIG_XML = """<?xml version="1.0" ?>
<!DOCTYPE nvidia_smi_log SYSTEM "nvsmi_device_v12.dtd">
<nvidia_smi_log>
  <driver_version>550.90.07</driver_version>
  <cuda_version>12.4</cuda_version>
  <attached_gpus>2</attached_gpus>
  <gpu id="00000000:10:1C.0">
    <product_name>NVIDIA A100-SXM4-40GB</product_name>
    <persistence_mode>Enabled</persistence_mode>
    <mig_mode><current_mig>Enabled</current_mig><pending_mig>Enabled</pending_mig></mig_mode>
    <mig_devices>
      <mig_device>
        <index>0</index><gpu_instance_id>1</gpu_instance_id><compute_instance_id>0</compute_instance_id>
        <fb_memory_usage><total>19968 MiB</total><used>13 MiB</used></fb_memory_usage>
      </mig_device>
      <mig_device>
        <index>1</index><gpu_instance_id>2</gpu_instance_id><compute_instance_id>0</compute_instance_id>
        <fb_memory_usage><total>19968 MiB</total><used>13 MiB</used></fb_memory_usage>
      </mig_device>
    </mig_devices>
    <uuid>GPU-mig-0</uuid>
    <pci><pci_bus_id>00000000:10:1C.0</pci_bus_id></pci>
    <fb_memory_usage><total>40960 MiB</total></fb_memory_usage>
  </gpu>
  <gpu id="00000000:10:1D.0">
    <product_name>NVIDIA A100-SXM4-40GB</product_name>
    <persistence_mode>Disabled</persistence_mode>
    <mig_mode><current_mig>Disabled</current_mig><pending_mig>Disabled</pending_mig></mig_mode>
    <mig_devices>None</mig_devices>
    <uuid>GPU-mig-1</uuid>
    <pci><pci_bus_id>00000000:10:1D.0</pci_bus_id></pci>
    <fb_memory_usage><total>40960 MiB</total></fb_memory_usage>
  </gpu>
</nvidia_smi_log>
"""


def test_xml_mig_and_several_gpus():
    parsed = nvidia.parse_smi_xml(MIG_XML)
    assert (parsed["driver_version"], parsed["cuda_version"]) == ("550.90.07", "12.4")
    first, second = parsed["gpus"]
    assert first["mig_mode"] == "enabled" and second["mig_mode"] == "disabled"
    assert first["mig_devices"] == [
        {"index": 0, "gpu_instance_id": 1, "compute_instance_id": 0, "memory_total_mib": 19968},
        {"index": 1, "gpu_instance_id": 2, "compute_instance_id": 0, "memory_total_mib": 19968},
    ]
    assert second["mig_devices"] == []
    assert (first["persistence_mode"], second["persistence_mode"]) == (True, False)
    # Merged with nothing from the CSV, the name table supplies the compute capability.
    assert [g["compute_capability"] for g in nvidia.merge_gpus(parsed["gpus"], [])] == ["8.0", "8.0"]


def test_xml_old_driver_without_cuda_version_or_mig():
    text = """<?xml version="1.0" ?>
<nvidia_smi_log><driver_version>384.81</driver_version><attached_gpus>1</attached_gpus>
<gpu id="0000:00:1E.0"><product_name>Tesla K80</product_name><persistence_mode>Enabled</persistence_mode>
<uuid>GPU-k80</uuid><pci><pci_bus_id>0000:00:1E.0</pci_bus_id></pci>
<fb_memory_usage><total>11441 MiB</total></fb_memory_usage></gpu></nvidia_smi_log>"""
    parsed = nvidia.parse_smi_xml(text)
    assert parsed["cuda_version"] is None
    gpu = parsed["gpus"][0]
    assert (gpu["mig_mode"], gpu["memory_total_mib"]) == (None, 11441)
    legacy_csv = nvidia.gpus_from_query(nvidia.parse_query_csv(
        "0, Tesla K80, GPU-k80, 384.81, 11441, 00000000:00:1E.0, Enabled\n", nvidia.QUERY_FIELDS_LEGACY))
    (merged,) = nvidia.merge_gpus(parsed["gpus"], legacy_csv)
    assert merged["compute_capability"] == "3.7"


def test_merge_matches_by_bus_id_when_uuids_differ():
    xml = [{"index": 0, "uuid": None, "pci_bus_id": "0000:00:1E.0", "name": "X", "compute_capability": None}]
    csv = [{"index": 3, "uuid": "GPU-z", "pci_bus_id": "00000000:00:1E.0", "name": "X", "compute_capability": "7.5"},
           {"index": 4, "uuid": "GPU-y", "pci_bus_id": "00000000:00:1F.0", "name": "X", "compute_capability": "7.5"}]
    (merged,) = nvidia.merge_gpus(xml, csv)
    assert (merged["index"], merged["uuid"], merged["compute_capability"]) == (3, "GPU-z", "7.5")


@pytest.mark.parametrize("text", ["", "NVIDIA-SMI has failed", "<nvidia_smi_log><gpu>"])
def test_xml_garbage_raises(text):
    with pytest.raises(nvidia.NvidiaParseError):
        nvidia.parse_smi_xml(text)


@pytest.mark.parametrize("name, cap", [
    ("NVIDIA H200", "9.0"),
    ("NVIDIA H100 80GB HBM3", "9.0"),
    ("NVIDIA GH200 480GB", "9.0"),
    ("Tesla K80", "3.7"),
    ("Tesla M60", "5.2"),
    ("Tesla M40 24GB", "5.2"),
    ("Tesla T4", "7.5"),
    ("NVIDIA A10G", "8.6"),
    ("NVIDIA A100-SXM4-80GB", "8.0"),
    ("NVIDIA L4", "8.9"),
    ("NVIDIA L40S", "8.9"),
    ("Tesla V100-SXM2-16GB", "7.0"),
    ("Some Future GPU", None),
    (None, None),
])
def test_compute_capability_from_name(name, cap):
    assert nvidia.compute_capability_from_name(name) == cap


def test_nvcc_version_from_capture():
    assert nvidia.parse_nvcc_version(capture("nvcc-version.txt")) == "13.0.88"


def test_nvcc_version_old_and_garbage():
    assert nvidia.parse_nvcc_version("Cuda compilation tools, release 8.0, V8.0.61\n") == "8.0.61"
    assert nvidia.parse_nvcc_version("Cuda compilation tools, release 7.5\n") == "7.5"
    assert nvidia.parse_nvcc_version("bash: nvcc: command not found") is None


def test_driver_version_from_proc_capture():
    assert nvidia.driver_version_from_proc(capture("proc-driver.txt")) == "580.159.04"
    old = "NVRM version: NVIDIA UNIX x86_64 Kernel Module  384.81  Sat Sep  2 02:43:11 PDT 2017\n"
    assert nvidia.driver_version_from_proc(old) == "384.81"


def test_cudnn_header():
    v9 = "#define CUDNN_MAJOR 9\n#define CUDNN_MINOR 14\n#define CUDNN_PATCHLEVEL 0\n" \
         "#define CUDNN_VERSION (CUDNN_MAJOR * 10000 + CUDNN_MINOR * 100 + CUDNN_PATCHLEVEL)\n"
    assert nvidia.parse_cudnn_header(v9) == "9.14.0"
    v5 = "/* cudnn.h */\n#  define CUDNN_MAJOR      5\n#define CUDNN_MINOR      1\n#define CUDNN_PATCHLEVEL 10\n"
    assert nvidia.parse_cudnn_header(v5) == "5.1.10"
    assert nvidia.parse_cudnn_header("#include \"cudnn_version.h\"\n") is None


def test_cudnn_packages_from_capture():
    # pkgmgr.txt is `dpkg -l` output; turn it into dpkg-query's NAME<TAB>VERSION<TAB>STATUS lines.
    rows = []
    for line in capture("pkgmgr.txt").splitlines():
        cols = line.split()
        if len(cols) >= 3 and cols[0] in ("ii", "hi", "rc", "un"):
            rows.append(f"{cols[1]}\t{cols[2]}\t{cols[0]}")
    assert nvidia.parse_cudnn_packages("\n".join(rows)) == "9.14.0"


def test_cudnn_packages_skip_removed_and_take_newest():
    text = ("libcudnn8\t8.9.7.29-1+cuda12.2\trc \n"
            "libcudnn9-cuda-12\t9.1.0.70-1\tii \n"
            "libcudnn9-cuda-13\t9.14.0.64-1\tun \n"
            "cudnn9-cuda-12\t\tun \n"
            "nvidia-cudnn\t8.2.4.15~cuda11.4\tii \n")
    assert nvidia.parse_cudnn_packages(text) == "9.1.0"
    assert nvidia.parse_cudnn_packages("libcudnn8\t8.9.7.29\n") == "8.9.7"  # rpm form
    assert nvidia.parse_cudnn_packages("") is None


@pytest.mark.parametrize("output, words", [
    ("Failed to initialize NVML: Driver/library version mismatch\nNVML library version: 580.95", "reboot"),
    ("NVIDIA-SMI has failed because it couldn't communicate with the NVIDIA driver. Make sure that the "
     "latest NVIDIA driver is installed and running.", "kernel module is not loaded"),
    ("No devices were found", "lspci"),
    ("Failed to initialize NVML: Insufficient Permissions", "become"),
    ("Segmentation fault", "driver installation"),
])
def test_smi_failure_advice(output, words):
    assert words in nvidia.smi_failure_advice(output)
