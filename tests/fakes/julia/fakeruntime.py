"""FAKE Julia runtime checks, shared by the fake julia and its fake training (tests only; never ships).

What a real Julia process meets at run time, emulated from files, so that the tests fail where the real thing fails:

* TLS (Julia 0.6/0.7 libgit2): a clone over https verifies the server against SSL_CERT_DIR, else SSL_CERT_FILE, else
  the 2018 ``share/julia/cert.pem`` of Julia's own tree, which no longer verifies today's servers. Pkg.init() clones
  METADATA.jl over https, so it fails without SSL_CERT_FILE/SSL_CERT_DIR naming a store that exists.
* LibGit2 at start (Julia before 0.7): Base's LibGit2 module loads the trust store when Julia starts, SSL_CERT_DIR in
  preference to SSL_CERT_FILE; a certificate directory holding an entry that cannot be read (one dangling symlink is
  enough) aborts Julia before it runs anything: "error initializing LibGit2 module" (JuliaLang/julia#20439; fixed in
  0.7 by the LibGit2 0.26 update, #22614). ``julia --version`` answers before that.
* The C++ runtime: libjulia loads ``<prefix>/lib/julia/libstdc++.so.6`` (official binaries ship one) before the system's,
  unless a libstdc++ is in LD_PRELOAD. Loading a library that needs a newer GLIBCXX version than the loaded libstdc++
  provides fails with the dynamic loader's message. Versions are read from the files' bytes, as the loader does.
* CUDA: the number of devices the driver reports is FAKE_JULIA_CUDA_DEVICES (default 0), a stand-in for the driver.
"""

import os
import re
import subprocess
from pathlib import Path

HERE = os.path.dirname(os.path.realpath(__file__))
GLIBCXX_RE = re.compile(rb"GLIBCXX_(\d+)\.(\d+)(?:\.(\d+))?")
METADATA_URL = "https://github.com/JuliaLang/METADATA.jl"


class JuliaError(Exception):
    """A failure Julia would report as an ERROR."""


class JuliaStartError(Exception):
    """Julia aborting while it starts, before any code runs (printed as it is, exit code 1)."""


def _read(path):
    """The bytes of a file; none when it cannot be read."""
    try:
        return Path(path).read_bytes()
    except OSError:
        return b""


def glibcxx(path):
    """Newest GLIBCXX version a library names, as a tuple, or None."""
    found = {(int(a), int(b), int(c or 0)) for a, b, c in GLIBCXX_RE.findall(_read(path))}
    return max(found) if found else None


def vtext(v):
    return ".".join(str(x) for x in v)


def system_libstdcxx():
    try:
        out = subprocess.run(["ldconfig", "-p"], capture_output=True, text=True, check=False).stdout
    except OSError:
        out = ""
    for line in out.splitlines():
        m = re.match(r"^\s*libstdc\+\+\.so\.6\s+\(([^)]*)\)\s+=>\s+(\S+)", line)
        if m and "64" in m.group(1):
            return m.group(2)
    return ""


def bundled_libstdcxx(julia_home=HERE):
    return os.path.normpath(os.path.join(julia_home, "..", "lib", "julia", "libstdc++.so.6"))


def loaded_libstdcxx(julia_home=HERE):
    """The libstdc++ a Julia process of this tree has loaded: LD_PRELOAD's, else the bundled one, else the system's."""
    for entry in re.split(r"[\s:]+", os.environ.get("LD_PRELOAD", "")):
        if entry and os.path.basename(entry).startswith("libstdc++"):
            return entry
    bundled = bundled_libstdcxx(julia_home)
    return bundled if os.path.isfile(bundled) else system_libstdcxx()


def dlopen(lib, julia_home=HERE):
    """Load a library into this (fake) Julia process: fails like the dynamic loader when its GLIBCXX need is unmet."""
    if not os.path.isfile(lib):
        raise JuliaError(f'could not load library "{lib}"\n{lib}: cannot open shared object file: No such file or directory')
    need = glibcxx(lib)
    if need is None:
        return
    have_path = loaded_libstdcxx(julia_home)
    have = glibcxx(have_path) if have_path else None
    if have is None or need > have:
        raise JuliaError(f'could not load library "{lib}"\n{have_path or "libstdc++.so.6"}: version `GLIBCXX_{vtext(need)}\' '
                            f"not found (required by {lib})")


def find_in_library_path(prefix):
    """The first file named prefix* in LD_LIBRARY_PATH's directories (how dlopen("libcudnn") finds cuDNN)."""
    for d in filter(None, os.environ.get("LD_LIBRARY_PATH", "").split(":")):
        if os.path.isdir(d):
            for name in sorted(os.listdir(d)):
                if name.startswith(prefix) and ".so" in name:
                    return os.path.join(d, name)
    return ""


def libgit2_init(version):
    """Julia before 0.7 starting: its LibGit2 module loads SSL_CERT_DIR's certificates (when the variable is set) and
    aborts the process when one of them cannot be read, as mbedTLS's directory parser does for a dangling link."""
    if version >= (0, 7):
        return
    cert_dir = os.environ.get("SSL_CERT_DIR")
    if not cert_dir or not os.path.isdir(cert_dir):
        return
    for name in sorted(os.listdir(cert_dir)):
        path = os.path.join(cert_dir, name)
        if not os.path.exists(path) or not os.access(path, os.R_OK):  # a dangling link: stat() fails
            raise JuliaStartError('fatal: error thrown and no exception handler available.\n'
                                  'Base.InitError(mod=:LibGit2, error=ErrorException("error initializing LibGit2 module"))\n'
                                  f"(fake julia: SSL_CERT_DIR={cert_dir} holds {name}, which cannot be read)")


def verify_tls(url, version, julia_home=HERE):
    """A Julia before 1.0 reaching an https URL through libgit2: the trust store must be one that exists today."""
    if not url.startswith("https://") or version >= (1, 0):
        return
    store = os.environ.get("SSL_CERT_DIR") or os.environ.get("SSL_CERT_FILE") or ""
    if store and os.path.exists(store):
        return
    used = store or os.path.normpath(os.path.join(julia_home, "..", "share", "julia", "cert.pem"))
    raise JuliaError(f"GitError(Code:ECERTIFICATE, Class:SSL, The SSL certificate is invalid) while fetching {url} "
                        f"(libgit2 verified against {used}; set SSL_CERT_FILE or SSL_CERT_DIR to the system's store)")


def cuda_devices():
    try:
        return int(os.environ.get("FAKE_JULIA_CUDA_DEVICES", "0") or 0)
    except ValueError:
        return 0


def julia_version():
    """The fake's version tuple: FAKE_JULIA_VERSION, else fake-julia-version beside the fake."""
    text = os.environ.get("FAKE_JULIA_VERSION") or _read(os.path.join(HERE, "fake-julia-version")).decode().strip()
    m = re.match(r"^(\d+)\.(\d+)\.(\d+)", text or "")
    return tuple(int(x) for x in m.groups()) if m else (0, 0, 0)


def package_dir(name):
    """Where an installed package lives: $JULIA_PKGDIR/vX.Y/Name (0.6), else the newest $JULIA_DEPOT_PATH/packages/Name/*."""
    major, minor, _ = julia_version()
    if (major, minor) <= (0, 6):
        base = os.environ.get("JULIA_PKGDIR") or os.path.expanduser("~/.julia")
        path = os.path.join(base, f"v{major}.{minor}", name)
        return path if os.path.isdir(path) else ""
    depot = (os.environ.get("JULIA_DEPOT_PATH") or os.path.expanduser("~/.julia")).split(os.pathsep)[0]
    root = os.path.join(depot, "packages", name)
    slugs = sorted((os.path.join(root, s) for s in os.listdir(root)), key=os.path.getmtime) if os.path.isdir(root) else []
    return slugs[-1] if slugs else ""


def env_on(name):
    """A switch of Mocha's src/config.jl (parseEnvBool): on when the variable is set to anything but "false" (any case),
    so "", "0" and "no" are on too; off when it is not set."""
    return name in os.environ and os.environ[name].lower() != "false"


def using_mocha():
    """`using Mocha` with the environment's switches: the native extension is loaded when MOCHA_USE_NATIVE_EXT is on."""
    mocha = package_dir("Mocha")
    if not mocha:
        raise JuliaError("ArgumentError: Module Mocha not found in current path.\nRun `Pkg.add(\"Mocha\")` to install the Mocha package.")
    if env_on("MOCHA_USE_NATIVE_EXT"):
        dlopen(os.path.join(mocha, "deps", "libmochaext.so"))
    return mocha


def gpu_backend_init(mocha):
    """init(GPUBackend()): a CUDA device, cuDNN loaded into this process, then Mocha's compiled kernels."""
    if not env_on("MOCHA_USE_CUDA"):
        raise JuliaError("UndefVarError: GPUBackend not defined (MOCHA_USE_CUDA was not set when Mocha was loaded)")
    if cuda_devices() < 1:
        raise JuliaError("CUDA driver error: no CUDA-capable device is detected (CUDA_ERROR_NO_DEVICE, 100)")
    cudnn = find_in_library_path("libcudnn")
    if not cudnn:
        raise JuliaError('could not load library "libcudnn"\nlibcudnn: cannot open shared object file: No such file or directory')
    dlopen(cudnn)
    if not os.path.isfile(os.path.join(mocha, "src", "cuda", "kernels", "kernels.ptx")):
        raise JuliaError("Mocha CUDA kernels not found, see the documents of BACKEND on how to compile the kernels")
