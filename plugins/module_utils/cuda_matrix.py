# -*- coding: utf-8 -*-
# Copyright: mocha-cloud contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""NVIDIA driver / CUDA compatibility matrix and the install-or-verify decision of the role ``cuda``.

Pure data and pure functions (data in, dict out): the role calls them through the filters in
``plugins/filter/cuda.py`` and the unit tests call them directly.

The matrix was checked in 2026-11 against NVIDIA's CUDA release notes, the driver "supported
products" lists and the lent GPU box (Ubuntu 24.04, H200, driver 580.159.04, CUDA 13.0):

* Kepler (3.5/3.7, e.g. K80) ends with driver branch R470, whose newest CUDA is 11.4.
* CUDA 12.x drops Kepler; CUDA 13.0 drops Maxwell, Pascal and Volta (5.x, 6.x, 7.0, 7.2), and
  R580 is the last driver branch that drives them.
* Turing (7.5) and newer: "current" is R580 (a long-term support branch) with CUDA 13.0.

A toolkit is only paired with a driver whose own CUDA version is at least the toolkit's: NVIDIA's
minor-version compatibility lets newer 12.x runtimes start on older 12.x drivers, but PTX built by a
newer toolkit cannot be JIT-compiled by an older driver, and Mocha's kernels are loaded as PTX.
"""

import re

MATRIX_CHECKED = "2026-11"

# (lowest compute capability, highest, architecture name), oldest first.
ARCHITECTURES = [
    ((3, 0), (3, 7), "Kepler"),
    ((5, 0), (5, 3), "Maxwell"),
    ((6, 0), (6, 2), "Pascal"),
    ((7, 0), (7, 2), "Volta"),
    ((7, 5), (7, 5), "Turing"),
    ((8, 0), (8, 7), "Ampere"),
    ((8, 9), (8, 9), "Ada Lovelace"),
    ((9, 0), (9, 0), "Hopper"),
    ((10, 0), (12, 1), "Blackwell"),
]

# Driver branches the role can install, grouped by the compute capabilities they drive, each with the
# newest CUDA it supports natively (R470 is the last for Kepler and does not know Ada or Hopper; R580 is
# the last for Maxwell, Pascal and Volta).
_BRANCHES_BY_CC = (
    (("3.5", "8.7"), {"470": "11.4"}),
    (("5.0", "9.0"), {"525": "12.0", "535": "12.2", "545": "12.3", "550": "12.4", "555": "12.5", "560": "12.6", "565": "12.7"}),
    (("5.0", "12.0"), {"570": "12.8"}),
    (("5.0", "12.1"), {"575": "12.9", "580": "13.0"}),
)
DRIVER_BRANCHES = {branch: {"cuda": cuda, "min_cc": low, "max_cc": high}
                   for (low, high), branches in _BRANCHES_BY_CC for branch, cuda in branches.items()}

# CUDA toolkits the role can install, grouped by the compute capabilities their nvcc targets.
_RELEASES_BY_CC = (
    (("3.5", "8.7"), ("11.4",)),
    (("3.5", "9.0"), ("11.8",)),
    (("5.0", "9.0"), ("12.0", "12.1", "12.2", "12.3", "12.4", "12.5", "12.6")),
    (("5.0", "12.0"), ("12.8",)),
    (("5.0", "12.1"), ("12.9",)),
    (("7.5", "12.1"), ("13.0",)),
)
CUDA_RELEASES = {cuda: {"min_cc": low, "max_cc": high} for (low, high), releases in _RELEASES_BY_CC for cuda in releases}

# What the role picks when nothing is pinned: (lowest cc, driver branch, CUDA), newest rule first.
RECOMMENDED = [
    ("7.5", "580", "13.0"),  # Turing and newer: current
    ("5.0", "580", "12.9"),  # Maxwell, Pascal, Volta: last branch and last CUDA 12.x that support them
    ("3.5", "470", "11.4"),  # Kepler (K80): R470 and CUDA 11.4 at most
]

# cuDNN major version per CUDA major (package names come from the role's OS vars), and the
# lowest compute capability that cuDNN 9 supports.
CUDNN_MAJOR = {"11": "9", "12": "9", "13": "9"}
CUDNN_MIN_CC = "5.0"

# AWS GPUs (and a few close relatives) by PCI device id (vendor 10de), for hosts without a driver.
PCI_DEVICES = {
    "102d": ("Tesla K80", "3.7"),  # p2 (retired)
    "13f2": ("Tesla M60", "5.2"),  # g3 (retired)
    "1db1": ("Tesla V100-SXM2-16GB", "7.0"),  # p3
    "1db4": ("Tesla V100-PCIE-16GB", "7.0"),
    "1db5": ("Tesla V100-SXM2-32GB", "7.0"),  # p3dn
    "1eb8": ("Tesla T4", "7.5"),  # g4dn
    "20b0": ("A100-SXM4-40GB", "8.0"),  # p4d
    "20b2": ("A100-SXM4-80GB", "8.0"),  # p4de
    "20f1": ("A100-PCIE-40GB", "8.0"),
    "2236": ("A10", "8.6"),
    "2237": ("A10G", "8.6"),  # g5
    "27b8": ("L4", "8.9"),  # g6
    "26b9": ("L40S", "8.9"),  # g6e
    "2330": ("H100 SXM5 80GB", "9.0"),  # p5
    "2331": ("H100 PCIe", "9.0"),
    "2335": ("H200", "9.0"),  # p5e / p5en
}

# Every current and retired AWS GPU family and its GPU.
AWS_FAMILIES = {
    "p2": "102d",
    "g3": "13f2",
    "p3": "1db1",
    "g4dn": "1eb8",
    "g5": "2237",
    "g6": "27b8",
    "g6e": "26b9",
    "p4d": "20b0",
    "p5": "2330",
}

# NVIDIA CUDA repository directory per supported OS (distribution, version) -> name.
OS_REPOS = {
    ("ubuntu", "22.04"): "ubuntu2204",
    ("ubuntu", "24.04"): "ubuntu2404",
    ("debian", "12"): "debian12",
    ("redhat", "9"): "rhel9",
    ("rocky", "9"): "rhel9",
    ("almalinux", "9"): "rhel9",
    ("amazon", "2023"): "amzn2023",
}
REPO_ARCH = {"x86_64": "x86_64", "amd64": "x86_64", "aarch64": "sbsa", "arm64": "sbsa"}
SUPPORTED_OS_TEXT = "Ubuntu 22.04/24.04, Debian 12, RHEL/Rocky/AlmaLinux 9, Amazon Linux 2023"

_CC_RE = re.compile(r"^\s*(\d+)\.(\d+)\s*$")
_CUDA_RE = re.compile(r"^\s*(\d+)\.(\d+)(?:\.\d+)*\s*$")
_BRANCH_RE = re.compile(r"^\s*[Rr]?(\d{3})(?:\.[\d.]*)?\s*$")
_LSPCI_RE = re.compile(r"\[(03[0-9a-f]{2})\]:.*\[10de:([0-9a-f]{4})\]", re.IGNORECASE)
_AUTO = ("", "auto", None)


def cc_tuple(value):
    """``"8.6"`` -> ``(8, 6)``; raises ValueError on anything else."""
    m = _CC_RE.match(str(value))
    if not m:
        raise ValueError(f"not a compute capability (expected MAJOR.MINOR such as 8.6): {value!r}")
    return int(m.group(1)), int(m.group(2))


def cuda_tuple(value):
    """``"13.0"`` or ``"13.0.88"`` -> ``(13, 0)``; raises ValueError on anything else."""
    m = _CUDA_RE.match(str(value))
    if not m:
        raise ValueError(f"not a CUDA version (expected MAJOR.MINOR such as 12.9): {value!r}")
    return int(m.group(1)), int(m.group(2))


def cuda_short(value):
    """``"13.0.88"`` -> ``"13.0"``."""
    return "{}.{}".format(*cuda_tuple(value))


def driver_branch(value):
    """``"580.159.04"``, ``"R580"`` or ``580`` -> ``"580"``; raises ValueError otherwise."""
    m = _BRANCH_RE.match(str(value))
    if not m:
        raise ValueError(f"not a driver branch or version (expected e.g. 580 or 580.159.04): {value!r}")
    return m.group(1)


def architecture(cc):
    """Architecture name of a compute capability (``"9.0"`` -> ``"Hopper"``)."""
    t = cc_tuple(cc)
    for low, high, name in ARCHITECTURES:
        if low <= t <= high:
            return name
    return "unknown architecture"


def _in_range(cc, low, high):
    return cc_tuple(low) <= cc_tuple(cc) <= cc_tuple(high)


def branch_supports(branch, cc):
    """Whether a known driver branch drives a GPU of this compute capability."""
    row = DRIVER_BRANCHES[branch]
    return _in_range(cc, row["min_cc"], row["max_cc"])


def cuda_supports(cuda, cc):
    """Whether a known CUDA toolkit compiles for (and runs on) this compute capability."""
    row = CUDA_RELEASES[cuda_short(cuda)]
    return _in_range(cc, row["min_cc"], row["max_cc"])


def recommend(cc):
    """Default (driver branch, CUDA version) for a compute capability; None when unsupported."""
    t = cc_tuple(cc)
    for low, branch, cuda in RECOMMENDED:
        if t >= cc_tuple(low) and branch_supports(branch, cc) and cuda_supports(cuda, cc):
            return branch, cuda
    return None


def supported_pairs(cc):
    """Every (branch, CUDA) pair of the matrix that fits a compute capability, newest first."""
    pairs = []
    for branch in sorted(DRIVER_BRANCHES, key=int, reverse=True):
        if not branch_supports(branch, cc):
            continue
        for cuda in sorted(CUDA_RELEASES, key=cuda_tuple, reverse=True):
            if cuda_supports(cuda, cc) and cuda_tuple(cuda) <= cuda_tuple(DRIVER_BRANCHES[branch]["cuda"]):
                pairs.append((branch, cuda))
    return pairs


def gpus_from_lspci(text):
    """NVIDIA display controllers in ``lspci -nn`` output: [{pci_id, name, compute_capability}].

    Only PCI class 03xx (VGA / 3D controllers): NVSwitch bridges and HDMI audio functions are not GPUs.
    ``name`` and ``compute_capability`` are None for device ids the table does not know.
    """
    gpus = []
    for line in (text or "").splitlines():
        m = _LSPCI_RE.search(line)
        if not m:
            continue
        dev = m.group(2).lower()
        name, cc = PCI_DEVICES.get(dev, (None, None))
        gpus.append({"pci_id": "10de:" + dev, "name": name, "compute_capability": cc,
                     "slot": line.split(" ", 1)[0]})
    return gpus


def os_repo(distribution, version, arch="x86_64"):
    """``("Ubuntu", "24.04", "x86_64")`` -> ``{"supported": True, "distro": "ubuntu2404", "arch": "x86_64"}``."""
    dist = str(distribution or "").strip().lower()
    ver = str(version or "").strip()
    if dist in ("debian", "redhat", "rocky", "almalinux"):
        ver = ver.split(".", maxsplit=1)[0]
    distro = OS_REPOS.get((dist, ver))
    repo_arch = REPO_ARCH.get(str(arch or "").lower())
    error = None
    if distro is None:
        error = f"{distribution} {version} is not supported by the role cuda; supported: {SUPPORTED_OS_TEXT}."
    elif repo_arch is None:
        error = f"CPU architecture {arch} is not supported by the role cuda (x86_64 or aarch64)."
    return {"supported": error is None, "distro": distro, "arch": repo_arch, "error": error}


def _gpu_label(gpu):
    cc = gpu.get("compute_capability")
    return "{} (compute {}, {})".format(gpu.get("name") or "NVIDIA GPU", cc, architecture(cc))


def _choices(table):
    return ", ".join(sorted(table, key=lambda v: tuple(int(p) for p in v.split("."))))


def identify_gpus(nvidia=None, lspci_text="", assume_gpu=""):
    """Which GPUs the host has, from (in order) cuda_assume_gpu, nvidia_gpu_facts, lspci.

    Returns {present, source, gpus: [{name, compute_capability}], error}.
    """
    nvidia = nvidia or {}
    if assume_gpu not in _AUTO:
        try:
            cc = "{}.{}".format(*cc_tuple(assume_gpu))
        except ValueError as exc:
            return {"present": False, "source": "cuda_assume_gpu", "gpus": [],
                    "error": f"cuda_assume_gpu: {exc}"}
        return {"present": True, "source": "cuda_assume_gpu", "error": None,
                "gpus": [{"name": "GPU assumed by cuda_assume_gpu", "compute_capability": cc}]}
    smi_gpus = [g for g in (nvidia.get("gpus") or []) if g]
    if smi_gpus:
        gpus = [{"name": g.get("name"), "compute_capability": g.get("compute_capability")} for g in smi_gpus]
        unknown = [g["name"] for g in gpus if not g["compute_capability"]]
        error = None
        if unknown:
            error = ("nvidia-smi did not report the compute capability of {}; set cuda_assume_gpu to it "
                     "(e.g. \"8.6\").".format(", ".join(str(u) for u in unknown)))
        return {"present": True, "source": "nvidia-smi", "gpus": gpus, "error": error}
    pci = gpus_from_lspci(lspci_text)
    if pci:
        unknown = [g["pci_id"] for g in pci if not g["compute_capability"]]
        error = None
        if unknown:
            error = ("NVIDIA GPU {} is not in the role's PCI table and no driver is loaded to ask; set "
                     "cuda_assume_gpu to its compute capability (e.g. \"8.9\").".format(", ".join(unknown)))
        gpus = [{"name": g["name"] or g["pci_id"], "compute_capability": g["compute_capability"]} for g in pci]
        return {"present": True, "source": "lspci", "gpus": gpus, "error": error}
    return {"present": False, "source": "none", "gpus": [], "error": None}


# --------------------------------------------------------------------------------------------
# The install-or-verify decision: pins checked against the matrix, then a table of refusals and
# two tables of rules (toolkit, then driver), each a small function of what was found.
# --------------------------------------------------------------------------------------------

# The two pins: (setting, parser, the matrix table it must be in, what the table holds).
PINS = (
    ("cuda_driver_branch", driver_branch, DRIVER_BRANCHES, "a branch the role knows"),
    ("cuda_toolkit_version", cuda_short, CUDA_RELEASES, "a CUDA release the role knows"),
)


def _validate_pins(driver_pin, cuda_pin):
    """Messages for pins that do not parse or are not in the matrix (none for auto)."""
    errors = []
    pins = {"cuda_driver_branch": driver_pin, "cuda_toolkit_version": cuda_pin}
    for setting, parse, table, known in PINS:
        pin = pins[setting]
        if pin in _AUTO:
            continue
        try:
            value = parse(pin)
        except ValueError as exc:
            errors.append(f"{setting}: {exc}")
            continue
        if value not in table:
            errors.append(f"{setting} {str(pin)!r} is not {known} (choose one of {_choices(table)}, or auto).")
    return errors


def _present_versions(nvidia):
    driver = nvidia.get("driver_version") or None
    driver_cuda = nvidia.get("cuda_version") or None
    nvcc = nvidia.get("nvcc_version") or None
    try:
        toolkit = cuda_short(nvcc) if nvcc else None
    except ValueError:
        toolkit = None
    try:
        present_branch = driver_branch(driver) if driver else None
    except ValueError:
        present_branch = None
    return driver, driver_cuda, toolkit, present_branch


def _driver_fits(present_branch, driver_cuda, cc, cuda):
    """Why a present driver cannot serve this GPU and CUDA version; None when it can."""
    if present_branch in DRIVER_BRANCHES and not branch_supports(present_branch, cc):
        return f"driver branch R{present_branch} does not support compute {cc}"
    if present_branch not in DRIVER_BRANCHES and present_branch and int(present_branch) > 580 \
            and cc_tuple(cc) < (7, 5):
        return f"driver branch R{present_branch} no longer supports compute {cc}"
    if driver_cuda:
        try:
            too_old = cuda_tuple(driver_cuda) < cuda_tuple(cuda)
        except ValueError:
            too_old = False
        if too_old:
            return f"driver supports CUDA {driver_cuda} at most, below CUDA {cuda}"
    return None


class _Case:
    """What the rules read: the GPUs (oldest first), the pins, and the versions present on the host."""

    def __init__(self, nvidia, gpus, driver_pin, cuda_pin, cudnn):
        self.nvidia = nvidia
        self.driver, self.driver_cuda, self.toolkit, self.present_branch = _present_versions(nvidia)
        self.cudnn_present = nvidia.get("cudnn_version") or None
        self.cudnn = cudnn
        self.pin_branch = None if driver_pin in _AUTO else driver_branch(driver_pin)
        self.pin_cuda = None if cuda_pin in _AUTO else cuda_short(cuda_pin)
        # Decide for the oldest GPU (lowest compute capability) but check every GPU against the choice.
        self.gpus = sorted(gpus, key=lambda g: cc_tuple(g["compute_capability"]))
        self.gpu = self.gpus[0]
        self.cc = self.gpu["compute_capability"]
        self.label = _gpu_label(self.gpu)
        self.rec = recommend(self.cc)

    def all_gpus(self, check, value):
        return all(check(value, g["compute_capability"]) for g in self.gpus)


# --- refusals, before anything is chosen: each returns an error message, or None ------------------

def _gpu_too_old(case):
    if case.rec is None:
        return f"{case.label} is older than anything this role can drive (Kepler 3.5 and newer; R470/CUDA 11.4)."
    return None


def _pin_cannot_serve_a_gpu(case):
    for g in case.gpus:
        gcc = g["compute_capability"]
        if case.pin_branch and not branch_supports(case.pin_branch, gcc):
            row = DRIVER_BRANCHES[case.pin_branch]
            return (f"cuda_driver_branch {case.pin_branch} cannot drive {_gpu_label(g)} (R{case.pin_branch} supports compute "
                    f"{row['min_cc']} to {row['max_cc']}). Leave it auto (R{case.rec[0]} for this GPU) or pick a branch "
                    "that supports it.")
        if case.pin_cuda and not cuda_supports(case.pin_cuda, gcc):
            row = CUDA_RELEASES[case.pin_cuda]
            return (f"cuda_toolkit_version {case.pin_cuda} cannot run on {_gpu_label(g)} (CUDA {case.pin_cuda} supports compute "
                    f"{row['min_cc']} to {row['max_cc']}). Leave it auto (CUDA {case.rec[1]} for this GPU) or pick a "
                    "version that supports it.")
    return None


def _pins_disagree(case):
    if case.pin_branch and case.pin_cuda and cuda_tuple(case.pin_cuda) > cuda_tuple(DRIVER_BRANCHES[case.pin_branch]["cuda"]):
        limit = DRIVER_BRANCHES[case.pin_branch]["cuda"]
        return (f"cuda_toolkit_version {case.pin_cuda} needs a newer driver than cuda_driver_branch {case.pin_branch} "
                f"(R{case.pin_branch} supports CUDA {limit} at most).")
    return None


def _cudnn_unsupported(case):
    if case.cudnn and cc_tuple(case.cc) < cc_tuple(CUDNN_MIN_CC):
        return (f"cuda_cudnn is true but cuDNN 9 does not support {case.label} (compute {CUDNN_MIN_CC} or newer); set cuda_cudnn: "
                "false.")
    return None


REFUSALS = (_gpu_too_old, _pin_cannot_serve_a_gpu, _pins_disagree, _cudnn_unsupported)


# --- the toolkit to end up with: the first rule that applies gives (CUDA version, why install) ---------

def _toolkit_pinned(case):
    if not case.pin_cuda:
        return None
    if case.toolkit == case.pin_cuda:
        return case.pin_cuda, None
    found = f"nvcc {case.toolkit} is present" if case.toolkit else "no nvcc is present"
    return case.pin_cuda, f"CUDA {case.pin_cuda} is pinned but {found}"


def _toolkit_present_fits(case):
    if case.toolkit and case.toolkit in CUDA_RELEASES and case.all_gpus(cuda_supports, case.toolkit):
        return case.toolkit, None
    return None


def _toolkit_newer_than_the_matrix(case):
    """A toolkit newer than any the matrix knows: trusted on Turing and newer."""
    if case.toolkit and case.toolkit not in CUDA_RELEASES and cuda_tuple(case.toolkit) > cuda_tuple(case.rec[1]) \
            and cc_tuple(case.cc) >= (7, 5):
        return case.toolkit, None
    return None


def _toolkit_default(case):
    target = case.rec[1] if not case.pin_branch else _newest_cuda_for(case.pin_branch, case.gpus)
    return target, (f"nvcc {case.toolkit} cannot target {case.label}" if case.toolkit else "no nvcc is present")


TOOLKIT_RULES = (_toolkit_pinned, _toolkit_present_fits, _toolkit_newer_than_the_matrix, _toolkit_default)


# --- the driver: the first rule that gives a reason installs one; none keeps the present driver ------

def _no_driver(case, _cuda):
    if case.driver:
        return None
    return "no NVIDIA driver is loaded" + (" ({})".format(case.nvidia["error"]) if case.nvidia.get("error") else "")


def _driver_not_the_pinned_one(case, _cuda):
    if case.pin_branch and case.present_branch != case.pin_branch:
        return f"driver R{case.pin_branch} is pinned but {case.driver} is present"
    return None


def _driver_cannot_serve(case, cuda):
    return next((w for w in (_driver_fits(case.present_branch, case.driver_cuda, g["compute_capability"], cuda)
                             for g in case.gpus) if w), None)


DRIVER_RULES = (_no_driver, _driver_not_the_pinned_one, _driver_cannot_serve)


def _cudnn_to_install(case, cuda):
    """Why cuDNN must be installed for this CUDA version; None when it is not wanted or already fits."""
    if not case.cudnn:
        return None
    if not case.cudnn_present:
        return "cuDNN is wanted (cuda_cudnn) but not installed"
    wanted = CUDNN_MAJOR.get(cuda.split(".")[0])
    if case.cudnn_present.split(".")[0] != wanted:
        return f"cuDNN {case.cudnn_present} is present but CUDA {cuda} wants cuDNN {wanted}"
    return None


def _first(rules, *args):
    """The first answer of the rules, in order, that is not None (None when no rule applies)."""
    return next((answer for answer in (rule(*args) for rule in rules) if answer is not None), None)


def _blank_result(nvidia):
    driver, driver_cuda, toolkit, present_branch = _present_versions(nvidia)
    return {
        "path": None, "reason": "", "error": None, "gpu": None, "gpus": [], "source": None,
        "architecture": None, "driver_branch": None, "cuda_version": None,
        "install_driver": False, "install_toolkit": False, "install_cudnn": False,
        "present": {"driver_version": driver, "driver_cuda_version": driver_cuda, "driver_branch": present_branch,
                    "toolkit_version": toolkit, "nvcc_path": nvidia.get("nvcc_path") or None,
                    "cudnn_version": nvidia.get("cudnn_version") or None},
        "matrix_checked": MATRIX_CHECKED,
    }


def _fail(result, msg):
    result.update(path=None, error=msg, reason=msg)
    return result


def _no_gpu(result, nvidia, required):
    why = nvidia.get("error") or "nvidia-smi and lspci show no NVIDIA GPU"
    if required:
        return _fail(result, f"cuda_required is true but there is no NVIDIA GPU on this host ({why}). Run on a GPU "
                             "host, or set cuda_required: false to skip CUDA here.")
    result.update(path="no_gpu", reason=f"no NVIDIA GPU on this host ({why})")
    return result


def _reason(case, branch, cuda, why_driver, why_toolkit, why_cudnn):
    reasons = [w for w in (why_driver, why_toolkit, why_cudnn) if w]
    if not reasons:
        with_cudnn = f" with cuDNN {case.cudnn_present}" if case.cudnn_present else ""
        return "verify", (f"{case.label}: driver {case.driver} (CUDA {case.driver_cuda or '?'}) and nvcc {case.toolkit} already fit"
                          f"{with_cudnn}; verifying only, changing nothing")
    parts = [text for why, text in ((why_driver, f"driver R{branch}"), (why_toolkit, f"CUDA {cuda}"),
                                    (why_cudnn, "cuDNN {}".format(CUDNN_MAJOR.get(cuda.split(".")[0])))) if why]
    return "install", "{}: {}; installing {}".format(case.label, "; ".join(reasons), " + ".join(parts))


def decide(nvidia=None, lspci_text="", assume_gpu="", driver_pin="auto", cuda_pin="auto",
           cudnn=False, required=False):
    """Pick exactly one path, ``verify``, ``install`` or ``no_gpu``, and say why in one line.

    ``nvidia`` is ``ansible_facts.nvidia`` from mocha.cloud.nvidia_gpu_facts. Returns a dict:
    path, reason, error (None, or a message saying what is wrong and how to fix it), gpu
    (the GPU decided on), gpus, architecture, driver_branch, cuda_version (the target),
    install_driver, install_toolkit, install_cudnn, present (what was found).
    """
    nvidia = nvidia or {}
    result = _blank_result(nvidia)
    errors = _validate_pins(driver_pin, cuda_pin)
    if errors:
        return _fail(result, " ".join(errors))

    found = identify_gpus(nvidia, lspci_text, assume_gpu)
    result.update(gpus=found["gpus"], source=found["source"])
    if found["error"]:
        return _fail(result, found["error"])
    if not found["present"]:
        return _no_gpu(result, nvidia, required)

    case = _Case(nvidia, found["gpus"], driver_pin, cuda_pin, cudnn)
    result.update(gpu=case.gpu, architecture=architecture(case.cc))
    refusal = _first(REFUSALS, case)
    if refusal:
        return _fail(result, refusal)

    cuda, why_toolkit = _first(TOOLKIT_RULES, case)
    if cuda is None:
        return _fail(result, f"no CUDA release the role knows runs on {case.label} with driver R{case.pin_branch}; leave "
                             "cuda_driver_branch auto.")
    why_driver = _first(DRIVER_RULES, case, cuda)
    branch = (case.pin_branch or _branch_for(cuda, case.gpus, case.rec[0])) if why_driver else case.present_branch
    if why_driver and branch is None:
        return _fail(result, f"no driver branch the role knows supports both CUDA {cuda} and {case.label}; pin "
                             "cuda_toolkit_version lower.")
    if branch in DRIVER_BRANCHES and cuda_tuple(cuda) > cuda_tuple(DRIVER_BRANCHES[branch]["cuda"]):
        limit = DRIVER_BRANCHES[branch]["cuda"]
        return _fail(result, f"CUDA {cuda} needs a newer driver than R{branch} (CUDA {limit} at most); pin "
                             f"cuda_toolkit_version {limit} or lower, or leave cuda_driver_branch auto.")

    why_cudnn = _cudnn_to_install(case, cuda)
    path, reason = _reason(case, branch, cuda, why_driver, why_toolkit, why_cudnn)
    result.update(path=path, reason=reason, driver_branch=branch, cuda_version=cuda, install_driver=bool(why_driver),
                  install_toolkit=bool(why_toolkit), install_cudnn=bool(why_cudnn))
    return result


def _newest_cuda_for(branch, gpus):
    limit = cuda_tuple(DRIVER_BRANCHES[branch]["cuda"])
    for cuda in sorted(CUDA_RELEASES, key=cuda_tuple, reverse=True):
        if cuda_tuple(cuda) <= limit and all(cuda_supports(cuda, g["compute_capability"]) for g in gpus):
            return cuda
    return None


def _branch_for(cuda, gpus, preferred):
    """The preferred branch when it serves CUDA and every GPU, else the oldest known branch that does."""
    def ok(branch):
        return cuda_tuple(DRIVER_BRANCHES[branch]["cuda"]) >= cuda_tuple(cuda) and all(
            branch_supports(branch, g["compute_capability"]) for g in gpus)
    if preferred in DRIVER_BRANCHES and ok(preferred):
        return preferred
    for branch in sorted(DRIVER_BRANCHES, key=int):
        if ok(branch):
            return branch
    return None


# ---------------------------------------------------------------------------------------------
# Kernel headers that follow kernel upgrades (DKMS)
# ---------------------------------------------------------------------------------------------
KERNEL_VERSION_IN_NAME = re.compile(r"\d+\.\d+(\.\d+)?-\d+")


def headers_metapackages(lines):
    """The headers metapackages that follow the kernel metapackages installed (``dpkg-query -W -f='${Package}
    ${db:Status-Status}\\n' 'linux-image-*'`` lines): linux-image-aws -> linux-headers-aws, linux-image-generic-hwe-24.04
    -> linux-headers-generic-hwe-24.04, Debian's linux-image-cloud-amd64 -> linux-headers-cloud-amd64.

    A kernel upgrade (unattended-upgrades installs one from the security pocket) moves the image metapackage to a new
    kernel; with the twin headers metapackage installed, that kernel's headers come with it, and DKMS's kernel and
    headers hooks build the NVIDIA module for it before any reboot. Versioned packages (linux-image-6.8.0-1015-aws),
    unsigned images and linux-image-extra-* (no headers twin) are not metapackages of this kind.
    """
    out = []
    for line in lines or []:
        fields = str(line).split()
        if len(fields) != 2 or fields[1] != "installed" or not fields[0].startswith("linux-image-"):
            continue
        flavour = fields[0][len("linux-image-"):]
        if (not flavour or KERNEL_VERSION_IN_NAME.search(flavour) or flavour[0].isdigit()
                or flavour.startswith(("unsigned-", "extra-", "uc-"))):
            continue
        name = "linux-headers-" + flavour
        if name not in out:
            out.append(name)
    return out
