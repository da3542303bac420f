# -*- coding: utf-8 -*-
# Copyright: (c) 2026, mocha-cloud contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The environment of Mocha's processes on each backend: a pure function behind the filter mocha.cloud.mocha_backend_env.

Mocha v0.3.1 reads two switches when it is loaded (src/config.jl): MOCHA_USE_CUDA and MOCHA_USE_NATIVE_EXT. Its
test/runtests.jl turns the GPU tests on when MOCHA_USE_CUDA merely exists (haskey), whatever its value, so the CPU
backend's processes never get the variable, not even as "false". The GPU backend gets it "true", the native
extension off, and the cuDNN 5 compat library first on its library path when that library passed its self-test.
"""


def backend_environment(common, compat_ld_path=""):
    """{'gpu': env, 'cpu': env}: COMMON (the depot, the device, the CA store, the libstdc++ preload) with each backend's
    switches on top; COMPAT_LD_PATH (empty: none) is the GPU backend's LD_LIBRARY_PATH."""
    base = {k: v for k, v in dict(common or {}).items() if k != "MOCHA_USE_CUDA"}
    gpu = dict(base, MOCHA_USE_CUDA="true", MOCHA_USE_NATIVE_EXT="false")
    if compat_ld_path:
        gpu["LD_LIBRARY_PATH"] = compat_ld_path
    return {"gpu": gpu, "cpu": dict(base, MOCHA_USE_NATIVE_EXT="true")}
