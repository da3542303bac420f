"""module_utils/mocha_env.py (behind the filter mocha.cloud.mocha_backend_env, which roles/mocha/tasks/backend.yml
uses): each backend's environment."""

from ansible_collections.mocha.cloud.plugins.filter.mocha_env import FilterModule
from ansible_collections.mocha.cloud.plugins.module_utils import mocha_env

COMMON = {"JULIA_PKGDIR": "/opt/depot", "MOCHA_CUDA_DEVICE": "0", "SSL_CERT_FILE": "/etc/ssl/certs/ca-certificates.crt"}


def test_the_cpu_backends_environment_has_no_mocha_use_cuda():
    """Mocha's test/runtests.jl turns the GPU tests on when MOCHA_USE_CUDA merely exists (haskey): the CPU backend's
    processes (Pkg.test, the training, anything started with mocha_environment) never see it, not even as "false"."""
    env = mocha_env.backend_environment(dict(COMMON, MOCHA_USE_CUDA="false"))
    assert env["cpu"] == dict(COMMON, MOCHA_USE_NATIVE_EXT="true")
    assert env["gpu"] == dict(COMMON, MOCHA_USE_CUDA="true", MOCHA_USE_NATIVE_EXT="false")


def test_the_compat_library_path_goes_to_the_gpu_backend_only():
    env = FilterModule().filters()["mocha_backend_env"](COMMON, "/opt/compat/lib:/usr/local/cuda/lib64")
    assert env["gpu"]["LD_LIBRARY_PATH"] == "/opt/compat/lib:/usr/local/cuda/lib64"
    assert "LD_LIBRARY_PATH" not in env["cpu"]
    assert "LD_LIBRARY_PATH" not in mocha_env.backend_environment(COMMON)["gpu"]
    assert COMMON == {"JULIA_PKGDIR": "/opt/depot", "MOCHA_CUDA_DEVICE": "0",
                      "SSL_CERT_FILE": "/etc/ssl/certs/ca-certificates.crt"}  # the input is left as it was
