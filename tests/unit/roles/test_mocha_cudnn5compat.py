"""The cuDNN v5 compatibility library (roles/mocha/files/cudnn5compat): build, exports, logic.

The library and its harness are compiled with gcc against cuDNN and CUDA headers taken
from PyPI wheels (nvidia-cudnn-cu13, nvidia-cuda-runtime, nvidia-cuda-crt), downloaded
once with ``pip download --no-deps`` into ~/.cache/mocha-cloud/cuda-headers (only the
include/ directories are kept, about 6 MB).  Set MOCHA_CUDNN_INCLUDE and MOCHA_CUDA_INCLUDE
to use other headers.  The GPU replay is skipped, with the harness's message, where there
is no GPU; scripts/gpu-check-cudnn runs it on a GPU machine.
"""

import ctypes
import os
import shutil
import subprocess
import sys
import tempfile
import zipfile
from pathlib import Path

import pytest
from conftest import REPO as ROOT

SRC = ROOT / "roles" / "mocha" / "files" / "cudnn5compat"
SYMBOLS = SRC / "mocha-cudnn-symbols.txt"
MOCHA_GIT_DIR = Path(os.environ.get("MOCHA_GIT_DIR", "/work/.mirror/pluskid+Mocha.jl/repo"))

# Header wheels: cuDNN 9 for CUDA 13 (what the lent GPU box runs), CUDA 13 runtime headers
# (cuda.h, cuda_runtime_api.h) and the crt/ headers those include.
WHEELS = ("nvidia-cudnn-cu13==9.28.1.4", "nvidia-cuda-runtime==13.5.37", "nvidia-cuda-crt==13.5.37")
CACHE = Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache")) / "mocha-cloud" / "cuda-headers"

# v5 names Mocha calls that no longer exist (or changed) in cuDNN 8/9: the adapted ones.
ADAPTED = {
    "cudnnSetConvolution2dDescriptor", "cudnnGetConvolutionForwardAlgorithm", "cudnnTransformTensor4d",
    "cudnnGetFilterDescriptor", "cudnnSetConvolutionDescriptorEx", "cudnnSetTensor4d",
    "cudnnActivationForward", "cudnnActivationBackward",
}


def read_symbols():
    names = []
    for line in SYMBOLS.read_text().splitlines():
        if line and not line.startswith("#"):
            names.append(line.split("\t")[0])
    return names


def fetch_headers():
    """Return (cudnn_include, cuda_include) from the wheel cache, downloading once."""
    key = "-".join(w.replace("==", "-") for w in WHEELS)
    dest = CACHE / key
    inc = dest / "include"
    if (inc / "cudnn.h").is_file() and (inc / "cuda_runtime_api.h").is_file():
        return inc, inc
    with tempfile.TemporaryDirectory() as tmp:
        proc = subprocess.run(
            [sys.executable, "-m", "pip", "download", "--no-deps", "--only-binary=:all:",
             "--quiet", "-d", tmp, *WHEELS],
            capture_output=True, text=True, check=False)
        if proc.returncode != 0:
            return None, "pip download of {} failed: {}".format(" ".join(WHEELS), proc.stderr.strip()[-500:])
        partial = dest.with_name(dest.name + ".partial")
        shutil.rmtree(partial, ignore_errors=True)
        for wheel in Path(tmp).glob("*.whl"):
            with zipfile.ZipFile(wheel) as archive:
                for info in archive.infolist():
                    parts = info.filename.split("/")
                    if "include" not in parts or info.is_dir():
                        continue
                    rel = Path(*parts[parts.index("include") + 1:])
                    target = partial / "include" / rel
                    target.parent.mkdir(parents=True, exist_ok=True)
                    target.write_bytes(archive.read(info))
        shutil.rmtree(dest, ignore_errors=True)
        partial.rename(dest)
    return inc, inc


@pytest.fixture(scope="session")
def headers():
    cudnn_inc = os.environ.get("MOCHA_CUDNN_INCLUDE")
    cuda_inc = os.environ.get("MOCHA_CUDA_INCLUDE")
    if cudnn_inc and cuda_inc:
        return Path(cudnn_inc), Path(cuda_inc)
    if not shutil.which("gcc") or not shutil.which("make"):
        pytest.skip("gcc and make are needed to build the cuDNN compatibility library")
    cudnn, cuda = fetch_headers()
    if cudnn is None:
        for candidate in (Path("/usr/include"), Path("/usr/local/cuda/include")):
            if (candidate / "cudnn.h").is_file() and Path("/usr/local/cuda/include/cuda.h").is_file():
                return candidate, Path("/usr/local/cuda/include")
        pytest.skip(f"no cuDNN headers: {cuda}, and none installed on this machine")
    return cudnn, cuda


@pytest.fixture(scope="session")
def build(headers, tmp_path_factory):
    cudnn_inc, cuda_inc = headers
    out = tmp_path_factory.mktemp("cudnn5compat")
    for name in ("Makefile", "cudnn5compat.c", "harness.c", "mocha_v5.h", "mocha-cudnn-symbols.txt"):
        shutil.copy(SRC / name, out / name)
    proc = subprocess.run(
        ["make", "-C", str(out), f"CUDNN_INCLUDE={cudnn_inc}", f"CUDA_INCLUDE={cuda_inc}",
         "CFLAGS=-O2 -Werror"],
        capture_output=True, text=True, check=False)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    return out


def run_harness(build, *args, env=None):
    full_env = dict(os.environ)
    full_env.pop("CUDNN5COMPAT_TRACE", None)
    full_env.update(env or {})
    return subprocess.run([str(build / "cudnn5compat-harness"), "--lib", str(build / "libcudnn.so"), *args],
                          capture_output=True, text=True, check=False, env=full_env, timeout=300)


def test_symbol_list_is_derived_from_mocha():
    if not (MOCHA_GIT_DIR / "HEAD").exists():
        pytest.skip(f"no fetched copy of Mocha.jl at {MOCHA_GIT_DIR} (set MOCHA_GIT_DIR)")
    proc = subprocess.run([str(ROOT / "scripts" / "derive-cudnn-symbols"), "--git-dir", str(MOCHA_GIT_DIR),
                           "--check"], capture_output=True, text=True, check=False)
    assert proc.returncode == 0, proc.stdout + proc.stderr


def test_symbol_list_names_what_mocha_calls():
    names = read_symbols()
    assert len(names) == len(set(names)) == 35
    assert ADAPTED <= set(names)
    assert all(n.startswith("cudnn") for n in names)


def test_derive_parses_multiline_ccall(tmp_path):
    src = tmp_path / "src" / "cuda"
    src.mkdir(parents=True)
    (src / "x.jl").write_text(
        "@cudnncall(:cudnnFoo, (Handle,  # the handle\n   Cint,\n Ptr{Void}),\n h, 1, p)\n"
        "@cudnncall(:cudnnBar, (Ptr{Handle},), h)\n")
    out = tmp_path / "list.txt"
    proc = subprocess.run([str(ROOT / "scripts" / "derive-cudnn-symbols"), "--src", str(tmp_path), "-o", str(out)],
                          capture_output=True, text=True, check=False)
    assert proc.returncode == 0, proc.stderr
    rows = [line.split("\t") for line in out.read_text().splitlines() if not line.startswith("#")]
    assert rows == [["cudnnBar", "(Ptr{Handle},)", "src/cuda/x.jl"],
                    ["cudnnFoo", "(Handle, Cint, Ptr{Void})", "src/cuda/x.jl"]]


def test_library_exports_every_symbol_mocha_calls(build):
    nm = subprocess.run(["nm", "-D", "--defined-only", str(build / "libcudnn5compat.so")],
                        capture_output=True, text=True, check=True).stdout
    exported = {line.split()[-1] for line in nm.splitlines() if line.strip()}
    missing = set(read_symbols()) - exported
    assert not missing, f"not exported: {sorted(missing)}"
    # nothing else under a cuDNN name: the library must not shadow entry points it does not adapt
    extra = {s for s in exported if s.startswith("cudnn") and not s.startswith("cudnn5compat_")}
    assert extra - set(read_symbols()) == {"cudnnGetVersion", "cudnnGetErrorString"}
    assert (build / "libcudnn.so").resolve() == (build / "libcudnn5compat.so").resolve()


def test_no_link_time_dependency_on_cuda_libraries(build):
    dynamic = subprocess.run(["readelf", "-d", str(build / "libcudnn5compat.so")],
                             capture_output=True, text=True, check=True).stdout
    needed = [line for line in dynamic.splitlines() if "(NEEDED)" in line]
    assert needed, dynamic
    assert not [line for line in needed if "cudnn" in line or "cuda" in line or "cublas" in line], needed
    assert "libcudnn5compat.so" in dynamic  # SONAME differs from the real libcudnn.so.N


def test_harness_checks_symbols(build):
    proc = run_harness(build, "--symbols", str(SYMBOLS))
    assert proc.returncode == 0, proc.stdout
    assert "35 of 35 symbols Mocha calls are exported" in proc.stdout


def test_enum_table_compares_v5_with_installed_headers(build):
    proc = run_harness(build, "--enums")
    assert proc.returncode == 0, proc.stdout
    rows = {}
    for line in proc.stdout.splitlines():
        parts = line.split()
        if len(parts) >= 4 and parts[0].startswith("cudnn") and parts[2].lstrip("-").isdigit():
            rows[parts[1]] = (int(parts[2]), int(parts[3]), line.endswith("translated"))
    assert rows["CUDNN_DATA_FLOAT"] == (0, 0, False)
    assert rows["CUDNN_POOLING_AVERAGE_COUNT_INCLUDE_PADDING"] == (1, 1, False)
    assert rows["CUDNN_CONVOLUTION_FWD_ALGO_FFT"] == (4, 4, False)
    # cuDNN 9 renumbered the status codes: 3 (v5) is 2000 now, and is translated back
    assert rows["CUDNN_STATUS_BAD_PARAM"] == (3, 2000, True)
    assert rows["CUDNN_STATUS_NOT_SUPPORTED"] == (9, 3000, True)
    assert "headers: cuDNN 9." in proc.stdout


@pytest.fixture()
def lib(build):
    return ctypes.CDLL(str(build / "libcudnn5compat.so"))


@pytest.mark.parametrize(("status", "major", "v5"), [
    (0, 9, 0), (1001, 9, 1), (2000, 9, 3), (2002, 9, 3), (2001, 9, 5), (3000, 9, 9), (3007, 9, 6),
    (4000, 9, 4), (4003, 9, 2), (4006, 9, 7), (5000, 9, 8), (5003, 9, 8), (1005, 9, 10),
    (3, 8, 3), (9, 8, 9), (11, 8, 9), (14, 8, 1), (3, 7, 3),
])
def test_status_codes_translated_to_v5(lib, status, major, v5):
    assert lib.cudnn5compat_status_to_v5(status, major) == v5


@pytest.mark.parametrize(("preference", "limit", "ok", "memory", "expected"), [
    (1, 0, [1, 1, 1], [4096, 0, 64], 0),          # PREFER_FASTEST: fastest usable, any memory
    (1, 0, [0, 1, 1], [4096, 0, 64], 1),          # ... skipping unusable results
    (0, 0, [1, 1, 1], [4096, 64, 0], 2),          # NO_WORKSPACE: first needing none
    (2, 100, [1, 1, 1], [4096, 64, 0], 1),        # SPECIFY_WORKSPACE_LIMIT: first within the limit
    (2, 10, [1, 1, 0], [4096, 64, 0], -1),        # nothing fits
])
def test_forward_algorithm_choice_honours_preference(lib, preference, limit, ok, memory, expected):
    n = len(ok)
    ok_arr = (ctypes.c_int * n)(*ok)
    mem_arr = (ctypes.c_size_t * n)(*memory)
    got = lib.cudnn5compat_select_algo(preference, ctypes.c_size_t(limit), n, ok_arr, mem_arr)
    assert got == expected


def test_fails_loudly_without_real_cudnn(build):
    code = ("import ctypes, sys; l = ctypes.CDLL(sys.argv[1]); h = ctypes.c_void_p();"
            "print(l.cudnnCreate(ctypes.byref(h)), l.cudnnSetConvolution2dDescriptor(None, 0, 0, 1, 1, 1, 1, 1))")
    env = dict(os.environ, CUDNN5COMPAT_REAL_LIB="/nonexistent/libcudnn.so.9")
    proc = subprocess.run([sys.executable, "-c", code, str(build / "libcudnn5compat.so")],
                          capture_output=True, text=True, check=False, env=env)
    assert proc.stdout.split() == ["1", "1"]  # CUDNN_STATUS_NOT_INITIALIZED, as v5 numbers it
    assert "cannot load the real cuDNN" in proc.stderr
    assert "CUDNN5COMPAT_REAL_LIB" in proc.stderr


def test_harness_replays_mocha_cifar10_on_gpu(build):
    """Runs the GPU replay where a GPU is present; skipped with the harness's reason otherwise."""
    proc = run_harness(build, env={"LD_LIBRARY_PATH": "{}:{}".format(build, os.environ.get("LD_LIBRARY_PATH", ""))})
    if proc.returncode == 77:
        reason = [line for line in proc.stdout.splitlines() if line.startswith("SKIP")]
        pytest.skip("GPU part of the cuDNN compat harness not run here: %s" % (reason or proc.stdout[-300:]))
    assert proc.returncode == 0, proc.stdout[-4000:] + proc.stderr[-2000:]
    assert "RESULT: PASS" in proc.stdout
