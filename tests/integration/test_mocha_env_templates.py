"""The cuDNN compat library goes first on the library path of Mocha's processes only, never system-wide."""

import json
import subprocess
import sys
from pathlib import Path

from conftest import REPO

PLAY = """
- hosts: localhost
  gather_facts: false
  tasks:
    - ansible.builtin.template:
        src: "{{ repo }}/roles/mocha/templates/{{ item.src }}"
        dest: "{{ out }}/{{ item.dest }}"
        mode: "0755"
      loop: [{src: mocha.sh.j2, dest: mocha.sh}, {src: mocha-julia.j2, dest: mocha-julia}]
"""


def render(tmp_path, backend, environment, compat_libdir=""):
    play = tmp_path / "play.yml"
    play.write_text(PLAY)
    fake_julia = tmp_path / "julia"
    fake_julia.write_text('#!/bin/sh\necho "LD=$LD_LIBRARY_PATH CUDA=$MOCHA_USE_CUDA ARGS=$*"\necho "PRELOAD=$LD_PRELOAD SSL=$SSL_CERT_FILE"\n')
    fake_julia.chmod(0o755)
    extra = {
        "repo": str(REPO), "out": str(tmp_path), "mocha_version": "v0.3.1", "mocha_backend": "auto", "mocha_backend_selected": backend,
        "mocha_backend_reason": "test", "mocha_environment": environment, "mocha_env_file": str(tmp_path / "mocha.sh"),
        "mocha_julia_wrapper": str(tmp_path / "mocha-julia"), "mocha_julia_binary": str(fake_julia),
        "mocha_cudnn_compat": {"libdir": compat_libdir}, "ansible_python_interpreter": sys.executable,
    }
    out = subprocess.run([str(Path(sys.executable).with_name("ansible-playbook")), "-i", "localhost,", "-c", "local",
                          str(play), "-e", json.dumps(extra)], capture_output=True, text=True, cwd=REPO)
    assert out.returncode == 0, out.stdout + out.stderr
    return (tmp_path / "mocha.sh").read_text(), tmp_path / "mocha-julia"


def test_gpu_with_compat_library_only_in_the_wrapper(tmp_path):
    env = {"MOCHA_USE_CUDA": "true", "MOCHA_USE_NATIVE_EXT": "false", "MOCHA_CUDA_DEVICE": "0",
           "JULIA_PKGDIR": "/opt/depot", "LD_LIBRARY_PATH": "/opt/compat/lib:/usr/local/cuda/lib64"}
    profile, wrapper = render(tmp_path, "gpu", env, "/opt/compat/lib")
    assert "LD_LIBRARY_PATH" not in profile  # nothing system-wide
    assert "export MOCHA_USE_CUDA=true" in profile
    assert "MOCHA_CUDNN_COMPAT_LIBDIR=/opt/compat/lib" in profile
    ran = subprocess.run([str(wrapper), "x.jl"], capture_output=True, text=True,
                         env={"PATH": "/usr/bin:/bin", "LD_LIBRARY_PATH": "/keep"}, check=True).stdout
    assert ran.splitlines()[0] == "LD=/opt/compat/lib:/usr/local/cuda/lib64:/keep CUDA=true ARGS=x.jl"


def test_cpu_backend_sets_no_library_path(tmp_path):
    env = {"MOCHA_USE_NATIVE_EXT": "true", "MOCHA_CUDA_DEVICE": "0", "JULIA_PKGDIR": "/opt/depot"}
    profile, wrapper = render(tmp_path, "cpu", env)
    assert "LD_LIBRARY_PATH" not in profile and "LD_LIBRARY_PATH" not in wrapper.read_text()
    assert "unset MOCHA_USE_CUDA" in profile
    # Mocha's test/runtests.jl tests the GPU when MOCHA_USE_CUDA merely exists: the wrapper drops one the caller has.
    ran = subprocess.run([str(wrapper), "x.jl"], capture_output=True, text=True,
                         env={"PATH": "/usr/bin:/bin", "MOCHA_USE_CUDA": "false"}, check=True).stdout
    assert ran.splitlines()[0] == "LD= CUDA= ARGS=x.jl"


def test_libstdcxx_preload_and_ca_store_reach_mocha_processes_only_through_the_wrapper(tmp_path):
    env = {"MOCHA_USE_CUDA": "false", "MOCHA_USE_NATIVE_EXT": "true", "MOCHA_CUDA_DEVICE": "0", "JULIA_PKGDIR": "/opt/depot",
           "LD_PRELOAD": "/lib/x86_64-linux-gnu/libstdc++.so.6", "SSL_CERT_FILE": "/etc/ssl/certs/ca-certificates.crt",
           "SSL_CERT_DIR": "/etc/ssl/certs"}
    profile, wrapper = render(tmp_path, "cpu", env)
    assert "LD_PRELOAD" not in profile.replace("libstdc++ preload", "")  # never for every login shell
    assert "export SSL_CERT_FILE=/etc/ssl/certs/ca-certificates.crt" in profile  # harmless, and Pkg by hand works
    ran = subprocess.run([str(wrapper)], capture_output=True, text=True,
                         env={"PATH": "/usr/bin:/bin", "LD_PRELOAD": "/keep.so"}, check=True).stdout.splitlines()
    assert ran[1] == "PRELOAD=/lib/x86_64-linux-gnu/libstdc++.so.6:/keep.so SSL=/etc/ssl/certs/ca-certificates.crt"
