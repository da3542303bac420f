"""The CUDA compatibility matrix and the install-or-verify decision of the role cuda."""

import re

import pytest
from ansible_collections.mocha.cloud.plugins.module_utils import cuda_matrix as m
from conftest import FIXTURES, read_capture

BOX = FIXTURES / "gpu-box-ubuntu2404-h200"


def _capture(name):
    """Body of a fixture capture (between the `$ command` line and the `# rc=` line), and its rc."""
    body, rc = read_capture(name)
    return body[:-1], rc


def box_facts():
    """ansible_facts.nvidia as the contract describes it, built from the real captures of the H200 box."""
    row, _ = _capture("nvidia-smi-query.txt")
    idx, name, uuid, driver, mem, cc, bus = [f.strip() for f in row.split(",")][:7]
    version, _ = _capture("nvidia-smi-version.txt")
    nvcc, _ = _capture("nvcc-version.txt")
    pkgs, _ = _capture("pkgmgr.txt")
    cudnn = re.search(r"libcudnn9-cuda-13\s+(\d+\.\d+\.\d+)", pkgs).group(1)
    return {
        "present": True, "error": None, "driver_version": driver,
        "cuda_version": re.search(r"CUDA Version\s*:\s*(\S+)", version).group(1),
        "gpus": [{"index": int(idx), "name": name, "uuid": uuid, "memory_total_mib": int(mem),
                  "compute_capability": cc, "pci_bus_id": bus, "persistence_mode": True, "mig_mode": "disabled"}],
        "nvcc_version": re.search(r"release [\d.]+, V([\d.]+)", nvcc).group(1),
        "nvcc_path": _capture("nvcc.txt")[0].strip(),
        "cudnn_version": cudnn,
    }


NO_DRIVER = {"present": False, "error": "nvidia-smi not found", "driver_version": None, "cuda_version": None,
             "gpus": [], "nvcc_version": None, "nvcc_path": None, "cudnn_version": None}


def lspci_line(dev, cls="0302"):
    return f"00:1e.0 3D controller [{cls}]: NVIDIA Corporation Device [10de:{dev}] (rev a1)"


# --- the real GPU box -------------------------------------------------------------------------------

def test_gpu_box_takes_verify_path():
    facts = box_facts()
    assert facts["driver_version"] == "580.159.04" and facts["gpus"][0]["compute_capability"] == "9.0"
    lspci, rc = _capture("lspci.txt")
    assert rc == 1  # the box has no lspci at all
    d = m.decide(facts, lspci_text=lspci)
    assert d["error"] is None, d["reason"]
    assert d["path"] == "verify"
    assert not (d["install_driver"] or d["install_toolkit"] or d["install_cudnn"])
    assert (d["driver_branch"], d["cuda_version"]) == ("580", "13.0")
    assert d["architecture"] == "Hopper"
    assert "NVIDIA H200" in d["reason"] and "changing nothing" in d["reason"]
    assert "\n" not in d["reason"]


def test_gpu_box_with_cudnn_wanted_still_verifies():
    d = m.decide(box_facts(), cudnn=True)
    assert d["path"] == "verify" and "cuDNN 9.14.0" in d["reason"]


def test_gpu_box_matching_pins_verify():
    d = m.decide(box_facts(), driver_pin="580", cuda_pin="13.0")
    assert d["path"] == "verify"


def test_gpu_box_pinned_older_cuda_installs_only_the_toolkit():
    d = m.decide(box_facts(), cuda_pin="12.9")
    assert d["path"] == "install"
    assert d["install_toolkit"] and not d["install_driver"]
    assert d["cuda_version"] == "12.9" and d["driver_branch"] == "580"


def test_gpu_box_without_nvcc_installs_toolkit():
    facts = dict(box_facts(), nvcc_version=None, nvcc_path=None)
    d = m.decide(facts)
    assert d["path"] == "install" and d["install_toolkit"] and not d["install_driver"]
    assert d["cuda_version"] == "13.0"
    assert "no nvcc" in d["reason"]


# --- no GPU -----------------------------------------------------------------------------------------

def test_no_gpu_skips():
    d = m.decide(NO_DRIVER, lspci_text="00:02.0 VGA compatible controller [0300]: Cirrus Logic [1013:00b8]")
    assert d["path"] == "no_gpu" and d["error"] is None
    assert "no NVIDIA GPU" in d["reason"]


def test_no_gpu_fails_when_required():
    d = m.decide(NO_DRIVER, required=True)
    assert d["path"] is None
    assert "cuda_required" in d["error"]


def test_nvswitch_and_audio_functions_are_not_gpus():
    text = "\n".join([lspci_line("22a3", "0680"), "00:1f.1 Audio device [0403]: NVIDIA Corporation [10de:10f8]"])
    assert m.gpus_from_lspci(text) == []
    assert m.decide(NO_DRIVER, lspci_text=text)["path"] == "no_gpu"


# --- the matrix -------------------------------------------------------------------------------------

@pytest.mark.parametrize("family", sorted(m.AWS_FAMILIES))
def test_every_aws_family_maps_to_a_supported_pair(family):
    name, cc = m.PCI_DEVICES[m.AWS_FAMILIES[family]]
    branch, cuda = m.recommend(cc)
    assert m.branch_supports(branch, cc) and m.cuda_supports(cuda, cc)
    assert m.cuda_tuple(cuda) <= m.cuda_tuple(m.DRIVER_BRANCHES[branch]["cuda"])
    assert (branch, cuda) in m.supported_pairs(cc)
    # and the whole decision, from lspci only (a fresh AWS host with no driver), says install that pair
    d = m.decide(NO_DRIVER, lspci_text=lspci_line(m.AWS_FAMILIES[family], "0300"))
    assert d["error"] is None, d["reason"]
    assert d["path"] == "install" and d["install_driver"] and d["install_toolkit"]
    assert (d["driver_branch"], d["cuda_version"]) == (branch, cuda)
    assert name in d["reason"]


@pytest.mark.parametrize("cc, branch, cuda, arch", [
    ("3.7", "470", "11.4", "Kepler"),
    ("5.2", "580", "12.9", "Maxwell"),
    ("6.1", "580", "12.9", "Pascal"),
    ("7.0", "580", "12.9", "Volta"),
    ("7.5", "580", "13.0", "Turing"),
    ("8.0", "580", "13.0", "Ampere"),
    ("8.6", "580", "13.0", "Ampere"),
    ("8.9", "580", "13.0", "Ada Lovelace"),
    ("9.0", "580", "13.0", "Hopper"),
    ("10.0", "580", "13.0", "Blackwell"),
])
def test_recommendation_by_generation(cc, branch, cuda, arch):
    assert m.recommend(cc) == (branch, cuda)
    assert m.architecture(cc) == arch


def test_issue_rules_hold_over_the_whole_matrix():
    # Kepler: R470 and CUDA 11.4 at most
    assert all(b == "470" and m.cuda_tuple(c) <= (11, 4) for b, c in m.supported_pairs("3.7"))
    # Maxwell/Pascal/Volta: R580 at most and CUDA 12.x (CUDA 13 drops them)
    for cc in ("5.0", "5.2", "6.0", "6.1", "7.0"):
        pairs = m.supported_pairs(cc)
        assert pairs and all(int(b) <= 580 and m.cuda_tuple(c) < (13, 0) for b, c in pairs)
        assert m.recommend(cc)[1].startswith("12.")
    assert not m.cuda_supports("13.0", "7.0") and m.cuda_supports("13.0", "7.5")
    assert not m.branch_supports("470", "9.0") and not m.branch_supports("580", "3.7")


def test_too_old_gpu_is_an_error():
    d = m.decide(NO_DRIVER, assume_gpu="2.0")
    assert d["error"] and "older than anything" in d["error"]


# --- pins and bad values ----------------------------------------------------------------------------

@pytest.mark.parametrize("pins, expect", [
    ({"driver_pin": "999"}, "not a branch the role knows"),
    ({"driver_pin": "banana"}, "cuda_driver_branch: not a driver branch"),
    ({"cuda_pin": "10.2"}, "not a CUDA release the role knows"),
    ({"cuda_pin": "twelve"}, "cuda_toolkit_version: not a CUDA version"),
])
def test_unknown_pins_fail_even_without_gpu(pins, expect):
    d = m.decide(NO_DRIVER, **pins)
    assert d["path"] is None and expect in d["error"]


@pytest.mark.parametrize("cc, pins, expect", [
    ("3.7", {"cuda_pin": "12.9"}, "cuda_toolkit_version 12.9 cannot run on"),
    ("7.0", {"cuda_pin": "13.0"}, "cuda_toolkit_version 13.0 cannot run on"),
    ("9.0", {"cuda_pin": "11.4"}, "cuda_toolkit_version 11.4 cannot run on"),
    ("3.7", {"driver_pin": "580"}, "cuda_driver_branch 580 cannot drive"),
    ("9.0", {"driver_pin": "470"}, "cuda_driver_branch 470 cannot drive"),
    ("8.6", {"driver_pin": "535", "cuda_pin": "12.9"}, "needs a newer driver"),
    ("3.7", {"cudnn": True}, "cuDNN 9 does not support"),
])
def test_pins_the_gpu_cannot_use_fail(cc, pins, expect):
    d = m.decide(NO_DRIVER, assume_gpu=cc, **pins)
    assert d["path"] is None
    assert expect in d["error"], d["error"]


def test_pinned_branch_picks_newest_cuda_it_supports():
    d = m.decide(NO_DRIVER, assume_gpu="7.5", driver_pin="R535")
    assert (d["path"], d["driver_branch"], d["cuda_version"]) == ("install", "535", "12.2")


def test_pins_are_honoured():
    d = m.decide(NO_DRIVER, assume_gpu="8.6", driver_pin="570", cuda_pin="12.8", cudnn=True)
    assert d["path"] == "install"
    assert (d["driver_branch"], d["cuda_version"], d["install_cudnn"]) == ("570", "12.8", True)


def test_old_driver_is_replaced_for_new_toolkit():
    facts = dict(box_facts(), driver_version="535.104.05", cuda_version="12.2", nvcc_version=None)
    d = m.decide(facts)
    assert d["path"] == "install" and d["install_driver"] and d["install_toolkit"]
    assert (d["driver_branch"], d["cuda_version"]) == ("580", "13.0")
    assert "supports CUDA 12.2 at most" in d["reason"]


def test_dlami_with_older_fitting_stack_verifies():
    facts = dict(box_facts(), driver_version="535.183.01", cuda_version="12.2", nvcc_version="12.2.140",
                 cudnn_version=None)
    facts["gpus"] = [dict(facts["gpus"][0], name="Tesla T4", compute_capability="7.5")]
    d = m.decide(facts)
    assert d["path"] == "verify" and d["cuda_version"] == "12.2" and d["driver_branch"] == "535"


def test_toolkit_newer_than_driver_is_not_a_fit():
    facts = dict(box_facts(), driver_version="570.86.15", cuda_version="12.8", nvcc_version="13.0.88")
    d = m.decide(facts)
    assert d["path"] == "install" and d["install_driver"] and d["driver_branch"] == "580"


def test_driver_loaded_but_gpu_cc_unknown_asks_for_assume():
    facts = box_facts()
    facts["gpus"][0]["compute_capability"] = None
    d = m.decide(facts)
    assert d["error"] and "cuda_assume_gpu" in d["error"]


def test_unknown_pci_device_asks_for_assume():
    d = m.decide(NO_DRIVER, lspci_text=lspci_line("ffff"))
    assert d["error"] and "10de:ffff" in d["error"] and "cuda_assume_gpu" in d["error"]


def test_assume_gpu_overrides_detection_and_is_validated():
    d = m.decide(NO_DRIVER, assume_gpu="7.5")
    assert d["path"] == "install" and d["source"] == "cuda_assume_gpu"
    assert "cuda_assume_gpu" in m.decide(NO_DRIVER, assume_gpu="seven")["error"]


def test_heterogeneous_gpus_decide_for_all():
    facts = box_facts()
    facts["gpus"].append(dict(facts["gpus"][0], index=1, name="Tesla V100-SXM2-16GB", compute_capability="7.0"))
    d = m.decide(facts)
    # nvcc 13.0 cannot target the V100: CUDA 12.9 for both, the R580 driver stays
    assert d["path"] == "install" and d["cuda_version"] == "12.9" and not d["install_driver"]
    assert d["gpu"]["compute_capability"] == "7.0"


# --- small parsers ----------------------------------------------------------------------------------

def test_lspci_parse_real_style_lines():
    text = "\n".join([
        "00:1e.0 3D controller [0302]: NVIDIA Corporation TU104GL [Tesla T4] [10de:1eb8] (rev a1)",
        "00:1f.0 VGA compatible controller [0300]: NVIDIA Corporation GK210GL [Tesla K80] [10de:102d] (rev a1)",
    ])
    gpus = m.gpus_from_lspci(text)
    assert [(g["pci_id"], g["compute_capability"]) for g in gpus] == [("10de:1eb8", "7.5"), ("10de:102d", "3.7")]


@pytest.mark.parametrize("dist, ver, arch, distro, repo_arch", [
    ("Ubuntu", "24.04", "x86_64", "ubuntu2404", "x86_64"),
    ("Ubuntu", "22.04", "aarch64", "ubuntu2204", "sbsa"),
    ("Debian", "12", "x86_64", "debian12", "x86_64"),
    ("Rocky", "9.4", "x86_64", "rhel9", "x86_64"),
    ("AlmaLinux", "9", "x86_64", "rhel9", "x86_64"),
    ("RedHat", "9.6", "x86_64", "rhel9", "x86_64"),
    ("Amazon", "2023", "x86_64", "amzn2023", "x86_64"),
])
def test_supported_os(dist, ver, arch, distro, repo_arch):
    r = m.os_repo(dist, ver, arch)
    assert (r["supported"], r["distro"], r["arch"]) == (True, distro, repo_arch)


@pytest.mark.parametrize("dist, ver", [("Ubuntu", "20.04"), ("Debian", "11"), ("CentOS", "7"), ("Amazon", "2")])
def test_unsupported_os(dist, ver):
    r = m.os_repo(dist, ver, "x86_64")
    assert not r["supported"] and "not supported" in r["error"] and "Ubuntu 22.04/24.04" in r["error"]


@pytest.mark.parametrize("value, branch", [("580.159.04", "580"), ("R470", "470"), (535, "535")])
def test_driver_branch(value, branch):
    assert m.driver_branch(value) == branch
