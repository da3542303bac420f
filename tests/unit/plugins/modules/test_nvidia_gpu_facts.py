"""The nvidia_gpu_facts module with run_command mocked: exact command lines and the facts they give."""

import pytest
from ansible_collections.mocha.cloud.plugins.modules import nvidia_gpu_facts
from ansible_collections.mocha.cloud.tests.unit.plugins.modules.utils import FakeHost, run_module
from conftest import capture

SMI = "/usr/bin/nvidia-smi"
XML_ARGV = [SMI, "-q", "-x"]
QUERY = "index,name,uuid,driver_version,memory.total,compute_cap,pci.bus_id,persistence_mode,mig.mode.current"
QUERY_ARGV = [SMI, "--query-gpu=" + QUERY, "--format=csv,noheader,nounits"]
LEGACY_ARGV = [SMI, "--query-gpu=index,name,uuid,driver_version,memory.total,pci.bus_id,persistence_mode",
               "--format=csv,noheader,nounits"]
DPKG = "/usr/bin/dpkg-query"
DPKG_ARGV = [DPKG, "-W", "-f", "${Package}\\t${Version}\\t${db:Status-Abbrev}\\n", "*cudnn*"]
H200_CSV = ("0, NVIDIA H200, GPU-18989197-5caa-e519-572e-d6653fa76ead, 580.159.04, 143771, 9.0, "
            "00000000:00:06.0, Enabled, Disabled\n")


class Host(FakeHost):
    """A fake host: which binaries exist, what each exact argv answers (run with LC_ALL=C), and a scratch file tree."""

    def __init__(self, monkeypatch, tmp_path):
        super().__init__(monkeypatch, tmp_path, environ={"LC_ALL": "C", "LANG": "C"})
        self.warnings = []
        monkeypatch.setattr(nvidia_gpu_facts, "CUDA_HOME_GLOB", str(tmp_path / "usr/local/cuda*"))
        monkeypatch.setattr(nvidia_gpu_facts, "CUDNN_HEADER_GLOBS", [
            str(tmp_path / "usr/include/cudnn_version.h"),
            str(tmp_path / "usr/include/*-linux-gnu/cudnn_version_v*.h"),
            str(tmp_path / "usr/local/cuda*/include/cudnn_version.h"),
            str(tmp_path / "usr/local/cuda*/include/cudnn.h"),
        ])
        monkeypatch.setattr(nvidia_gpu_facts, "PROC_DRIVER_VERSION", str(tmp_path / "proc/driver/nvidia/version"))

    def gather(self, args=None, check_mode=False):
        result = run_module(nvidia_gpu_facts.main, args, check_mode=check_mode)
        assert not result.get("failed") and result["changed"] is False, result
        self.warnings = result.get("warnings", [])
        return result["ansible_facts"]["nvidia"]


@pytest.fixture
def host(monkeypatch, tmp_path):
    return Host(monkeypatch, tmp_path)


def h200(host):
    host.bins["nvidia-smi"] = SMI
    host.answer(XML_ARGV, out=capture("nvidia-smi-qx.txt"))
    host.answer(QUERY_ARGV, out=H200_CSV)


@pytest.mark.parametrize("check_mode", [False, True])
def test_h200_box(host, check_mode):
    h200(host)
    host.file("usr/local/cuda-13.0/bin/nvcc", "#!/bin/sh\n", executable=True)
    nvcc = host.file("usr/local/cuda/bin/nvcc", "#!/bin/sh\n", executable=True)  # preferred over cuda-13.0
    host.answer([nvcc, "--version"], out=capture("nvcc-version.txt"))
    header = host.file("usr/include/x86_64-linux-gnu/cudnn_version_v9.h",
                       "#define CUDNN_MAJOR 9\n#define CUDNN_MINOR 14\n#define CUDNN_PATCHLEVEL 0\n")
    facts = host.gather(check_mode=check_mode)
    assert host.calls == [XML_ARGV, QUERY_ARGV, [nvcc, "--version"]]
    assert facts == {
        "present": True,
        "error": None,
        "driver_version": "580.159.04",
        "cuda_version": "13.0",
        "gpus": [{
            "index": 0, "name": "NVIDIA H200", "uuid": "GPU-18989197-5caa-e519-572e-d6653fa76ead",
            "memory_total_mib": 143771, "compute_capability": "9.0", "pci_bus_id": "00000000:00:06.0",
            "persistence_mode": True, "mig_mode": "disabled", "mig_devices": [],
        }],
        "nvcc_version": "13.0.88",
        "nvcc_path": nvcc,
        "cudnn_version": "9.14.0",
        "cudnn_source": header,
    }
    assert host.warnings == []


def test_no_nvidia_smi_is_not_a_failure(host):
    facts = host.gather()
    assert host.calls == []
    assert facts["present"] is False
    assert "nvidia-smi not found" in facts["error"]
    assert (facts["gpus"], facts["driver_version"], facts["nvcc_path"], facts["cudnn_version"]) == ([], None, None, None)
    assert host.warnings == []


def test_nvml_mismatch_reports_reason_and_warns(host):
    host.bins["nvidia-smi"] = SMI
    host.answer(XML_ARGV, rc=18, out="Failed to initialize NVML: Driver/library version mismatch\n"
                                     "NVML library version: 580.95\n")
    host.file("proc/driver/nvidia/version",
              "NVRM version: NVIDIA UNIX Open Kernel Module for x86_64  580.159.04  Release Build\n")
    facts = host.gather()
    assert host.calls == [XML_ARGV]
    assert facts["present"] is False
    assert facts["error"] == "Failed to initialize NVML: Driver/library version mismatch"
    assert facts["driver_version"] == "580.159.04"  # the loaded kernel module's
    (warning,) = host.warnings
    assert "rc=18" in warning and "reboot" in warning


def test_no_devices_found(host):
    host.bins["nvidia-smi"] = SMI
    host.answer(XML_ARGV, rc=6, out="No devices were found\n")
    facts = host.gather()
    assert (facts["present"], facts["error"]) == (False, "No devices were found")
    assert host.warnings == []


def test_old_driver_without_compute_cap_retries_legacy_query(host):
    host.bins["nvidia-smi"] = SMI
    xml = ('<?xml version="1.0" ?>\n<nvidia_smi_log><driver_version>418.87.01</driver_version>'
           '<cuda_version>10.1</cuda_version>'
           '<gpu id="00000000:00:1E.0"><product_name>Tesla K80</product_name>'
           '<persistence_mode>Enabled</persistence_mode><uuid>GPU-k80a</uuid>'
           '<pci><pci_bus_id>00000000:00:1E.0</pci_bus_id></pci>'
           '<fb_memory_usage><total>11441 MiB</total></fb_memory_usage></gpu>'
           '<gpu id="00000000:00:1F.0"><product_name>Tesla K80</product_name>'
           '<persistence_mode>Enabled</persistence_mode><uuid>GPU-k80b</uuid>'
           '<pci><pci_bus_id>00000000:00:1F.0</pci_bus_id></pci>'
           '<fb_memory_usage><total>11441 MiB</total></fb_memory_usage></gpu></nvidia_smi_log>\n')
    host.answer(XML_ARGV, out=xml)
    host.answer(QUERY_ARGV, rc=2, out='Field "compute_cap" is not a valid field to query.\n\n')
    host.answer(LEGACY_ARGV, out="0, Tesla K80, GPU-k80a, 418.87.01, 11441, 00000000:00:1E.0, Enabled\n"
                                 "1, Tesla K80, GPU-k80b, 418.87.01, 11441, 00000000:00:1F.0, Enabled\n")
    facts = host.gather()
    assert host.calls == [XML_ARGV, QUERY_ARGV, LEGACY_ARGV]
    assert facts["present"] is True
    assert [(g["index"], g["uuid"], g["compute_capability"], g["mig_mode"]) for g in facts["gpus"]] == [
        (0, "GPU-k80a", "3.7", None), (1, "GPU-k80b", "3.7", None)]
    assert (facts["driver_version"], facts["cuda_version"]) == ("418.87.01", "10.1")


def test_unparsable_xml_falls_back_to_csv(host):
    host.bins["nvidia-smi"] = SMI
    host.answer(XML_ARGV, out="garbage\n")
    host.answer(QUERY_ARGV, out=H200_CSV)
    facts = host.gather()
    assert facts["present"] is True
    assert facts["gpus"][0]["memory_total_mib"] == 143771
    assert facts["driver_version"] == "580.159.04"
    assert any("could not parse nvidia-smi -q -x" in w for w in host.warnings)


def test_nvcc_on_path_and_cudnn_from_dpkg(host):
    h200(host)
    host.bins["nvcc"] = "/opt/cuda/bin/nvcc"
    host.bins["dpkg-query"] = DPKG
    host.answer(["/opt/cuda/bin/nvcc", "--version"], out="Cuda compilation tools, release 12.4, V12.4.131\n")
    host.answer(DPKG_ARGV, out="libcudnn9-cuda-12\t9.1.0.70-1\tii \nlibcudnn8\t\tun \n")
    facts = host.gather()
    assert host.calls[-2:] == [["/opt/cuda/bin/nvcc", "--version"], DPKG_ARGV]
    assert (facts["nvcc_path"], facts["nvcc_version"]) == ("/opt/cuda/bin/nvcc", "12.4.131")
    assert (facts["cudnn_version"], facts["cudnn_source"]) == ("9.1.0", "dpkg")


def test_nvcc_newest_versioned_cuda_home_and_old_cudnn_h(host):
    h200(host)
    for version in ("11.8", "12.10", "12.4"):
        host.file(f"usr/local/cuda-{version}/bin/nvcc", "#!/bin/sh\n", executable=True)
    newest = str(host.tmp / "usr/local/cuda-12.10/bin/nvcc")
    host.answer([newest, "--version"], out="Cuda compilation tools, release 12.10, V12.10.1\n")
    header = host.file("usr/local/cuda-8.0/include/cudnn.h",
                       "#define CUDNN_MAJOR 5\n#define CUDNN_MINOR 1\n#define CUDNN_PATCHLEVEL 10\n")
    facts = host.gather()
    assert facts["nvcc_path"] == newest
    assert (facts["cudnn_version"], facts["cudnn_source"]) == ("5.1.10", header)


def test_cudnn_from_rpm(host):
    h200(host)
    host.bins["rpm"] = "/usr/bin/rpm"
    argv = ["/usr/bin/rpm", "-qa", "--qf", "%{NAME}\\t%{VERSION}\\n", "*cudnn*"]
    host.answer(argv, out="libcudnn8\t8.9.7.29\nlibcudnn8-devel\t8.9.7.29\n")
    facts = host.gather()
    assert host.calls[-1] == argv
    assert facts["cudnn_version"] == "8.9.7"


def test_bad_nvidia_smi_path_fails_clearly(host):
    failure = run_module(nvidia_gpu_facts.main, {"nvidia_smi_path": str(host.tmp / "nope")})
    assert failure["failed"] is True and "nvidia_smi_path" in failure["msg"]
    assert host.calls == []


def test_explicit_nvidia_smi_path(host):
    smi = host.file("opt/nv/nvidia-smi", "#!/bin/sh\n", executable=True)
    host.answer([smi, "-q", "-x"], out=capture("nvidia-smi-qx.txt"))
    host.answer([smi, "--query-gpu=" + QUERY, "--format=csv,noheader,nounits"], out=H200_CSV)
    facts = host.gather({"nvidia_smi_path": smi})
    assert facts["present"] is True
    assert host.calls[0] == [smi, "-q", "-x"]
