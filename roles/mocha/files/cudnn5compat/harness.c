/*
 * cudnn5compat-harness: replays the cuDNN / cuBLAS calls of Mocha.jl 0.3.1's CIFAR-10
 * network through the compatibility library, with Mocha's v5 signatures (mocha_v5.h),
 * on small random tensors, and compares every output with a plain CPU reference.
 *
 * The network (examples/cifar10/cifar10.jl), batch N (default 4), input 3x32x32:
 *   conv1 5x5/32 pad 2 -> pool1 max 3x3/2 (+ReLU) -> [norm1 LRN] -> conv2 5x5/32 pad 2 (+ReLU)
 *   -> pool2 mean 3x3/2 -> [norm2 LRN] -> conv3 5x5/64 pad 2 (+ReLU) -> pool3 mean 3x3/2
 *   -> ip1 (cuBLAS sgemm, 1024 -> 10) -> softmax; then the backward pass.
 * Mocha computes LRN with its own kernels (not cuDNN), so it is not replayed here.  Mocha
 * applies ReLU with its own kernel too; the harness runs ReLU through the
 * cudnnActivationForward/Backward entry points Mocha declares, to cover them.
 * Pooled sizes follow Mocha (ceil), e.g. 32 -> 16, where cuDNN alone would give 15.
 *
 * Tolerance: |gpu - cpu| <= 1e-4 * max(1, max|cpu|) per output (FP32 results, double CPU
 * reference).  Any non-zero status or any value outside the tolerance is a failure.
 *
 * Usage: cudnn5compat-harness [--lib PATH] [-n N] [--seed S] [--require-gpu]
 *        cudnn5compat-harness --enums          print the enum table (no GPU needed)
 *        cudnn5compat-harness --info           print library and real cuDNN versions
 *        cudnn5compat-harness --symbols FILE   check every symbol in FILE is exported
 * Exit: 0 all passed, 1 a call failed or a value was off, 2 usage/loading error,
 *       77 skipped: no usable GPU (1 instead with --require-gpu).
 */
#define _GNU_SOURCE
#include <cuda.h>
#include <dlfcn.h>
#include <float.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mocha_v5.h"

#define SKIP_EXIT 77
#define TOL 1e-4

static int failures, checks, calls;
static const char *lib_path = "libcudnn.so";

/* ---------------------------------------------------------------- loading */
static void *load_first(const char *what, const char *env, const char **names, int n)
{
    const char *e = env ? getenv(env) : NULL;
    if (e && *e) {
        void *h = dlopen(e, RTLD_NOW | RTLD_LOCAL);
        if (!h)
            printf("cannot load %s %s: %s\n", what, e, dlerror());
        return h;
    }
    for (int i = 0; i < n; i++) {
        void *h = dlopen(names[i], RTLD_NOW | RTLD_LOCAL);
        if (h) {
            printf("loaded %s: %s\n", what, names[i]);
            return h;
        }
    }
    printf("cannot load %s (tried %s...): %s\n", what, names[0], dlerror());
    return NULL;
}

static void *need_sym(void *h, const char *lib, const char *name)
{
    void *p = dlsym(h, name);
    if (!p) {
        printf("FAIL: %s does not export %s\n", lib, name);
        failures++;
    }
    return p;
}

/* cuDNN entry points through the compatibility library, typed as Mocha declares them */
static struct {
    m_cudnnCreate_t Create;
    m_cudnnDestroy_t Destroy;
    m_cudnnSetStream_t SetStream;
    m_cudnnGetStream_t GetStream;
    m_cudnnCreateDesc_t CreateTensorDescriptor, CreateFilterDescriptor, CreateConvolutionDescriptor,
        CreatePoolingDescriptor;
    m_cudnnDestroyDesc_t DestroyTensorDescriptor, DestroyFilterDescriptor, DestroyConvolutionDescriptor,
        DestroyPoolingDescriptor;
    m_cudnnSetTensor4dDescriptor_t SetTensor4dDescriptor;
    m_cudnnSetTensor4dDescriptorEx_t SetTensor4dDescriptorEx;
    m_cudnnGetTensor4dDescriptor_t GetTensor4dDescriptor;
    m_cudnnTransformTensor4d_t TransformTensor4d;
    m_cudnnAddTensor_t AddTensor;
    m_cudnnSetTensor4d_t SetTensor4d;
    m_cudnnSetFilter4dDescriptor_t SetFilter4dDescriptor;
    m_cudnnGetFilterDescriptor_t GetFilterDescriptor;
    m_cudnnSetConvolution2dDescriptor_t SetConvolution2dDescriptor;
    m_cudnnSetConvolutionDescriptorEx_t SetConvolutionDescriptorEx;
    m_cudnnGetConvolutionForwardAlgorithm_t GetConvolutionForwardAlgorithm;
    m_cudnnGetConvolutionForwardWorkspaceSize_t GetConvolutionForwardWorkspaceSize;
    m_cudnnConvolutionForward_t ConvolutionForward;
    m_cudnnConvolutionBackwardBias_t ConvolutionBackwardBias;
    m_cudnnConvolutionBackwardFilter_t ConvolutionBackwardFilter;
    m_cudnnConvolutionBackwardData_t ConvolutionBackwardData;
    m_cudnnSoftmaxForward_t SoftmaxForward;
    m_cudnnSoftmaxBackward_t SoftmaxBackward;
    m_cudnnSetPooling2dDescriptor_t SetPooling2dDescriptor;
    m_cudnnPoolingForward_t PoolingForward;
    m_cudnnPoolingBackward_t PoolingBackward;
    m_cudnnActivationForward_t ActivationForward;
    m_cudnnActivationBackward_t ActivationBackward;
} dnn;

static struct {
    m_cublasCreate_v2_t Create;
    m_cublasDestroy_v2_t Destroy;
    m_cublasSgemm_v2_t Sgemm;
} blas;

static struct {
    m_cuInit_t Init;
    m_cuDeviceGetCount_t DeviceGetCount;
    m_cuDeviceGet_t DeviceGet;
    m_cuDeviceGetName_t DeviceGetName;
    m_cuCtxCreate_v2_t CtxCreate;
    m_cuCtxDestroy_v2_t CtxDestroy;
    m_cuCtxSynchronize_t CtxSynchronize;
    m_cuMemAlloc_v2_t MemAlloc;
    m_cuMemFree_v2_t MemFree;
    m_cuMemcpyHtoD_v2_t MemcpyHtoD;
    m_cuMemcpyDtoH_v2_t MemcpyDtoH;
    m_cuDriverGetVersion_t DriverGetVersion;
} drv;

static void *dnn_lib;

static void load_dnn(void)
{
#define D(field, name) dnn.field = (__typeof__(dnn.field))need_sym(dnn_lib, lib_path, name)
    D(Create, "cudnnCreate");
    D(Destroy, "cudnnDestroy");
    D(SetStream, "cudnnSetStream");
    D(GetStream, "cudnnGetStream");
    D(CreateTensorDescriptor, "cudnnCreateTensorDescriptor");
    D(CreateFilterDescriptor, "cudnnCreateFilterDescriptor");
    D(CreateConvolutionDescriptor, "cudnnCreateConvolutionDescriptor");
    D(CreatePoolingDescriptor, "cudnnCreatePoolingDescriptor");
    D(DestroyTensorDescriptor, "cudnnDestroyTensorDescriptor");
    D(DestroyFilterDescriptor, "cudnnDestroyFilterDescriptor");
    D(DestroyConvolutionDescriptor, "cudnnDestroyConvolutionDescriptor");
    D(DestroyPoolingDescriptor, "cudnnDestroyPoolingDescriptor");
    D(SetTensor4dDescriptor, "cudnnSetTensor4dDescriptor");
    D(SetTensor4dDescriptorEx, "cudnnSetTensor4dDescriptorEx");
    D(GetTensor4dDescriptor, "cudnnGetTensor4dDescriptor");
    D(TransformTensor4d, "cudnnTransformTensor4d");
    D(AddTensor, "cudnnAddTensor");
    D(SetTensor4d, "cudnnSetTensor4d");
    D(SetFilter4dDescriptor, "cudnnSetFilter4dDescriptor");
    D(GetFilterDescriptor, "cudnnGetFilterDescriptor");
    D(SetConvolution2dDescriptor, "cudnnSetConvolution2dDescriptor");
    D(SetConvolutionDescriptorEx, "cudnnSetConvolutionDescriptorEx");
    D(GetConvolutionForwardAlgorithm, "cudnnGetConvolutionForwardAlgorithm");
    D(GetConvolutionForwardWorkspaceSize, "cudnnGetConvolutionForwardWorkspaceSize");
    D(ConvolutionForward, "cudnnConvolutionForward");
    D(ConvolutionBackwardBias, "cudnnConvolutionBackwardBias");
    D(ConvolutionBackwardFilter, "cudnnConvolutionBackwardFilter");
    D(ConvolutionBackwardData, "cudnnConvolutionBackwardData");
    D(SoftmaxForward, "cudnnSoftmaxForward");
    D(SoftmaxBackward, "cudnnSoftmaxBackward");
    D(SetPooling2dDescriptor, "cudnnSetPooling2dDescriptor");
    D(PoolingForward, "cudnnPoolingForward");
    D(PoolingBackward, "cudnnPoolingBackward");
    D(ActivationForward, "cudnnActivationForward");
    D(ActivationBackward, "cudnnActivationBackward");
#undef D
}

/* ---------------------------------------------------------------- checking */
static int call(const char *text, int st)
{
    calls++;
    printf("  call %-78s -> %d%s\n", text, st, st ? "  FAIL" : "");
    if (st)
        failures++;
    return st;
}
#define CALL(fn, ...) call(#fn "(" #__VA_ARGS__ ")", fn(__VA_ARGS__))

static int compare(const char *layer, const float *gpu, const double *ref, size_t n)
{
    double err = 0, mref = 0;
    size_t bad = 0, worst = 0;
    for (size_t i = 0; i < n; i++) {
        double e = fabs((double)gpu[i] - ref[i]);
        if (!(e <= err)) { /* also catches NaN */
            err = isnan(e) ? INFINITY : e;
            worst = i;
        }
        if (fabs(ref[i]) > mref)
            mref = fabs(ref[i]);
    }
    double tol = TOL * (mref > 1 ? mref : 1);
    for (size_t i = 0; i < n; i++)
        if (!(fabs((double)gpu[i] - ref[i]) <= tol))
            bad++;
    checks++;
    int ok = bad == 0;
    printf("  check %-34s n=%-7zu max_abs_err=%.3e max_abs_ref=%.3e tol=%.1e %s", layer, n, err, mref, tol,
           ok ? "PASS" : "FAIL");
    if (!ok) {
        printf(" (%zu values off; worst at %zu: gpu %.6g cpu %.6g)", bad, worst, gpu[worst], ref[worst]);
        failures++;
    }
    printf("\n");
    return ok;
}

static void expect(const char *what, int ok)
{
    checks++;
    printf("  check %-34s %s\n", what, ok ? "PASS" : "FAIL");
    if (!ok)
        failures++;
}

/* ---------------------------------------------------------------- memory */
typedef struct {
    uint64_t p;
    size_t n;
} dbuf;

static dbuf dalloc(size_t n)
{
    dbuf b = { 0, n };
    char t[96];
    snprintf(t, sizeof t, "cuMemAlloc_v2(&ptr, %zu)", n * sizeof(float) + 16);
    if (call(t, drv.MemAlloc(&b.p, n * sizeof(float) + 16)))
        b.p = 0;
    return b;
}
static void up(dbuf b, const float *h) { drv.MemcpyHtoD(b.p, h, b.n * sizeof(float)); }
static float *down(dbuf b)
{
    float *h = calloc(b.n, sizeof(float));
    drv.CtxSynchronize();
    if (b.p && drv.MemcpyDtoH(h, b.p, b.n * sizeof(float)) != 0)
        printf("  cuMemcpyDtoH failed\n");
    return h;
}
static void *P(dbuf b) { return (void *)(uintptr_t)b.p; }

static uint64_t rng_state = 1234;
static float frand(void) /* uniform in [-1, 1) */
{
    rng_state = rng_state * 6364136223846793005ULL + 1442695040888963407ULL;
    return (float)((rng_state >> 40) / (double)(1ULL << 24)) * 2.0f - 1.0f;
}
static float *hrand(size_t n, float scale)
{
    float *h = malloc(n * sizeof(float));
    for (size_t i = 0; i < n; i++)
        h[i] = frand() * scale;
    return h;
}
static dbuf drand(size_t n, float scale, float **host)
{
    dbuf b = dalloc(n);
    float *h = hrand(n, scale);
    up(b, h);
    if (host)
        *host = h;
    else
        free(h);
    return b;
}
static double *dzeros(size_t n) { return calloc(n, sizeof(double)); }

/* ---------------------------------------------------------------- descriptors, as Mocha makes them */
static Handle dnn_h, blas_h;

static Desc tensor_desc(int n, int c, int h, int w) /* create_tensor4d_descriptor(dtype, (w,h,c,n)) */
{
    Desc d = NULL;
    CALL(dnn.CreateTensorDescriptor, &d);
    CALL(dnn.SetTensor4dDescriptor, d, M_TENSOR_NCHW, M_DATA_FLOAT, n, c, h, w);
    return d;
}
static Desc tensor_desc_ex(int n, int c, int h, int w, int ctot) /* with strides, as the conv layer does */
{
    Desc d = NULL;
    CALL(dnn.CreateTensorDescriptor, &d);
    CALL(dnn.SetTensor4dDescriptorEx, d, M_DATA_FLOAT, n, c, h, w, w * h * ctot, w * h, w, 1);
    return d;
}

/* ---------------------------------------------------------------- CPU references */
#define IX(n, c, h, w, C, H, W) ((((size_t)(n) * (C) + (c)) * (H) + (h)) * (W) + (w))

static void ref_conv_fwd(const float *x, const float *wt, const float *b, double *y, int N, int C, int H, int W,
                         int K, int R, int pad, int OH, int OW)
{
    for (int n = 0; n < N; n++)
        for (int k = 0; k < K; k++)
            for (int oh = 0; oh < OH; oh++)
                for (int ow = 0; ow < OW; ow++) {
                    double s = b ? b[k] : 0;
                    for (int c = 0; c < C; c++)
                        for (int i = 0; i < R; i++)
                            for (int j = 0; j < R; j++) {
                                int ih = oh - pad + i, iw = ow - pad + j;
                                if (ih < 0 || ih >= H || iw < 0 || iw >= W)
                                    continue;
                                s += (double)x[IX(n, c, ih, iw, C, H, W)] * wt[IX(k, c, i, j, C, R, R)];
                            }
                    y[IX(n, k, oh, ow, K, OH, OW)] = s;
                }
}

/* backward: dx (data), dw (filter), db (bias) from dy */
static void ref_conv_bwd(const float *x, const float *wt, const float *dy, double *dx, double *dw, double *db, int N,
                         int C, int H, int W, int K, int R, int pad, int OH, int OW)
{
    for (int n = 0; n < N; n++)
        for (int k = 0; k < K; k++)
            for (int oh = 0; oh < OH; oh++)
                for (int ow = 0; ow < OW; ow++) {
                    double g = dy[IX(n, k, oh, ow, K, OH, OW)];
                    db[k] += g;
                    for (int c = 0; c < C; c++)
                        for (int i = 0; i < R; i++)
                            for (int j = 0; j < R; j++) {
                                int ih = oh - pad + i, iw = ow - pad + j;
                                if (ih < 0 || ih >= H || iw < 0 || iw >= W)
                                    continue;
                                dx[IX(n, c, ih, iw, C, H, W)] += g * wt[IX(k, c, i, j, C, R, R)];
                                dw[IX(k, c, i, j, C, R, R)] += g * x[IX(n, c, ih, iw, C, H, W)];
                            }
                }
}

/* Mocha's CPU pooling (deps/pooling.cpp semantics): windows clipped to the input,
 * max takes the first maximum, mean divides by the full kernel size. */
static void ref_pool(int mode, const float *x, const float *dy, double *y, double *dx, int N, int C, int H, int W,
                     int k, int s, int OH, int OW)
{
    for (int n = 0; n < N; n++)
        for (int c = 0; c < C; c++)
            for (int oh = 0; oh < OH; oh++)
                for (int ow = 0; ow < OW; ow++) {
                    int h0 = oh * s, w0 = ow * s;
                    int h1 = h0 + k < H ? h0 + k : H, w1 = w0 + k < W ? w0 + k : W;
                    size_t o = IX(n, c, oh, ow, C, OH, OW);
                    if (mode == M_POOLING_MAX) {
                        double m = -FLT_MAX;
                        size_t mi = 0;
                        for (int h = h0; h < h1; h++)
                            for (int w = w0; w < w1; w++)
                                if (x[IX(n, c, h, w, C, H, W)] > m) {
                                    m = x[IX(n, c, h, w, C, H, W)];
                                    mi = IX(n, c, h, w, C, H, W);
                                }
                        if (y)
                            y[o] = m;
                        if (dx)
                            dx[mi] += dy[o];
                    } else {
                        double sum = 0;
                        for (int h = h0; h < h1; h++)
                            for (int w = w0; w < w1; w++) {
                                sum += x[IX(n, c, h, w, C, H, W)];
                                if (dx)
                                    dx[IX(n, c, h, w, C, H, W)] += dy[o] / (k * k);
                            }
                        if (y)
                            y[o] = sum / (k * k);
                    }
                }
}

static int pooled(int size, int k, int s) /* Mocha: ceil, then drop a window starting past the input */
{
    int p = (int)ceil((double)(size - k) / s) + 1;
    if ((p - 1) * s >= size)
        p--;
    return p;
}

/* ---------------------------------------------------------------- layers */
struct conv {
    const char *name;
    int N, C, H, W, K, R, pad, OH, OW;
    Desc xd, yd, fd, bd, cd;
    dbuf w, b, y, ws, dw, db, dx;
    float *hw, *hb;
    size_t ws_size;
    int64_t algo;
};

static void conv_setup(struct conv *L)
{
    L->OH = L->H + 2 * L->pad - L->R + 1;
    L->OW = L->W + 2 * L->pad - L->R + 1;
    printf("[%s] setup: %dx%dx%dx%d -> %dx%dx%dx%d, kernel %d pad %d\n", L->name, L->N, L->C, L->H, L->W, L->N, L->K,
           L->OH, L->OW, L->R, L->pad);
    CALL(dnn.CreateFilterDescriptor, &L->fd);
    CALL(dnn.SetFilter4dDescriptor, L->fd, M_DATA_FLOAT, M_TENSOR_NCHW, L->K, L->C, L->R, L->R);
    L->bd = tensor_desc(1, L->K, 1, 1);
    L->xd = tensor_desc_ex(L->N, L->C, L->H, L->W, L->C);
    L->yd = tensor_desc_ex(L->N, L->K, L->OH, L->OW, L->K);
    CALL(dnn.CreateConvolutionDescriptor, &L->cd);
    CALL(dnn.SetConvolution2dDescriptor, L->cd, L->pad, L->pad, 1, 1, 1, 1, M_CROSS_CORRELATION);

    /* The preference semantics, checked before Mocha's own call.  The algorithm is
     * returned through Ptr{Int} (64 bits) that Mocha zero-initialises (Int[0]); cuDNN 5
     * writes a 32-bit enum into it, so the outputs start at 0 here too. */
    int64_t a = 0;
    size_t sz = 1;
    CALL(dnn.GetConvolutionForwardAlgorithm, dnn_h, L->xd, L->fd, L->cd, L->yd, M_FWD_NO_WORKSPACE, 0, &a);
    CALL(dnn.GetConvolutionForwardWorkspaceSize, dnn_h, L->xd, L->fd, L->cd, L->yd, a, &sz);
    printf("  NO_WORKSPACE -> algo %lld, workspace %zu\n", (long long)a, sz);
    expect("NO_WORKSPACE needs no workspace", a >= 0 && a <= 4 && sz == 0);
    a = 0;
    CALL(dnn.GetConvolutionForwardAlgorithm, dnn_h, L->xd, L->fd, L->cd, L->yd, M_FWD_SPECIFY_WORKSPACE_LIMIT,
         (size_t)1 << 20, &a);
    CALL(dnn.GetConvolutionForwardWorkspaceSize, dnn_h, L->xd, L->fd, L->cd, L->yd, a, &sz);
    printf("  SPECIFY_WORKSPACE_LIMIT 1 MiB -> algo %lld, workspace %zu\n", (long long)a, sz);
    expect("SPECIFY_WORKSPACE_LIMIT honoured", a >= 0 && a <= 4 && sz <= ((size_t)1 << 20));

    /* Mocha: PREFER_FASTEST with limit 0, then allocate what that algorithm needs */
    L->algo = 0;
    CALL(dnn.GetConvolutionForwardAlgorithm, dnn_h, L->xd, L->fd, L->cd, L->yd, M_FWD_PREFER_FASTEST, 0, &L->algo);
    CALL(dnn.GetConvolutionForwardWorkspaceSize, dnn_h, L->xd, L->fd, L->cd, L->yd, L->algo, &L->ws_size);
    printf("  PREFER_FASTEST -> algo %lld, workspace %zu bytes\n", (long long)L->algo, L->ws_size);
    expect("forward algorithm within Mocha's range 0..4", L->algo >= 0 && L->algo <= 4);
    L->ws.p = 0;
    if (L->ws_size)
        L->ws = dalloc(L->ws_size / sizeof(float) + 1);
    L->w = drand((size_t)L->K * L->C * L->R * L->R, 0.1f, &L->hw);
    L->b = drand(L->K, 0.5f, &L->hb);
    L->y = dalloc((size_t)L->N * L->K * L->OH * L->OW);
    L->dw = dalloc((size_t)L->K * L->C * L->R * L->R);
    L->db = dalloc(L->K);
    L->dx = dalloc((size_t)L->N * L->C * L->H * L->W);
}

static void conv_forward(struct conv *L, dbuf x)
{
    float one = 1, zero = 0;
    printf("[%s] forward\n", L->name);
    CALL(dnn.ConvolutionForward, dnn_h, &one, L->xd, P(x), L->fd, P(L->w), L->cd, (int)L->algo, P(L->ws), L->ws_size,
         &zero, L->yd, P(L->y));
    int dt = -1, n, c, h, w, ns, cs, hs, ws;
    CALL(dnn.GetTensor4dDescriptor, L->bd, &dt, &n, &c, &h, &w, &ns, &cs, &hs, &ws);
    expect("bias descriptor reads back FLOAT 1xKx1x1", dt == M_DATA_FLOAT && n == 1 && c == L->K && h == 1 && w == 1);
    CALL(dnn.AddTensor, dnn_h, &one, L->bd, P(L->b), &one, L->yd, P(L->y));
    float *hx = down(x), *hy = down(L->y);
    size_t ny = (size_t)L->N * L->K * L->OH * L->OW;
    double *ref = dzeros(ny);
    ref_conv_fwd(hx, L->hw, L->hb, ref, L->N, L->C, L->H, L->W, L->K, L->R, L->pad, L->OH, L->OW);
    char t[64];
    snprintf(t, sizeof t, "%s forward (conv + bias)", L->name);
    compare(t, hy, ref, ny);
    free(hx);
    free(hy);
    free(ref);
}

static void conv_backward(struct conv *L, dbuf x, dbuf dy)
{
    float one = 1, zero = 0;
    printf("[%s] backward\n", L->name);
    CALL(dnn.SetTensor4d, dnn_h, L->bd, P(L->db), &zero); /* erase!(∇bias) */
    {
        float *z = calloc(L->dw.n, sizeof(float));
        up(L->dw, z);
        free(z);
    }
    CALL(dnn.ConvolutionBackwardBias, dnn_h, &one, L->yd, P(dy), &one, L->bd, P(L->db));
    CALL(dnn.ConvolutionBackwardFilter, dnn_h, &one, L->xd, P(x), L->yd, P(dy), L->cd, 0, NULL, 0, &one, L->fd,
         P(L->dw));
    CALL(dnn.ConvolutionBackwardData, dnn_h, &one, L->fd, P(L->w), L->yd, P(dy), L->cd, 0, NULL, 0, &zero, L->xd,
         P(L->dx));
    float *hx = down(x), *hdy = down(dy), *hdx = down(L->dx), *hdw = down(L->dw), *hdb = down(L->db);
    double *rdx = dzeros(L->dx.n), *rdw = dzeros(L->dw.n), *rdb = dzeros(L->db.n);
    ref_conv_bwd(hx, L->hw, hdy, rdx, rdw, rdb, L->N, L->C, L->H, L->W, L->K, L->R, L->pad, L->OH, L->OW);
    char t[64];
    snprintf(t, sizeof t, "%s backward bias", L->name);
    compare(t, hdb, rdb, L->db.n);
    snprintf(t, sizeof t, "%s backward filter", L->name);
    compare(t, hdw, rdw, L->dw.n);
    snprintf(t, sizeof t, "%s backward data", L->name);
    compare(t, hdx, rdx, L->dx.n);
    free(hx), free(hdy), free(hdx), free(hdw), free(hdb), free(rdx), free(rdw), free(rdb);
}

struct pool {
    const char *name;
    int mode, N, C, H, W, k, s, OH, OW;
    Desc pd, xd, yd;
    dbuf y, dx;
};

static void pool_setup(struct pool *L)
{
    L->OH = pooled(L->H, L->k, L->s);
    L->OW = pooled(L->W, L->k, L->s);
    printf("[%s] setup: %s %dx%d stride %d, %dx%d -> %dx%d (Mocha's ceil sizing; cuDNN's floor gives %dx%d)\n",
           L->name, L->mode == M_POOLING_MAX ? "max" : "mean", L->k, L->k, L->s, L->H, L->W, L->OH, L->OW,
           (L->H - L->k) / L->s + 1, (L->W - L->k) / L->s + 1);
    CALL(dnn.CreatePoolingDescriptor, &L->pd);
    /* Mocha passes (mode, NOT_PROPAGATE_NAN, h, w, pad_w, pad_h, stride_h, stride_w) */
    CALL(dnn.SetPooling2dDescriptor, L->pd, L->mode, M_NOT_PROPAGATE_NAN, L->k, L->k, 0, 0, L->s, L->s);
    L->xd = tensor_desc(L->N, L->C, L->H, L->W);
    L->yd = tensor_desc(L->N, L->C, L->OH, L->OW);
    L->y = dalloc((size_t)L->N * L->C * L->OH * L->OW);
    L->dx = dalloc((size_t)L->N * L->C * L->H * L->W);
}

static void pool_forward(struct pool *L, dbuf x)
{
    float one = 1, zero = 0;
    printf("[%s] forward\n", L->name);
    CALL(dnn.PoolingForward, dnn_h, L->pd, &one, L->xd, P(x), &zero, L->yd, P(L->y));
    float *hx = down(x), *hy = down(L->y);
    double *ref = dzeros(L->y.n);
    ref_pool(L->mode, hx, NULL, ref, NULL, L->N, L->C, L->H, L->W, L->k, L->s, L->OH, L->OW);
    char t[64];
    snprintf(t, sizeof t, "%s forward (%s)", L->name, L->mode == M_POOLING_MAX ? "max" : "mean");
    compare(t, hy, ref, L->y.n);
    free(hx), free(hy), free(ref);
}

static void pool_backward(struct pool *L, dbuf x, dbuf dy)
{
    float one = 1, zero = 0;
    printf("[%s] backward\n", L->name);
    CALL(dnn.PoolingBackward, dnn_h, L->pd, &one, L->yd, P(L->y), L->yd, P(dy), L->xd, P(x), &zero, L->xd, P(L->dx));
    float *hx = down(x), *hdy = down(dy), *hdx = down(L->dx);
    double *ref = dzeros(L->dx.n);
    ref_pool(L->mode, hx, hdy, NULL, ref, L->N, L->C, L->H, L->W, L->k, L->s, L->OH, L->OW);
    char t[64];
    snprintf(t, sizeof t, "%s backward (%s)", L->name, L->mode == M_POOLING_MAX ? "max" : "mean");
    compare(t, hdx, ref, L->dx.n);
    free(hx), free(hdy), free(hdx), free(ref);
}

struct relu {
    const char *name;
    Desc d;
    dbuf y, dx;
    size_t n;
};

static void relu_setup(struct relu *L, int N, int C, int H, int W)
{
    L->d = tensor_desc(N, C, H, W);
    L->n = (size_t)N * C * H * W;
    L->y = dalloc(L->n);
    L->dx = dalloc(L->n);
}

static void relu_forward(struct relu *L, dbuf x)
{
    printf("[%s] forward (ReLU through cudnnActivationForward)\n", L->name);
    CALL(dnn.ActivationForward, dnn_h, M_ACTIVATION_RELU, L->d, P(x), L->d, P(L->y));
    float *hx = down(x), *hy = down(L->y);
    double *ref = dzeros(L->n);
    for (size_t i = 0; i < L->n; i++)
        ref[i] = hx[i] > 0 ? hx[i] : 0;
    char t[64];
    snprintf(t, sizeof t, "%s forward", L->name);
    compare(t, hy, ref, L->n);
    free(hx), free(hy), free(ref);
}

static void relu_backward(struct relu *L, dbuf x, dbuf dy)
{
    printf("[%s] backward\n", L->name);
    CALL(dnn.ActivationBackward, dnn_h, M_ACTIVATION_RELU, L->d, P(L->y), L->d, P(dy), L->d, P(x), L->d, P(L->dx));
    float *hx = down(x), *hdy = down(dy), *hdx = down(L->dx);
    double *ref = dzeros(L->n);
    for (size_t i = 0; i < L->n; i++)
        ref[i] = hx[i] > 0 ? hdy[i] : 0;
    char t[64];
    snprintf(t, sizeof t, "%s backward", L->name);
    compare(t, hdx, ref, L->n);
    free(hx), free(hdy), free(hdx), free(ref);
}

/* ---------------------------------------------------------------- main */
static int usage(void)
{
    fprintf(stderr, "usage: cudnn5compat-harness [--lib PATH] [-n N] [--seed S] [--require-gpu] "
                    "| --enums | --info | --symbols FILE\n");
    return 2;
}

static int check_symbols(const char *file)
{
    FILE *f = fopen(file, "r");
    if (!f) {
        perror(file);
        return 2;
    }
    char line[4096];
    int n = 0, missing = 0;
    while (fgets(line, sizeof line, f)) {
        if (line[0] == '#' || line[0] == '\n')
            continue;
        line[strcspn(line, "\t\n")] = 0;
        n++;
        if (!dlsym(dnn_lib, line)) {
            printf("missing: %s\n", line);
            missing++;
        }
    }
    fclose(f);
    printf("%d of %d symbols Mocha calls are exported by %s\n", n - missing, n, lib_path);
    return missing ? 1 : 0;
}

int main(int argc, char **argv)
{
    int N = 4, require_gpu = 0, mode_enums = 0, mode_info = 0;
    const char *symbols = NULL;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--lib") && i + 1 < argc)
            lib_path = argv[++i];
        else if (!strcmp(argv[i], "-n") && i + 1 < argc)
            N = atoi(argv[++i]);
        else if (!strcmp(argv[i], "--seed") && i + 1 < argc)
            rng_state = strtoull(argv[++i], NULL, 10);
        else if (!strcmp(argv[i], "--require-gpu"))
            require_gpu = 1;
        else if (!strcmp(argv[i], "--enums"))
            mode_enums = 1;
        else if (!strcmp(argv[i], "--info"))
            mode_info = 1;
        else if (!strcmp(argv[i], "--symbols") && i + 1 < argc)
            symbols = argv[++i];
        else
            return usage();
    }
    if (N < 1)
        return usage();
    setvbuf(stdout, NULL, _IOLBF, 0);

    /* local, as Julia's ccall opens libraries: our v5 names never enter the global scope */
    dnn_lib = dlopen(lib_path, RTLD_NOW | RTLD_LOCAL);
    if (!dnn_lib) {
        printf("ERROR: cannot load %s: %s\n", lib_path, dlerror());
        return 2;
    }
    const char *(*compat_version)(void) = (const char *(*)(void))dlsym(dnn_lib, "cudnn5compat_version");
    if (!compat_version) {
        printf("ERROR: %s is not the cudnn5compat library (no cudnn5compat_version)\n", lib_path);
        return 2;
    }
    int (*enum_table)(void) = (int (*)(void))dlsym(dnn_lib, "cudnn5compat_print_enum_table");
    int (*header_version)(void) = (int (*)(void))dlsym(dnn_lib, "cudnn5compat_header_version");
    size_t (*real_version)(void) = (size_t(*)(void))dlsym(dnn_lib, "cudnn5compat_real_version");
    const char *(*real_library)(void) = (const char *(*)(void))dlsym(dnn_lib, "cudnn5compat_real_library");
    printf("cudnn5compat %s (%s), built against cuDNN headers %d\n", compat_version(), lib_path,
           header_version ? header_version() : -1);
    if (mode_enums)
        return enum_table ? (enum_table(), 0) : 2;
    if (symbols)
        return check_symbols(symbols);
    size_t rv = real_version ? real_version() : 0;
    printf("real cuDNN: %s, version %zu\n", real_library ? real_library() : "?", rv);
    if (rv) /* cuDNN 9 numbers versions MAJOR*10000+MINOR*100+PATCH, earlier ones MAJOR*1000+MINOR*100+PATCH */
        printf("cudnn_version=%zu.%zu.%zu\n", rv >= 90000 ? rv / 10000 : rv / 1000,
               rv >= 90000 ? rv % 10000 / 100 : rv % 1000 / 100, rv % 100);
    if (mode_info)
        return rv ? 0 : 1;

    /* CUDA driver, as Mocha's CUDA module loads it */
    const char *cuda_names[] = { "libcuda.so", "libcuda.so.1" };
    void *cuda_lib = load_first("CUDA driver", NULL, cuda_names, 2);
    if (!cuda_lib) {
        printf("SKIP: no NVIDIA driver on this machine (libcuda not loadable); GPU replay not run\n");
        return require_gpu ? 1 : SKIP_EXIT;
    }
#define DR(field, name) drv.field = (__typeof__(drv.field))need_sym(cuda_lib, "libcuda", name)
    DR(Init, "cuInit");
    DR(DeviceGetCount, "cuDeviceGetCount");
    DR(DeviceGet, "cuDeviceGet");
    DR(DeviceGetName, "cuDeviceGetName");
    DR(CtxCreate, "cuCtxCreate_v2");
    DR(CtxDestroy, "cuCtxDestroy_v2");
    DR(CtxSynchronize, "cuCtxSynchronize");
    DR(MemAlloc, "cuMemAlloc_v2");
    DR(MemFree, "cuMemFree_v2");
    DR(MemcpyHtoD, "cuMemcpyHtoD_v2");
    DR(MemcpyDtoH, "cuMemcpyDtoH_v2");
    DR(DriverGetVersion, "cuDriverGetVersion");
    if (failures)
        return 1;
    int ndev = 0, dver = 0;
    if (drv.Init(0) != 0 || drv.DeviceGetCount(&ndev) != 0 || ndev == 0) {
        printf("SKIP: the CUDA driver reports no usable GPU; GPU replay not run\n");
        return require_gpu ? 1 : SKIP_EXIT;
    }
    if (!rv) {
        printf("FAIL: the real cuDNN could not be loaded (see above); set CUDNN5COMPAT_REAL_LIB\n");
        return 1;
    }
    drv.DriverGetVersion(&dver);
    int ordinal = getenv("MOCHA_CUDA_DEVICE") ? atoi(getenv("MOCHA_CUDA_DEVICE")) : 0;
    int dev = 0;
    char name[128] = "?";
    void *ctx = NULL;
    CALL(drv.DeviceGet, &dev, ordinal);
    drv.DeviceGetName(name, sizeof name, dev);
    printf("GPU %d: %s, driver CUDA %d.%d, headers CUDA %d\n", ordinal, name, dver / 1000, dver % 1000 / 10,
           CUDA_VERSION);
    if (CALL(drv.CtxCreate, &ctx, 0, dev))
        return 1;

    const char *blas_names[] = { "libcublas.so", "libcublas.so.13", "libcublas.so.12", "libcublas.so.11" };
    void *blas_lib = load_first("cuBLAS", "MOCHA_CUBLAS_LIBRARY", blas_names, 4);
    if (!blas_lib) {
        printf("FAIL: cuBLAS not found (Mocha needs libcublas for inner-product layers)\n");
        return 1;
    }
    blas.Create = (m_cublasCreate_v2_t)need_sym(blas_lib, "libcublas", "cublasCreate_v2");
    blas.Destroy = (m_cublasDestroy_v2_t)need_sym(blas_lib, "libcublas", "cublasDestroy_v2");
    blas.Sgemm = (m_cublasSgemm_v2_t)need_sym(blas_lib, "libcublas", "cublasSgemm_v2");
    load_dnn();
    if (failures)
        return 1;

    printf("== backend init (Mocha's GPUBackend)\n");
    CALL(blas.Create, &blas_h);
    if (CALL(dnn.Create, &dnn_h))
        return 1;
    void *stream = (void *)1;
    CALL(dnn.SetStream, dnn_h, NULL);
    CALL(dnn.GetStream, dnn_h, &stream);
    expect("default stream reads back", stream == NULL);

    printf("== network setup, batch %d\n", N);
    float *hx0;
    dbuf x0 = drand((size_t)N * 3 * 32 * 32, 1.0f, &hx0);
    struct conv c1 = { .name = "conv1", .N = N, .C = 3, .H = 32, .W = 32, .K = 32, .R = 5, .pad = 2 };
    conv_setup(&c1);
    struct pool p1 = { .name = "pool1", .mode = M_POOLING_MAX, .N = N, .C = 32, .H = c1.OH, .W = c1.OW, .k = 3, .s = 2 };
    pool_setup(&p1);
    struct relu r1 = { .name = "pool1.relu" };
    relu_setup(&r1, N, 32, p1.OH, p1.OW);
    printf("[norm1] LRN: Mocha computes it with its own CUDA kernels, not cuDNN; not replayed\n");
    struct conv c2 = { .name = "conv2", .N = N, .C = 32, .H = p1.OH, .W = p1.OW, .K = 32, .R = 5, .pad = 2 };
    conv_setup(&c2);
    struct relu r2 = { .name = "conv2.relu" };
    relu_setup(&r2, N, 32, c2.OH, c2.OW);
    struct pool p2 = { .name = "pool2", .mode = M_POOLING_AVERAGE, .N = N, .C = 32, .H = c2.OH, .W = c2.OW, .k = 3, .s = 2 };
    pool_setup(&p2);
    printf("[norm2] LRN: not replayed (Mocha kernels)\n");
    struct conv c3 = { .name = "conv3", .N = N, .C = 32, .H = p2.OH, .W = p2.OW, .K = 64, .R = 5, .pad = 2 };
    conv_setup(&c3);
    struct relu r3 = { .name = "conv3.relu" };
    relu_setup(&r3, N, 64, c3.OH, c3.OW);
    struct pool p3 = { .name = "pool3", .mode = M_POOLING_AVERAGE, .N = N, .C = 64, .H = c3.OH, .W = c3.OW, .k = 3, .s = 2 };
    pool_setup(&p3);
    int K = 64 * p3.OH * p3.OW, M = 10;
    printf("[ip1] setup: %d -> %d (cuBLAS)\n", K, M);
    float *hW, *hb;
    dbuf W = drand((size_t)K * M, 0.05f, &hW), b = drand(M, 0.5f, &hb);
    float *ones_h = malloc(N * sizeof(float));
    for (int i = 0; i < N; i++)
        ones_h[i] = 1;
    dbuf ones = dalloc(N), out = dalloc((size_t)M * N), dW = dalloc((size_t)K * M), db = dalloc(M),
         dp3 = dalloc((size_t)K * N);
    up(ones, ones_h);
    Desc sd = tensor_desc(N, M, 1, 1); /* Mocha: (1, dim_sp=1, dim_prob=10, N) */
    dbuf prob = dalloc((size_t)M * N), dprob = dalloc((size_t)M * N);

    printf("== forward\n");
    conv_forward(&c1, x0);
    pool_forward(&p1, c1.y);
    relu_forward(&r1, p1.y);
    conv_forward(&c2, r1.y);
    relu_forward(&r2, c2.y);
    pool_forward(&p2, r2.y);
    conv_forward(&c3, p2.y);
    relu_forward(&r3, c3.y);
    pool_forward(&p3, r3.y);

    printf("[ip1] forward\n");
    float one = 1, zero = 0;
    CALL(blas.Sgemm, blas_h, M_OP_T, M_OP_N, M, N, K, &one, P(W), K, P(p3.y), K, &zero, P(out), M);
    CALL(blas.Sgemm, blas_h, M_OP_N, M_OP_N, M, N, 1, &one, P(b), M, P(ones), 1, &one, P(out), M);
    float *hin = down(p3.y), *hout = down(out);
    double *rout = dzeros((size_t)M * N);
    for (int n = 0; n < N; n++)
        for (int m = 0; m < M; m++) {
            double s = hb[m];
            for (int k = 0; k < K; k++)
                s += (double)hW[(size_t)m * K + k] * hin[(size_t)n * K + k];
            rout[(size_t)n * M + m] = s;
        }
    compare("ip1 forward (sgemm)", hout, rout, (size_t)M * N);

    printf("[softmax] forward\n");
    CALL(dnn.SoftmaxForward, dnn_h, M_SOFTMAX_ACCURATE, M_SOFTMAX_MODE_CHANNEL, &one, sd, P(out), &zero, sd, P(prob));
    float *hprob = down(prob);
    double *rprob = dzeros((size_t)M * N);
    for (int n = 0; n < N; n++) {
        double mx = -INFINITY, s = 0;
        for (int m = 0; m < M; m++)
            mx = fmax(mx, hout[n * M + m]);
        for (int m = 0; m < M; m++)
            s += exp(hout[n * M + m] - mx);
        for (int m = 0; m < M; m++)
            rprob[n * M + m] = exp(hout[n * M + m] - mx) / s;
    }
    compare("softmax forward", hprob, rprob, (size_t)M * N);

    printf("== backward\n");
    float *hds;
    dbuf ds = drand((size_t)M * N, 1.0f, &hds);
    printf("[softmax] backward\n");
    CALL(dnn.SoftmaxBackward, dnn_h, M_SOFTMAX_ACCURATE, M_SOFTMAX_MODE_CHANNEL, &one, sd, P(prob), sd, P(ds), &zero,
         sd, P(dprob));
    float *hdprob = down(dprob);
    double *rdprob = dzeros((size_t)M * N);
    for (int n = 0; n < N; n++) {
        double dot = 0;
        for (int m = 0; m < M; m++)
            dot += (double)hprob[n * M + m] * hds[n * M + m];
        for (int m = 0; m < M; m++)
            rdprob[n * M + m] = hprob[n * M + m] * (hds[n * M + m] - dot);
    }
    compare("softmax backward", hdprob, rdprob, (size_t)M * N);

    printf("[ip1] backward\n");
    CALL(blas.Sgemm, blas_h, M_OP_N, M_OP_T, K, M, N, &one, P(p3.y), K, P(dprob), M, &zero, P(dW), K);
    CALL(blas.Sgemm, blas_h, M_OP_N, M_OP_N, M, 1, N, &one, P(dprob), M, P(ones), N, &zero, P(db), M);
    CALL(blas.Sgemm, blas_h, M_OP_N, M_OP_N, K, N, M, &one, P(W), K, P(dprob), M, &zero, P(dp3), K);
    float *hdW = down(dW), *hdb = down(db), *hdp3 = down(dp3);
    double *rdW = dzeros((size_t)K * M), *rdb = dzeros(M), *rdp3 = dzeros((size_t)K * N);
    for (int n = 0; n < N; n++)
        for (int m = 0; m < M; m++) {
            double g = hdprob[n * M + m];
            rdb[m] += g;
            for (int k = 0; k < K; k++) {
                rdW[(size_t)m * K + k] += (double)hin[(size_t)n * K + k] * g;
                rdp3[(size_t)n * K + k] += (double)hW[(size_t)m * K + k] * g;
            }
        }
    compare("ip1 backward weights", hdW, rdW, (size_t)K * M);
    compare("ip1 backward bias", hdb, rdb, M);
    compare("ip1 backward data", hdp3, rdp3, (size_t)K * N);

    pool_backward(&p3, r3.y, dp3);
    relu_backward(&r3, c3.y, p3.dx);
    conv_backward(&c3, p2.y, r3.dx);
    pool_backward(&p2, r2.y, c3.dx);
    relu_backward(&r2, c2.y, p2.dx);
    conv_backward(&c2, r1.y, r2.dx);
    relu_backward(&r1, p1.y, c2.dx);
    pool_backward(&p1, c1.y, r1.dx);
    conv_backward(&c1, x0, p1.dx);

    printf("== other entry points Mocha declares\n");
    {
        int dt = -1, fmt = -1, k = 0, c = 0, h = 0, w = 0;
        CALL(dnn.GetFilterDescriptor, c1.fd, &dt, &fmt, &k, &c, &h, &w);
        expect("cudnnGetFilterDescriptor reads back", dt == M_DATA_FLOAT && fmt == M_TENSOR_NCHW && k == 32 && c == 3
                                                           && h == 5 && w == 5);
        Desc cdx = NULL;
        CALL(dnn.CreateConvolutionDescriptor, &cdx);
        CALL(dnn.SetConvolutionDescriptorEx, cdx, N, 3, 32, 32, 32, 5, 5, 2, 2, 1, 1, 1, 1, M_CROSS_CORRELATION);
        dbuf y2 = dalloc(c1.y.n);
        CALL(dnn.ConvolutionForward, dnn_h, &one, c1.xd, P(x0), c1.fd, P(c1.w), cdx, (int)c1.algo, P(c1.ws),
             c1.ws_size, &zero, c1.yd, P(y2));
        CALL(dnn.AddTensor, dnn_h, &one, c1.bd, P(c1.b), &one, c1.yd, P(y2));
        float *a = down(y2);
        double *ra = dzeros(c1.y.n);
        ref_conv_fwd(hx0, c1.hw, c1.hb, ra, N, 3, 32, 32, 32, 5, 2, 32, 32);
        compare("conv via SetConvolutionDescriptorEx", a, ra, c1.y.n);
        CALL(dnn.DestroyConvolutionDescriptor, cdx);
        expect("upscale != 1 rejected as in v5", dnn.SetConvolution2dDescriptor(c1.cd, 2, 2, 1, 1, 2, 2, 1) != 0);

        Desc xd = tensor_desc(N, 3, 32, 32);
        dbuf copy = dalloc(x0.n);
        CALL(dnn.TransformTensor4d, dnn_h, c1.xd, P(x0), xd, P(copy));
        float *hc = down(copy);
        double *rc = dzeros(x0.n);
        for (size_t i = 0; i < x0.n; i++)
            rc[i] = hx0[i];
        compare("cudnnTransformTensor4d copy", hc, rc, x0.n);
        float v = 0.5f;
        CALL(dnn.SetTensor4d, dnn_h, xd, P(copy), &v);
        free(hc);
        hc = down(copy);
        for (size_t i = 0; i < x0.n; i++)
            rc[i] = 0.5;
        compare("cudnnSetTensor4d fill", hc, rc, x0.n);
        CALL(dnn.DestroyTensorDescriptor, xd);
    }

    printf("== shutdown\n");
    struct conv *cs[] = { &c1, &c2, &c3 };
    for (int i = 0; i < 3; i++) {
        CALL(dnn.DestroyFilterDescriptor, cs[i]->fd);
        CALL(dnn.DestroyTensorDescriptor, cs[i]->bd);
        CALL(dnn.DestroyTensorDescriptor, cs[i]->xd);
        CALL(dnn.DestroyTensorDescriptor, cs[i]->yd);
        CALL(dnn.DestroyConvolutionDescriptor, cs[i]->cd);
    }
    struct pool *ps[] = { &p1, &p2, &p3 };
    for (int i = 0; i < 3; i++) {
        CALL(dnn.DestroyPoolingDescriptor, ps[i]->pd);
        CALL(dnn.DestroyTensorDescriptor, ps[i]->xd);
        CALL(dnn.DestroyTensorDescriptor, ps[i]->yd);
    }
    CALL(dnn.DestroyTensorDescriptor, sd);
    CALL(dnn.Destroy, dnn_h);
    CALL(blas.Destroy, blas_h);
    CALL(drv.CtxDestroy, ctx);

    printf("RESULT: %s: %d calls, %d checks, %d failures (cuDNN %zu under cudnn5compat %s, GPU %s)\n",
           failures ? "FAIL" : "PASS", calls, checks, failures, rv, compat_version(), name);
    return failures ? 1 : 0;
}
