"""cudnn5compat's adaptations checked against a FAKE cuDNN 9 (no GPU needed).

The fake is a small C library compiled by this test against the wheel's cudnn.h (so its
entry points have exactly the cuDNN 9 signatures).  It records what the compatibility
library passes to it and returns canned heuristic results and cuDNN 9 status codes.
The compatibility library is pointed at it with CUDNN5COMPAT_REAL_LIB.  Each case runs in
a fresh Python process because the library reads its environment once.
"""

import json
import os
import subprocess
import sys

import pytest
from ansible_collections.mocha.cloud.tests.unit.roles.test_mocha_cudnn5compat import build, headers  # noqa: F401  (session fixtures)

FAKE_C = r"""
#include <stdlib.h>
#include <string.h>
#include <cudnn.h>

/* FAKE cuDNN 9 for tests only. */
struct fake_tensor { cudnnDataType_t dt; int n, c, h, w; };
struct fake_conv { int ph, pw, u, v, dh, dw; cudnnConvolutionMode_t mode; cudnnDataType_t ct; cudnnMathType_t math; };

size_t cudnnGetVersion(void) { return 91400; }
const char *cudnnGetErrorString(cudnnStatus_t s) { return "fake"; }
cudnnStatus_t cudnnCreateTensorDescriptor(cudnnTensorDescriptor_t *d)
{ *d = (cudnnTensorDescriptor_t)calloc(1, sizeof(struct fake_tensor)); return CUDNN_STATUS_SUCCESS; }
cudnnStatus_t cudnnSetTensor4dDescriptor(cudnnTensorDescriptor_t d, cudnnTensorFormat_t f, cudnnDataType_t dt,
                                         int n, int c, int h, int w)
{
    if (n <= 0) return CUDNN_STATUS_BAD_PARAM_OUT_OF_BOUND;  /* 2005 */
    struct fake_tensor *t = (struct fake_tensor *)d;
    t->dt = dt; t->n = n; t->c = c; t->h = h; t->w = w;
    return CUDNN_STATUS_SUCCESS;
}
cudnnStatus_t cudnnGetTensor4dDescriptor(const cudnnTensorDescriptor_t d, cudnnDataType_t *dt, int *n, int *c,
                                         int *h, int *w, int *ns, int *cs, int *hs, int *ws)
{
    struct fake_tensor *t = (struct fake_tensor *)d;
    *dt = t->dt; *n = t->n; *c = t->c; *h = t->h; *w = t->w; *ns = *cs = *hs = *ws = 1;
    return CUDNN_STATUS_SUCCESS;
}
cudnnStatus_t cudnnCreateConvolutionDescriptor(cudnnConvolutionDescriptor_t *d)
{ *d = (cudnnConvolutionDescriptor_t)calloc(1, sizeof(struct fake_conv)); return CUDNN_STATUS_SUCCESS; }
cudnnStatus_t cudnnSetConvolution2dDescriptor(cudnnConvolutionDescriptor_t d, int ph, int pw, int u, int v, int dh,
                                              int dw, cudnnConvolutionMode_t mode, cudnnDataType_t ct)
{
    struct fake_conv *c = (struct fake_conv *)d;
    c->ph = ph; c->pw = pw; c->u = u; c->v = v; c->dh = dh; c->dw = dw; c->mode = mode; c->ct = ct;
    return CUDNN_STATUS_SUCCESS;
}
cudnnStatus_t cudnnGetConvolution2dDescriptor(const cudnnConvolutionDescriptor_t d, int *ph, int *pw, int *u, int *v,
                                              int *dh, int *dw, cudnnConvolutionMode_t *mode, cudnnDataType_t *ct)
{
    struct fake_conv *c = (struct fake_conv *)d;
    *ph = c->ph; *pw = c->pw; *u = c->u; *v = c->v; *dh = c->dh; *dw = c->dw; *mode = c->mode; *ct = c->ct;
    return CUDNN_STATUS_SUCCESS;
}
cudnnStatus_t cudnnSetConvolutionMathType(cudnnConvolutionDescriptor_t d, cudnnMathType_t m)
{ ((struct fake_conv *)d)->math = m; return CUDNN_STATUS_SUCCESS; }
cudnnStatus_t cudnnGetConvolutionMathType(cudnnConvolutionDescriptor_t d, cudnnMathType_t *m)
{ *m = ((struct fake_conv *)d)->math; return CUDNN_STATUS_SUCCESS; }

/* canned heuristics, fastest first */
static const struct { int algo; size_t mem; cudnnMathType_t math; } canned[] = {
    { CUDNN_CONVOLUTION_FWD_ALGO_IMPLICIT_PRECOMP_GEMM, 64, CUDNN_DEFAULT_MATH }, /* wrong math type */
    { CUDNN_CONVOLUTION_FWD_ALGO_WINOGRAD, 100, CUDNN_FMA_MATH },                /* beyond Mocha's range */
    { CUDNN_CONVOLUTION_FWD_ALGO_GEMM, 4096, CUDNN_FMA_MATH },
    { CUDNN_CONVOLUTION_FWD_ALGO_IMPLICIT_GEMM, 0, CUDNN_FMA_MATH },
};
cudnnStatus_t cudnnGetConvolutionForwardAlgorithm_v7(cudnnHandle_t h, const cudnnTensorDescriptor_t x,
        const cudnnFilterDescriptor_t w, const cudnnConvolutionDescriptor_t conv, const cudnnTensorDescriptor_t y,
        const int requested, int *returned, cudnnConvolutionFwdAlgoPerf_t *perf)
{
    int n = (int)(sizeof(canned) / sizeof(canned[0]));
    if (n > requested) n = requested;
    for (int i = 0; i < n; i++) {
        memset(&perf[i], 0, sizeof(perf[i]));
        perf[i].algo = (cudnnConvolutionFwdAlgo_t)canned[i].algo;
        perf[i].status = CUDNN_STATUS_SUCCESS;
        perf[i].memory = canned[i].mem;
        perf[i].mathType = canned[i].math;
    }
    *returned = n;
    return CUDNN_STATUS_SUCCESS;
}
cudnnStatus_t cudnnGetConvolutionForwardWorkspaceSize(cudnnHandle_t h, const cudnnTensorDescriptor_t x,
        const cudnnFilterDescriptor_t w, const cudnnConvolutionDescriptor_t conv, const cudnnTensorDescriptor_t y,
        cudnnConvolutionFwdAlgo_t algo, size_t *size)
{
    for (size_t i = 0; i < sizeof(canned) / sizeof(canned[0]); i++)
        if (canned[i].algo == (int)algo) { *size = canned[i].mem; return CUDNN_STATUS_SUCCESS; }
    return CUDNN_STATUS_NOT_SUPPORTED_SHAPE;
}

/* read back what the compatibility library left in a descriptor */
int fake_conv_state(cudnnConvolutionDescriptor_t d, int *out)
{
    struct fake_conv *c = (struct fake_conv *)d;
    out[0] = c->ph; out[1] = c->pw; out[2] = c->u; out[3] = c->v; out[4] = c->dh; out[5] = c->dw;
    out[6] = (int)c->mode; out[7] = (int)c->ct; out[8] = (int)c->math;
    return 0;
}
"""

# Runs in a child process: drives the compat library (v5 signatures) and prints JSON.
DRIVER = r"""
import ctypes, json, sys
compat = ctypes.CDLL(sys.argv[1])
fake = ctypes.CDLL(sys.argv[2])
vp = ctypes.c_void_p
out = {}
x = vp(); conv = vp()
out["create_tensor"] = compat.cudnnCreateTensorDescriptor(ctypes.byref(x))
out["bad_dtype"] = compat.cudnnSetTensor4dDescriptor(x, 0, 7, 1, 3, 8, 8)
out["cudnn9_status"] = compat.cudnnSetTensor4dDescriptor(x, 0, 0, 0, 3, 8, 8)
out["set_tensor"] = compat.cudnnSetTensor4dDescriptor(x, 0, int(sys.argv[3]), 2, 3, 8, 8)
out["create_conv"] = compat.cudnnCreateConvolutionDescriptor(ctypes.byref(conv))
out["set_conv"] = compat.cudnnSetConvolution2dDescriptor(conv, 1, 2, 3, 4, 1, 1, 1)
out["upscale"] = compat.cudnnSetConvolution2dDescriptor(conv, 1, 2, 3, 4, 2, 1, 1)
state = (ctypes.c_int * 9)()
fake.fake_conv_state(conv, state)
out["conv_after_set"] = list(state)
for name, pref, limit in (("fastest", 1, 0), ("no_workspace", 0, 0), ("limit_5000", 2, 5000), ("limit_50", 2, 50)):
    algo = ctypes.c_int64(0)
    st = compat.cudnnGetConvolutionForwardAlgorithm(None, x, None, conv, x, ctypes.c_int64(pref),
                                                     ctypes.c_size_t(limit), ctypes.byref(algo))
    out[name] = [st, algo.value]
out["bad_pref"] = compat.cudnnGetConvolutionForwardAlgorithm(None, x, None, conv, x, ctypes.c_int64(5),
                                                              ctypes.c_size_t(0), ctypes.byref(ctypes.c_int64(0)))
fake.fake_conv_state(conv, state)
out["conv_after_use"] = list(state)
dt = ctypes.c_int(-1); n = ctypes.c_int(); c = ctypes.c_int(); h = ctypes.c_int(); w = ctypes.c_int()
s = [ctypes.c_int() for _ in range(4)]
compat.cudnnGetTensor4dDescriptor(x, ctypes.byref(dt), ctypes.byref(n), ctypes.byref(c), ctypes.byref(h),
                                  ctypes.byref(w), *[ctypes.byref(v) for v in s])
out["tensor"] = [dt.value, n.value, c.value, h.value, w.value]
print(json.dumps(out))
"""


@pytest.fixture(scope="module")
def fake_cudnn(headers, tmp_path_factory):  # noqa: F811
    cudnn_inc, cuda_inc = headers
    out = tmp_path_factory.mktemp("fake-cudnn")
    src = out / "fake_cudnn.c"
    src.write_text(FAKE_C)
    lib = out / "libfakecudnn.so.9"
    proc = subprocess.run(["gcc", "-shared", "-fPIC", "-Wno-deprecated-declarations", f"-I{cudnn_inc}",
                           f"-I{cuda_inc}", "-o", str(lib), str(src)],
                          capture_output=True, text=True, check=False)
    assert proc.returncode == 0, proc.stderr
    return lib


def drive(build, fake_cudnn, dtype=0, **env):  # noqa: F811
    full_env = dict(os.environ, CUDNN5COMPAT_REAL_LIB=str(fake_cudnn), **env)
    proc = subprocess.run([sys.executable, "-c", DRIVER, str(build / "libcudnn5compat.so"), str(fake_cudnn),
                           str(dtype)], capture_output=True, text=True, check=False, env=full_env)
    assert proc.returncode == 0, proc.stderr
    return json.loads(proc.stdout), proc.stderr


def test_statuses_and_enum_checks(build, fake_cudnn):  # noqa: F811
    out, _ = drive(build, fake_cudnn)
    assert out["create_tensor"] == 0
    assert out["bad_dtype"] == 3        # 7 is no v5 data type: BAD_PARAM, fake never called
    assert out["cudnn9_status"] == 3    # fake returned 2005 (cuDNN 9 BAD_PARAM_OUT_OF_BOUND) -> v5 3
    assert out["set_tensor"] == 0
    assert out["tensor"] == [0, 2, 3, 8, 8]


def test_set_convolution_2d_descriptor_adds_compute_and_math_type(build, fake_cudnn):  # noqa: F811
    out, _ = drive(build, fake_cudnn)
    assert out["set_conv"] == 0
    assert out["upscale"] == 9          # v5 supports upscale 1 only: NOT_SUPPORTED, descriptor untouched
    # pad 1,2 stride 3,4, dilation 1,1, CROSS_CORRELATION, computeType FLOAT, math FMA (3)
    assert out["conv_after_set"] == [1, 2, 3, 4, 1, 1, 1, 0, 3]


def test_default_math_when_asked(build, fake_cudnn):  # noqa: F811
    out, _ = drive(build, fake_cudnn, CUDNN5COMPAT_MATH="default")
    assert out["conv_after_set"][8] == 0


def test_forward_algorithm_from_v7_results(build, fake_cudnn):  # noqa: F811
    out, _ = drive(build, fake_cudnn)
    # result 0 has the wrong math type, result 1 (WINOGRAD=6) is beyond Mocha's assert (<= FFT)
    assert out["fastest"] == [0, 2]         # GEMM, the fastest usable
    assert out["no_workspace"] == [0, 0]    # IMPLICIT_GEMM needs none
    assert out["limit_5000"] == [0, 2]
    assert out["limit_50"] == [0, 0]
    assert out["bad_pref"] == 3


def test_forward_algorithm_range_is_configurable(build, fake_cudnn):  # noqa: F811
    out, _ = drive(build, fake_cudnn, CUDNN5COMPAT_FWD_ALGO_MAX="7")
    assert out["fastest"] == [0, 6]
    assert out["limit_50"] == [0, 0]


def test_compute_type_follows_double_data(build, fake_cudnn):  # noqa: F811
    out, stderr = drive(build, fake_cudnn, dtype=1, CUDNN5COMPAT_TRACE="1")
    assert out["conv_after_set"][7] == 0    # FLOAT when set (v5 passes no type)
    assert out["conv_after_use"][7] == 1    # DOUBLE once used with DOUBLE data
    assert out["conv_after_use"][8] == 3    # math type kept
    assert "compute type set to DOUBLE" in stderr
    assert "real cuDNN" in stderr and "version 91400" in stderr
