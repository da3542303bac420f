/*
 * cudnn5compat: the cuDNN v5 API that Mocha.jl 0.3.1 calls, on top of cuDNN 6..9.
 *
 * Mocha loads "libcudnn" with Libdl.find_library and calls 35 entry points with the
 * argument lists declared in its src/cuda/cudnn.jl (listed, as data, in
 * mocha-cudnn-symbols.txt next to this file).  This library is installed as
 * libcudnn.so in a directory that comes first on LD_LIBRARY_PATH for Mocha's process
 * only.  It exports exactly those names with Mocha's signatures and forwards to the
 * real cuDNN, which it finds at run time with dlopen("libcudnn.so.N"): there is no
 * link-time dependency on any cuDNN or CUDA library.
 *
 * Adapted entry points (signature or name changed after v5):
 *   cudnnSetConvolution2dDescriptor   8 arguments in v5; v6+ adds computeType.  The
 *                                     compute type starts as FLOAT and follows the data
 *                                     type at first use (DOUBLE data -> DOUBLE).  The
 *                                     math type is set to FMA (no TF32), as v5 computed.
 *   cudnnSetConvolutionDescriptorEx   v1 API, gone: mapped onto the 2d descriptor.
 *   cudnnGetConvolutionForwardAlgorithm  removed in v8: chosen from the _v7 heuristic
 *                                     results, honouring NO_WORKSPACE / PREFER_FASTEST /
 *                                     SPECIFY_WORKSPACE_LIMIT and the memory limit.
 *   cudnnTransformTensor4d            v1 name of cudnnTransformTensor (alpha 1, beta 0).
 *   cudnnSetTensor4d                  v1 name of cudnnSetTensor.
 *   cudnnGetFilterDescriptor          v5 spelling Mocha uses for cudnnGetFilter4dDescriptor.
 *   cudnnActivationForward/Backward   Mocha declares the pre-v4 form (a mode, no
 *                                     alpha/beta); mapped onto an activation descriptor.
 *   cudnnPoolingForward/Backward      Mocha sizes pooled outputs with ceil() (Caffe
 *                                     style); cuDNN computes floor().  When the output is
 *                                     larger than cuDNN's, the input is extended on the
 *                                     bottom/right (with -max for max pooling, 0 for
 *                                     average pooling) in a scratch buffer, which gives
 *                                     exactly Mocha's CPU semantics.
 *   cudnnConvolutionBackwardData/Filter  Mocha passes algorithm 0 and no workspace; if the
 *                                     installed cuDNN needs workspace for that algorithm
 *                                     or rejects it, another algorithm or a scratch
 *                                     workspace is used.
 * Every status returned is translated to the v5 codes (0..10) Mocha knows.
 * All other entry points pass straight through, with enum arguments translated.
 *
 * Enum values Mocha passes, v5 header vs the installed header (9.x shown; the build
 * checks every value against the header it compiles with, and `cudnn5compat-harness
 * --enums` prints the table for the installed one):
 *
 *   enum                      name                          v5   v6-v9
 *   cudnnStatus_t             SUCCESS                        0    0
 *                             NOT_INITIALIZED                1    1 (v8) / 1001 (v9)
 *                             ALLOC_FAILED                   2    2 (v8) / 4003 (v9)
 *                             BAD_PARAM                      3    3 (v8) / 2000 (v9)
 *                             INTERNAL_ERROR                 4    4 (v8) / 4000 (v9)
 *                             INVALID_VALUE                  5    5 (v8) / 2001 (v9)
 *                             ARCH_MISMATCH                  6    6 (v8) / 3007 (v9)
 *                             MAPPING_ERROR                  7    7 (v8) / 4006 (v9)
 *                             EXECUTION_FAILED               8    8 (v8) / 5000 (v9)
 *                             NOT_SUPPORTED                  9    9 (v8) / 3000 (v9)
 *                             LICENSE_ERROR                 10   10 (v8) / 1005 (v9)
 *                             (v9 sub-codes are mapped by category: 1xxx, 2xxx, ...)
 *   cudnnDataType_t           FLOAT / DOUBLE / HALF          0/1/2   0/1/2
 *   cudnnTensorFormat_t       NCHW / NHWC                    0/1     0/1
 *   cudnnNanPropagation_t     NOT_PROPAGATE / PROPAGATE      0/1     0/1
 *   cudnnConvolutionMode_t    CONVOLUTION / CROSS_CORRELATION 0/1    0/1
 *   cudnnConvolutionFwdPreference_t NO_WORKSPACE/PREFER_FASTEST/SPECIFY_LIMIT 0/1/2  (gone in v8)
 *   cudnnConvolutionFwdAlgo_t IMPLICIT_GEMM..WINOGRAD_NONFUSED 0..7   0..7
 *   cudnnConvolutionBwdFilterAlgo_t ALGO_0/ALGO_1/FFT/ALGO_3/WINOGRAD_NONFUSED 0/1/2/3/5  same
 *   cudnnConvolutionBwdDataAlgo_t ALGO_0/ALGO_1/FFT/FFT_TILING/WINOGRAD/WINOGRAD_NONFUSED 0..5  same
 *   cudnnSoftmaxAlgorithm_t   FAST / ACCURATE / LOG          0/1/2   0/1/2
 *   cudnnSoftmaxMode_t        INSTANCE / CHANNEL             0/1     0/1
 *   cudnnPoolingMode_t        MAX / AVG_INCLUDE_PAD / AVG_EXCLUDE_PAD 0/1/2  0/1/2
 *   cudnnActivationMode_t     SIGMOID / RELU / TANH / CLIPPED_RELU 0/1/2/3  0/1/2/3
 *
 * Environment:
 *   CUDNN5COMPAT_REAL_LIB   path or soname of the real cuDNN (default: libcudnn.so.<major
 *                           of the headers this was built with>, then .9 .8 .7 .6)
 *   CUDNN5COMPAT_TRACE=1    print every adaptation decision on stderr
 *   CUDNN5COMPAT_MATH       "fma" (default, true FP32 as v5) or "default" (allow TF32)
 *   CUDNN5COMPAT_NO_DEEPBIND=1  open the real cuDNN without RTLD_DEEPBIND
 *   CUDNN5COMPAT_FWD_ALGO_MAX  highest forward algorithm the getter may return
 *                           (default 4 = FFT: Mocha 0.3.1 asserts algo <= FFT)
 */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <float.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* The installed header declares several of the names we export with other
 * signatures.  Rename every declaration we use, so that the header gives us the
 * real prototypes (as c5h_*) and we are free to define Mocha's v5 ones. */
#define cudnnGetVersion c5h_cudnnGetVersion
#define cudnnGetErrorString c5h_cudnnGetErrorString
#define cudnnCreate c5h_cudnnCreate
#define cudnnDestroy c5h_cudnnDestroy
#define cudnnSetStream c5h_cudnnSetStream
#define cudnnGetStream c5h_cudnnGetStream
#define cudnnCreateTensorDescriptor c5h_cudnnCreateTensorDescriptor
#define cudnnSetTensor4dDescriptor c5h_cudnnSetTensor4dDescriptor
#define cudnnSetTensor4dDescriptorEx c5h_cudnnSetTensor4dDescriptorEx
#define cudnnGetTensor4dDescriptor c5h_cudnnGetTensor4dDescriptor
#define cudnnDestroyTensorDescriptor c5h_cudnnDestroyTensorDescriptor
#define cudnnTransformTensor c5h_cudnnTransformTensor
#define cudnnAddTensor c5h_cudnnAddTensor
#define cudnnSetTensor c5h_cudnnSetTensor
#define cudnnCreateFilterDescriptor c5h_cudnnCreateFilterDescriptor
#define cudnnSetFilter4dDescriptor c5h_cudnnSetFilter4dDescriptor
#define cudnnGetFilter4dDescriptor c5h_cudnnGetFilter4dDescriptor
#define cudnnDestroyFilterDescriptor c5h_cudnnDestroyFilterDescriptor
#define cudnnCreateConvolutionDescriptor c5h_cudnnCreateConvolutionDescriptor
#define cudnnSetConvolution2dDescriptor c5h_cudnnSetConvolution2dDescriptor
#define cudnnGetConvolution2dDescriptor c5h_cudnnGetConvolution2dDescriptor
#define cudnnSetConvolutionMathType c5h_cudnnSetConvolutionMathType
#define cudnnGetConvolutionMathType c5h_cudnnGetConvolutionMathType
#define cudnnDestroyConvolutionDescriptor c5h_cudnnDestroyConvolutionDescriptor
#define cudnnGetConvolutionForwardAlgorithm_v7 c5h_cudnnGetConvolutionForwardAlgorithm_v7
#define cudnnGetConvolutionBackwardDataAlgorithm_v7 c5h_cudnnGetConvolutionBackwardDataAlgorithm_v7
#define cudnnGetConvolutionBackwardFilterAlgorithm_v7 c5h_cudnnGetConvolutionBackwardFilterAlgorithm_v7
#define cudnnGetConvolutionForwardWorkspaceSize c5h_cudnnGetConvolutionForwardWorkspaceSize
#define cudnnGetConvolutionBackwardDataWorkspaceSize c5h_cudnnGetConvolutionBackwardDataWorkspaceSize
#define cudnnGetConvolutionBackwardFilterWorkspaceSize c5h_cudnnGetConvolutionBackwardFilterWorkspaceSize
#define cudnnConvolutionForward c5h_cudnnConvolutionForward
#define cudnnConvolutionBackwardBias c5h_cudnnConvolutionBackwardBias
#define cudnnConvolutionBackwardFilter c5h_cudnnConvolutionBackwardFilter
#define cudnnConvolutionBackwardData c5h_cudnnConvolutionBackwardData
#define cudnnSoftmaxForward c5h_cudnnSoftmaxForward
#define cudnnSoftmaxBackward c5h_cudnnSoftmaxBackward
#define cudnnCreatePoolingDescriptor c5h_cudnnCreatePoolingDescriptor
#define cudnnSetPooling2dDescriptor c5h_cudnnSetPooling2dDescriptor
#define cudnnGetPooling2dDescriptor c5h_cudnnGetPooling2dDescriptor
#define cudnnDestroyPoolingDescriptor c5h_cudnnDestroyPoolingDescriptor
#define cudnnPoolingForward c5h_cudnnPoolingForward
#define cudnnPoolingBackward c5h_cudnnPoolingBackward
#define cudnnCreateActivationDescriptor c5h_cudnnCreateActivationDescriptor
#define cudnnSetActivationDescriptor c5h_cudnnSetActivationDescriptor
#define cudnnActivationForward c5h_cudnnActivationForward
#define cudnnActivationBackward c5h_cudnnActivationBackward
/* v5 names that no longer exist; renamed so that an older header cannot clash. */
#define cudnnGetConvolutionForwardAlgorithm c5h_cudnnGetConvolutionForwardAlgorithm
#define cudnnTransformTensor4d c5h_cudnnTransformTensor4d
#define cudnnSetTensor4d c5h_cudnnSetTensor4d
#define cudnnGetFilterDescriptor c5h_cudnnGetFilterDescriptor
#define cudnnSetConvolutionDescriptorEx c5h_cudnnSetConvolutionDescriptorEx

#include <cudnn.h>

#if !defined(CUDNN_MAJOR) || CUDNN_MAJOR < 7
#error "cudnn5compat needs the headers of cuDNN 7 or newer (cudnn.h with CUDNN_MAJOR >= 7)"
#endif

#undef cudnnGetVersion
#undef cudnnGetErrorString
#undef cudnnCreate
#undef cudnnDestroy
#undef cudnnSetStream
#undef cudnnGetStream
#undef cudnnCreateTensorDescriptor
#undef cudnnSetTensor4dDescriptor
#undef cudnnSetTensor4dDescriptorEx
#undef cudnnGetTensor4dDescriptor
#undef cudnnDestroyTensorDescriptor
#undef cudnnTransformTensor
#undef cudnnAddTensor
#undef cudnnSetTensor
#undef cudnnCreateFilterDescriptor
#undef cudnnSetFilter4dDescriptor
#undef cudnnGetFilter4dDescriptor
#undef cudnnDestroyFilterDescriptor
#undef cudnnCreateConvolutionDescriptor
#undef cudnnSetConvolution2dDescriptor
#undef cudnnGetConvolution2dDescriptor
#undef cudnnSetConvolutionMathType
#undef cudnnGetConvolutionMathType
#undef cudnnDestroyConvolutionDescriptor
#undef cudnnGetConvolutionForwardAlgorithm_v7
#undef cudnnGetConvolutionBackwardDataAlgorithm_v7
#undef cudnnGetConvolutionBackwardFilterAlgorithm_v7
#undef cudnnGetConvolutionForwardWorkspaceSize
#undef cudnnGetConvolutionBackwardDataWorkspaceSize
#undef cudnnGetConvolutionBackwardFilterWorkspaceSize
#undef cudnnConvolutionForward
#undef cudnnConvolutionBackwardBias
#undef cudnnConvolutionBackwardFilter
#undef cudnnConvolutionBackwardData
#undef cudnnSoftmaxForward
#undef cudnnSoftmaxBackward
#undef cudnnCreatePoolingDescriptor
#undef cudnnSetPooling2dDescriptor
#undef cudnnGetPooling2dDescriptor
#undef cudnnDestroyPoolingDescriptor
#undef cudnnPoolingForward
#undef cudnnPoolingBackward
#undef cudnnCreateActivationDescriptor
#undef cudnnSetActivationDescriptor
#undef cudnnActivationForward
#undef cudnnActivationBackward
#undef cudnnGetConvolutionForwardAlgorithm
#undef cudnnTransformTensor4d
#undef cudnnSetTensor4d
#undef cudnnGetFilterDescriptor
#undef cudnnSetConvolutionDescriptorEx

#define EXPORT __attribute__((visibility("default")))
#define CUDNN5COMPAT_VERSION "1.0.0"

/* ------------------------------------------------------------------------- */
/* v5 constants (cuDNN 5.1 cudnn.h), the values Mocha passes and expects.     */
enum {
    V5_STATUS_SUCCESS = 0, V5_STATUS_NOT_INITIALIZED = 1, V5_STATUS_ALLOC_FAILED = 2,
    V5_STATUS_BAD_PARAM = 3, V5_STATUS_INTERNAL_ERROR = 4, V5_STATUS_INVALID_VALUE = 5,
    V5_STATUS_ARCH_MISMATCH = 6, V5_STATUS_MAPPING_ERROR = 7, V5_STATUS_EXECUTION_FAILED = 8,
    V5_STATUS_NOT_SUPPORTED = 9, V5_STATUS_LICENSE_ERROR = 10
};
enum { V5_DATA_FLOAT = 0, V5_DATA_DOUBLE = 1, V5_DATA_HALF = 2 };
enum { V5_TENSOR_NCHW = 0, V5_TENSOR_NHWC = 1 };
enum { V5_NOT_PROPAGATE_NAN = 0, V5_PROPAGATE_NAN = 1 };
enum { V5_CONVOLUTION = 0, V5_CROSS_CORRELATION = 1 };
enum { V5_FWD_NO_WORKSPACE = 0, V5_FWD_PREFER_FASTEST = 1, V5_FWD_SPECIFY_WORKSPACE_LIMIT = 2 };
enum {
    V5_FWD_ALGO_IMPLICIT_GEMM = 0, V5_FWD_ALGO_IMPLICIT_PRECOMP_GEMM = 1, V5_FWD_ALGO_GEMM = 2,
    V5_FWD_ALGO_DIRECT = 3, V5_FWD_ALGO_FFT = 4, V5_FWD_ALGO_FFT_TILING = 5,
    V5_FWD_ALGO_WINOGRAD = 6, V5_FWD_ALGO_WINOGRAD_NONFUSED = 7
};
enum {
    V5_BWD_FILTER_ALGO_0 = 0, V5_BWD_FILTER_ALGO_1 = 1, V5_BWD_FILTER_ALGO_FFT = 2,
    V5_BWD_FILTER_ALGO_3 = 3, V5_BWD_FILTER_ALGO_WINOGRAD_NONFUSED = 5
};
enum {
    V5_BWD_DATA_ALGO_0 = 0, V5_BWD_DATA_ALGO_1 = 1, V5_BWD_DATA_ALGO_FFT = 2,
    V5_BWD_DATA_ALGO_FFT_TILING = 3, V5_BWD_DATA_ALGO_WINOGRAD = 4,
    V5_BWD_DATA_ALGO_WINOGRAD_NONFUSED = 5
};
enum { V5_SOFTMAX_FAST = 0, V5_SOFTMAX_ACCURATE = 1, V5_SOFTMAX_LOG = 2 };
enum { V5_SOFTMAX_MODE_INSTANCE = 0, V5_SOFTMAX_MODE_CHANNEL = 1 };
enum { V5_POOLING_MAX = 0, V5_POOLING_AVERAGE_INCLUDE = 1, V5_POOLING_AVERAGE_EXCLUDE = 2 };
enum {
    V5_ACTIVATION_SIGMOID = 0, V5_ACTIVATION_RELU = 1, V5_ACTIVATION_TANH = 2,
    V5_ACTIVATION_CLIPPED_RELU = 3
};

/* One row per enum value Mocha can pass: v5 value, installed value, names. */
struct enum_row { const char *type; const char *name; int v5; int installed; };
#define ROW(type, name, v5) { #type, #name, (v5), (int)(name) }
static const struct enum_row enum_table[] = {
    ROW(cudnnDataType_t, CUDNN_DATA_FLOAT, V5_DATA_FLOAT),
    ROW(cudnnDataType_t, CUDNN_DATA_DOUBLE, V5_DATA_DOUBLE),
    ROW(cudnnDataType_t, CUDNN_DATA_HALF, V5_DATA_HALF),
    ROW(cudnnTensorFormat_t, CUDNN_TENSOR_NCHW, V5_TENSOR_NCHW),
    ROW(cudnnTensorFormat_t, CUDNN_TENSOR_NHWC, V5_TENSOR_NHWC),
    ROW(cudnnNanPropagation_t, CUDNN_NOT_PROPAGATE_NAN, V5_NOT_PROPAGATE_NAN),
    ROW(cudnnNanPropagation_t, CUDNN_PROPAGATE_NAN, V5_PROPAGATE_NAN),
    ROW(cudnnConvolutionMode_t, CUDNN_CONVOLUTION, V5_CONVOLUTION),
    ROW(cudnnConvolutionMode_t, CUDNN_CROSS_CORRELATION, V5_CROSS_CORRELATION),
    ROW(cudnnConvolutionFwdAlgo_t, CUDNN_CONVOLUTION_FWD_ALGO_IMPLICIT_GEMM, V5_FWD_ALGO_IMPLICIT_GEMM),
    ROW(cudnnConvolutionFwdAlgo_t, CUDNN_CONVOLUTION_FWD_ALGO_IMPLICIT_PRECOMP_GEMM, V5_FWD_ALGO_IMPLICIT_PRECOMP_GEMM),
    ROW(cudnnConvolutionFwdAlgo_t, CUDNN_CONVOLUTION_FWD_ALGO_GEMM, V5_FWD_ALGO_GEMM),
    ROW(cudnnConvolutionFwdAlgo_t, CUDNN_CONVOLUTION_FWD_ALGO_DIRECT, V5_FWD_ALGO_DIRECT),
    ROW(cudnnConvolutionFwdAlgo_t, CUDNN_CONVOLUTION_FWD_ALGO_FFT, V5_FWD_ALGO_FFT),
    ROW(cudnnConvolutionFwdAlgo_t, CUDNN_CONVOLUTION_FWD_ALGO_FFT_TILING, V5_FWD_ALGO_FFT_TILING),
    ROW(cudnnConvolutionFwdAlgo_t, CUDNN_CONVOLUTION_FWD_ALGO_WINOGRAD, V5_FWD_ALGO_WINOGRAD),
    ROW(cudnnConvolutionFwdAlgo_t, CUDNN_CONVOLUTION_FWD_ALGO_WINOGRAD_NONFUSED, V5_FWD_ALGO_WINOGRAD_NONFUSED),
    ROW(cudnnConvolutionBwdFilterAlgo_t, CUDNN_CONVOLUTION_BWD_FILTER_ALGO_0, V5_BWD_FILTER_ALGO_0),
    ROW(cudnnConvolutionBwdFilterAlgo_t, CUDNN_CONVOLUTION_BWD_FILTER_ALGO_1, V5_BWD_FILTER_ALGO_1),
    ROW(cudnnConvolutionBwdFilterAlgo_t, CUDNN_CONVOLUTION_BWD_FILTER_ALGO_FFT, V5_BWD_FILTER_ALGO_FFT),
    ROW(cudnnConvolutionBwdFilterAlgo_t, CUDNN_CONVOLUTION_BWD_FILTER_ALGO_3, V5_BWD_FILTER_ALGO_3),
    ROW(cudnnConvolutionBwdFilterAlgo_t, CUDNN_CONVOLUTION_BWD_FILTER_ALGO_WINOGRAD_NONFUSED, V5_BWD_FILTER_ALGO_WINOGRAD_NONFUSED),
    ROW(cudnnConvolutionBwdDataAlgo_t, CUDNN_CONVOLUTION_BWD_DATA_ALGO_0, V5_BWD_DATA_ALGO_0),
    ROW(cudnnConvolutionBwdDataAlgo_t, CUDNN_CONVOLUTION_BWD_DATA_ALGO_1, V5_BWD_DATA_ALGO_1),
    ROW(cudnnConvolutionBwdDataAlgo_t, CUDNN_CONVOLUTION_BWD_DATA_ALGO_FFT, V5_BWD_DATA_ALGO_FFT),
    ROW(cudnnConvolutionBwdDataAlgo_t, CUDNN_CONVOLUTION_BWD_DATA_ALGO_FFT_TILING, V5_BWD_DATA_ALGO_FFT_TILING),
    ROW(cudnnConvolutionBwdDataAlgo_t, CUDNN_CONVOLUTION_BWD_DATA_ALGO_WINOGRAD, V5_BWD_DATA_ALGO_WINOGRAD),
    ROW(cudnnConvolutionBwdDataAlgo_t, CUDNN_CONVOLUTION_BWD_DATA_ALGO_WINOGRAD_NONFUSED, V5_BWD_DATA_ALGO_WINOGRAD_NONFUSED),
    ROW(cudnnSoftmaxAlgorithm_t, CUDNN_SOFTMAX_FAST, V5_SOFTMAX_FAST),
    ROW(cudnnSoftmaxAlgorithm_t, CUDNN_SOFTMAX_ACCURATE, V5_SOFTMAX_ACCURATE),
    ROW(cudnnSoftmaxAlgorithm_t, CUDNN_SOFTMAX_LOG, V5_SOFTMAX_LOG),
    ROW(cudnnSoftmaxMode_t, CUDNN_SOFTMAX_MODE_INSTANCE, V5_SOFTMAX_MODE_INSTANCE),
    ROW(cudnnSoftmaxMode_t, CUDNN_SOFTMAX_MODE_CHANNEL, V5_SOFTMAX_MODE_CHANNEL),
    ROW(cudnnPoolingMode_t, CUDNN_POOLING_MAX, V5_POOLING_MAX),
    ROW(cudnnPoolingMode_t, CUDNN_POOLING_AVERAGE_COUNT_INCLUDE_PADDING, V5_POOLING_AVERAGE_INCLUDE),
    ROW(cudnnPoolingMode_t, CUDNN_POOLING_AVERAGE_COUNT_EXCLUDE_PADDING, V5_POOLING_AVERAGE_EXCLUDE),
    ROW(cudnnActivationMode_t, CUDNN_ACTIVATION_SIGMOID, V5_ACTIVATION_SIGMOID),
    ROW(cudnnActivationMode_t, CUDNN_ACTIVATION_RELU, V5_ACTIVATION_RELU),
    ROW(cudnnActivationMode_t, CUDNN_ACTIVATION_TANH, V5_ACTIVATION_TANH),
    ROW(cudnnActivationMode_t, CUDNN_ACTIVATION_CLIPPED_RELU, V5_ACTIVATION_CLIPPED_RELU),
    ROW(cudnnStatus_t, CUDNN_STATUS_SUCCESS, V5_STATUS_SUCCESS),
    ROW(cudnnStatus_t, CUDNN_STATUS_NOT_INITIALIZED, V5_STATUS_NOT_INITIALIZED),
    ROW(cudnnStatus_t, CUDNN_STATUS_BAD_PARAM, V5_STATUS_BAD_PARAM),
    ROW(cudnnStatus_t, CUDNN_STATUS_INTERNAL_ERROR, V5_STATUS_INTERNAL_ERROR),
    ROW(cudnnStatus_t, CUDNN_STATUS_EXECUTION_FAILED, V5_STATUS_EXECUTION_FAILED),
    ROW(cudnnStatus_t, CUDNN_STATUS_NOT_SUPPORTED, V5_STATUS_NOT_SUPPORTED),
    ROW(cudnnStatus_t, CUDNN_STATUS_LICENSE_ERROR, V5_STATUS_LICENSE_ERROR),
};
#define N_ENUM_ROWS (sizeof(enum_table) / sizeof(enum_table[0]))

/* Look a v5 value up in the table: installed value, or -1 when v5 had no such value. */
static int v5_to_installed(const char *type, int v5)
{
    for (size_t i = 0; i < N_ENUM_ROWS; i++)
        if (strcmp(enum_table[i].type, type) == 0 && enum_table[i].v5 == v5)
            return enum_table[i].installed;
    return -1;
}

static int installed_to_v5(const char *type, int installed)
{
    for (size_t i = 0; i < N_ENUM_ROWS; i++)
        if (strcmp(enum_table[i].type, type) == 0 && enum_table[i].installed == installed)
            return enum_table[i].v5;
    return -1;
}

/* ------------------------------------------------------------------------- */
/* The real library.                                                          */
#define REAL_FUNCS(X) \
    X(cudnnGetVersion) X(cudnnGetErrorString) X(cudnnCreate) X(cudnnDestroy) \
    X(cudnnSetStream) X(cudnnGetStream) X(cudnnCreateTensorDescriptor) \
    X(cudnnSetTensor4dDescriptor) X(cudnnSetTensor4dDescriptorEx) X(cudnnGetTensor4dDescriptor) \
    X(cudnnDestroyTensorDescriptor) X(cudnnTransformTensor) X(cudnnAddTensor) X(cudnnSetTensor) \
    X(cudnnCreateFilterDescriptor) X(cudnnSetFilter4dDescriptor) X(cudnnGetFilter4dDescriptor) \
    X(cudnnDestroyFilterDescriptor) X(cudnnCreateConvolutionDescriptor) \
    X(cudnnSetConvolution2dDescriptor) X(cudnnGetConvolution2dDescriptor) \
    X(cudnnSetConvolutionMathType) X(cudnnGetConvolutionMathType) \
    X(cudnnDestroyConvolutionDescriptor) X(cudnnGetConvolutionForwardAlgorithm_v7) \
    X(cudnnGetConvolutionBackwardDataAlgorithm_v7) X(cudnnGetConvolutionBackwardFilterAlgorithm_v7) \
    X(cudnnGetConvolutionForwardWorkspaceSize) X(cudnnGetConvolutionBackwardDataWorkspaceSize) \
    X(cudnnGetConvolutionBackwardFilterWorkspaceSize) X(cudnnConvolutionForward) \
    X(cudnnConvolutionBackwardBias) X(cudnnConvolutionBackwardFilter) \
    X(cudnnConvolutionBackwardData) X(cudnnSoftmaxForward) X(cudnnSoftmaxBackward) \
    X(cudnnCreatePoolingDescriptor) X(cudnnSetPooling2dDescriptor) X(cudnnGetPooling2dDescriptor) \
    X(cudnnDestroyPoolingDescriptor) X(cudnnPoolingForward) X(cudnnPoolingBackward) \
    X(cudnnCreateActivationDescriptor) X(cudnnSetActivationDescriptor) \
    X(cudnnActivationForward) X(cudnnActivationBackward)

#define DECLARE_REAL(name) static __typeof__(c5h_##name) *real_##name;
REAL_FUNCS(DECLARE_REAL)

static pthread_once_t load_once = PTHREAD_ONCE_INIT;
static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static void *real_handle;
static char real_path[512];
static size_t real_version;
static int real_major;
static int trace_on;
static int use_fma = 1;
static int fwd_algo_max = V5_FWD_ALGO_FFT;
static char load_error[1024];

static void trace(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void trace(const char *fmt, ...)
{
    if (!trace_on)
        return;
    va_list ap;
    va_start(ap, fmt);
    fputs("cudnn5compat: ", stderr);
    vfprintf(stderr, fmt, ap);
    fputc('\n', stderr);
    va_end(ap);
}

static int try_open(const char *name)
{
    /* DEEPBIND: the real library resolves its own names first, never our v5 ones */
    const char *nd = getenv("CUDNN5COMPAT_NO_DEEPBIND");
    int flags = RTLD_NOW | RTLD_LOCAL | ((nd && *nd && strcmp(nd, "0") != 0) ? 0 : RTLD_DEEPBIND);
    void *h = dlopen(name, flags);
    if (!h) {
        size_t used = strlen(load_error);
        snprintf(load_error + used, sizeof(load_error) - used, "%s%s", used ? "; " : "", dlerror());
        return 0;
    }
    if (dlsym(h, "cudnn5compat_version")) { /* found ourselves, not the real one */
        dlclose(h);
        return 0;
    }
    real_handle = h;
    snprintf(real_path, sizeof(real_path), "%s", name);
    return 1;
}

static void load_real(void)
{
    const char *env = getenv("CUDNN5COMPAT_TRACE");
    trace_on = env && *env && strcmp(env, "0") != 0;
    env = getenv("CUDNN5COMPAT_MATH");
    if (env && strcmp(env, "default") == 0)
        use_fma = 0;
    env = getenv("CUDNN5COMPAT_FWD_ALGO_MAX");
    if (env && *env)
        fwd_algo_max = atoi(env);

    env = getenv("CUDNN5COMPAT_REAL_LIB");
    if (env && *env) {
        try_open(env);
    } else {
        char first[32];
        snprintf(first, sizeof(first), "libcudnn.so.%d", CUDNN_MAJOR);
        const char *names[] = { first, "libcudnn.so.9", "libcudnn.so.8", "libcudnn.so.7",
                                "libcudnn.so.6" };
        for (size_t i = 0; i < sizeof(names) / sizeof(names[0]) && !real_handle; i++)
            if (i == 0 || strcmp(names[i], first) != 0)
                try_open(names[i]);
    }
    if (!real_handle) {
        fprintf(stderr, "cudnn5compat: cannot load the real cuDNN (%s); set CUDNN5COMPAT_REAL_LIB\n",
                load_error);
        return;
    }
#define LOAD_REAL(name) real_##name = (__typeof__(real_##name))dlsym(real_handle, #name);
    REAL_FUNCS(LOAD_REAL)
    if (real_cudnnGetVersion) {
        real_version = real_cudnnGetVersion();
        real_major = real_version >= 90000 ? (int)(real_version / 10000) : (int)(real_version / 1000);
    }
    trace("real cuDNN %s, version %zu (built against headers %d.%d.%d)", real_path, real_version,
          CUDNN_MAJOR, CUDNN_MINOR, CUDNN_PATCHLEVEL);
}

static int ready(void)
{
    pthread_once(&load_once, load_real);
    return real_handle != NULL;
}

/* Translate a status of the installed library into the v5 code Mocha knows. */
static int status_to_v5(int st, int major)
{
    if (st == 0)
        return V5_STATUS_SUCCESS;
    if (major >= 9) {
        switch (st) {
        case 1005: return V5_STATUS_LICENSE_ERROR;
        case 2001: return V5_STATUS_INVALID_VALUE;
        case 3007: return V5_STATUS_ARCH_MISMATCH;
        case 4003: case 4004: return V5_STATUS_ALLOC_FAILED;
        case 4006: return V5_STATUS_MAPPING_ERROR;
        }
        switch (st / 1000) {
        case 1: return V5_STATUS_NOT_INITIALIZED;
        case 2: return V5_STATUS_BAD_PARAM;
        case 3: return V5_STATUS_NOT_SUPPORTED;
        case 4: return V5_STATUS_INTERNAL_ERROR;
        case 5: return V5_STATUS_EXECUTION_FAILED;
        }
        return V5_STATUS_INTERNAL_ERROR;
    }
    if (st >= 1 && st <= 10)
        return st; /* v6..v8 kept the v5 numbering */
    switch (st) {
    case 11: return V5_STATUS_NOT_SUPPORTED;    /* RUNTIME_PREREQUISITE_MISSING */
    case 12: return V5_STATUS_EXECUTION_FAILED; /* RUNTIME_IN_PROGRESS */
    case 13: return V5_STATUS_EXECUTION_FAILED; /* RUNTIME_FP_OVERFLOW */
    case 14: return V5_STATUS_NOT_INITIALIZED;  /* VERSION_MISMATCH */
    }
    return V5_STATUS_INTERNAL_ERROR;
}

static int ret(const char *fn, cudnnStatus_t st)
{
    int v5 = status_to_v5((int)st, real_major);
    if (st != CUDNN_STATUS_SUCCESS)
        trace("%s: installed cuDNN returned %d (%s), reported to Mocha as v5 status %d", fn, (int)st,
              real_cudnnGetErrorString ? real_cudnnGetErrorString(st) : "?", v5);
    return v5;
}

#define NEED(name) \
    do { \
        if (!ready()) \
            return V5_STATUS_NOT_INITIALIZED; \
        if (!real_##name) { \
            fprintf(stderr, "cudnn5compat: %s missing from %s\n", #name, real_path); \
            return V5_STATUS_NOT_SUPPORTED; \
        } \
    } while (0)

#define ENUM_IN(type, v5, out) \
    do { \
        int _t = v5_to_installed(#type, (int)(v5)); \
        if (_t < 0) { \
            trace("%s: value %d is not a v5 " #type, __func__, (int)(v5)); \
            return V5_STATUS_BAD_PARAM; \
        } \
        (out) = (type)_t; \
    } while (0)

/* ------------------------------------------------------------------------- */
/* Scratch device memory (driver API, loaded at run time).                     */
typedef int (*cu_alloc_t)(unsigned long long *, size_t);
typedef int (*cu_free_t)(unsigned long long);
typedef int (*cu_sync_t)(void);
static cu_alloc_t cu_alloc;
static cu_free_t cu_free;
static cu_sync_t cu_sync;
static unsigned long long scratch_ptr;
static size_t scratch_size;

static void *scratch(size_t bytes)
{
    if (bytes == 0)
        return NULL;
    if (!cu_alloc) {
        void *h = dlopen("libcuda.so.1", RTLD_NOW | RTLD_LOCAL);
        if (!h) {
            fprintf(stderr, "cudnn5compat: cannot load libcuda.so.1 for scratch memory: %s\n", dlerror());
            return NULL;
        }
        cu_alloc = (cu_alloc_t)dlsym(h, "cuMemAlloc_v2");
        cu_free = (cu_free_t)dlsym(h, "cuMemFree_v2");
        cu_sync = (cu_sync_t)dlsym(h, "cuCtxSynchronize");
        if (!cu_alloc || !cu_free || !cu_sync) {
            cu_alloc = NULL;
            return NULL;
        }
    }
    if (bytes > scratch_size) {
        if (scratch_ptr) {
            cu_sync(); /* earlier work on any stream may still use the old buffer */
            cu_free(scratch_ptr);
            scratch_ptr = 0;
            scratch_size = 0;
        }
        size_t want = bytes + (bytes >> 2);
        if (cu_alloc(&scratch_ptr, want) != 0) {
            scratch_ptr = 0;
            fprintf(stderr, "cudnn5compat: cannot allocate %zu bytes of scratch memory\n", want);
            return NULL;
        }
        scratch_size = want;
        trace("scratch buffer grown to %zu bytes", want);
    }
    return (void *)(uintptr_t)scratch_ptr;
}

/* alpha/beta constants of the right type for a tensor's data type */
static const double one_d = 1.0, zero_d = 0.0;
static const float one_f = 1.0f, zero_f = 0.0f;

static cudnnDataType_t tensor_dtype(cudnnTensorDescriptor_t d)
{
    cudnnDataType_t dt = CUDNN_DATA_FLOAT;
    int n, c, h, w, ns, cs, hs, ws;
    if (real_cudnnGetTensor4dDescriptor)
        real_cudnnGetTensor4dDescriptor(d, &dt, &n, &c, &h, &w, &ns, &cs, &hs, &ws);
    return dt;
}
static const void *ONE(cudnnDataType_t dt) { return dt == CUDNN_DATA_DOUBLE ? (const void *)&one_d : (const void *)&one_f; }
static const void *ZERO(cudnnDataType_t dt) { return dt == CUDNN_DATA_DOUBLE ? (const void *)&zero_d : (const void *)&zero_f; }

/* ------------------------------------------------------------------------- */
/* Library information and test hooks (not cuDNN names).                      */
EXPORT const char *cudnn5compat_version(void) { return CUDNN5COMPAT_VERSION; }
EXPORT int cudnn5compat_header_version(void) { return CUDNN_VERSION; }
EXPORT size_t cudnn5compat_real_version(void) { return ready() ? real_version : 0; }
EXPORT const char *cudnn5compat_real_library(void) { return ready() ? real_path : load_error; }
EXPORT int cudnn5compat_status_to_v5(int status, int major) { return status_to_v5(status, major); }

/* Print the enum table for the headers this library was built with.
 * Returns the number of values that differ between v5 and the installed headers. */
EXPORT int cudnn5compat_print_enum_table(void)
{
    int differ = 0;
    printf("%-34s %-52s %5s %9s\n", "enum", "name", "v5", "installed");
    for (size_t i = 0; i < N_ENUM_ROWS; i++) {
        const struct enum_row *r = &enum_table[i];
        int same = r->v5 == r->installed;
        differ += !same;
        printf("%-34s %-52s %5d %9d%s\n", r->type, r->name, r->v5, r->installed,
               same ? "" : "  translated");
    }
    printf("headers: cuDNN %d.%d.%d; %d of %zu values differ from v5\n", CUDNN_MAJOR, CUDNN_MINOR,
           CUDNN_PATCHLEVEL, differ, N_ENUM_ROWS);
    return differ;
}

/* Choose an algorithm the way v5's cudnnGet*Algorithm did, from heuristic results
 * ordered fastest first.  ok[i] says the result is usable (status success, right math
 * type, representable in v5).  Returns the index chosen, or -1. */
EXPORT int cudnn5compat_select_algo(int preference, size_t limit, int n, const int *ok,
                                    const size_t *memory)
{
    for (int i = 0; i < n; i++) {
        if (!ok[i])
            continue;
        if (preference == V5_FWD_NO_WORKSPACE && memory[i] != 0)
            continue;
        if (preference == V5_FWD_SPECIFY_WORKSPACE_LIMIT && memory[i] > limit)
            continue;
        return i;
    }
    return -1;
}

/* ------------------------------------------------------------------------- */
/* Pass-through entry points.                                                  */
EXPORT size_t cudnnGetVersion(void)
{
    return ready() ? real_version : 0;
}

EXPORT const char *cudnnGetErrorString(int status)
{
    static const char *names[] = {
        "CUDNN_STATUS_SUCCESS", "CUDNN_STATUS_NOT_INITIALIZED", "CUDNN_STATUS_ALLOC_FAILED",
        "CUDNN_STATUS_BAD_PARAM", "CUDNN_STATUS_INTERNAL_ERROR", "CUDNN_STATUS_INVALID_VALUE",
        "CUDNN_STATUS_ARCH_MISMATCH", "CUDNN_STATUS_MAPPING_ERROR", "CUDNN_STATUS_EXECUTION_FAILED",
        "CUDNN_STATUS_NOT_SUPPORTED", "CUDNN_STATUS_LICENSE_ERROR" };
    if (status >= 0 && status <= 10)
        return names[status];
    return "CUDNN_UNKNOWN_STATUS";
}

EXPORT int cudnnCreate(cudnnHandle_t *handle)
{
    NEED(cudnnCreate);
    return ret(__func__, real_cudnnCreate(handle));
}

EXPORT int cudnnDestroy(cudnnHandle_t handle)
{
    NEED(cudnnDestroy);
    return ret(__func__, real_cudnnDestroy(handle));
}

EXPORT int cudnnSetStream(cudnnHandle_t handle, cudaStream_t stream)
{
    NEED(cudnnSetStream);
    return ret(__func__, real_cudnnSetStream(handle, stream));
}

EXPORT int cudnnGetStream(cudnnHandle_t handle, cudaStream_t *stream)
{
    NEED(cudnnGetStream);
    return ret(__func__, real_cudnnGetStream(handle, stream));
}

EXPORT int cudnnCreateTensorDescriptor(cudnnTensorDescriptor_t *desc)
{
    NEED(cudnnCreateTensorDescriptor);
    return ret(__func__, real_cudnnCreateTensorDescriptor(desc));
}

EXPORT int cudnnSetTensor4dDescriptor(cudnnTensorDescriptor_t desc, int format, int dtype, int n, int c,
                                      int h, int w)
{
    NEED(cudnnSetTensor4dDescriptor);
    cudnnTensorFormat_t f;
    cudnnDataType_t dt;
    ENUM_IN(cudnnTensorFormat_t, format, f);
    ENUM_IN(cudnnDataType_t, dtype, dt);
    return ret(__func__, real_cudnnSetTensor4dDescriptor(desc, f, dt, n, c, h, w));
}

EXPORT int cudnnSetTensor4dDescriptorEx(cudnnTensorDescriptor_t desc, int dtype, int n, int c, int h,
                                        int w, int ns, int cs, int hs, int ws)
{
    NEED(cudnnSetTensor4dDescriptorEx);
    cudnnDataType_t dt;
    ENUM_IN(cudnnDataType_t, dtype, dt);
    return ret(__func__, real_cudnnSetTensor4dDescriptorEx(desc, dt, n, c, h, w, ns, cs, hs, ws));
}

EXPORT int cudnnGetTensor4dDescriptor(cudnnTensorDescriptor_t desc, int *dtype, int *n, int *c, int *h,
                                      int *w, int *ns, int *cs, int *hs, int *ws)
{
    NEED(cudnnGetTensor4dDescriptor);
    cudnnDataType_t dt;
    cudnnStatus_t st = real_cudnnGetTensor4dDescriptor(desc, &dt, n, c, h, w, ns, cs, hs, ws);
    if (st == CUDNN_STATUS_SUCCESS && dtype)
        *dtype = installed_to_v5("cudnnDataType_t", (int)dt);
    return ret(__func__, st);
}

EXPORT int cudnnDestroyTensorDescriptor(cudnnTensorDescriptor_t desc)
{
    NEED(cudnnDestroyTensorDescriptor);
    return ret(__func__, real_cudnnDestroyTensorDescriptor(desc));
}

/* v1: cudnnTransformTensor4d(handle, srcDesc, src, destDesc, dest), i.e. dest = src */
EXPORT int cudnnTransformTensor4d(cudnnHandle_t handle, cudnnTensorDescriptor_t src_desc, const void *src,
                                  cudnnTensorDescriptor_t dest_desc, void *dest)
{
    NEED(cudnnTransformTensor);
    cudnnDataType_t dt = tensor_dtype(dest_desc);
    trace("cudnnTransformTensor4d -> cudnnTransformTensor(alpha=1, beta=0)");
    return ret(__func__, real_cudnnTransformTensor(handle, ONE(dt), src_desc, src, ZERO(dt), dest_desc, dest));
}

EXPORT int cudnnAddTensor(cudnnHandle_t handle, const void *alpha, cudnnTensorDescriptor_t a_desc,
                          const void *a, const void *beta, cudnnTensorDescriptor_t c_desc, void *c)
{
    NEED(cudnnAddTensor);
    return ret(__func__, real_cudnnAddTensor(handle, alpha, a_desc, a, beta, c_desc, c));
}

/* v1: cudnnSetTensor4d(handle, desc, data, valuePtr) */
EXPORT int cudnnSetTensor4d(cudnnHandle_t handle, cudnnTensorDescriptor_t desc, void *data, const void *value)
{
    NEED(cudnnSetTensor);
    return ret(__func__, real_cudnnSetTensor(handle, desc, data, value));
}

EXPORT int cudnnCreateFilterDescriptor(cudnnFilterDescriptor_t *desc)
{
    NEED(cudnnCreateFilterDescriptor);
    return ret(__func__, real_cudnnCreateFilterDescriptor(desc));
}

EXPORT int cudnnSetFilter4dDescriptor(cudnnFilterDescriptor_t desc, int dtype, int format, int k, int c,
                                      int h, int w)
{
    NEED(cudnnSetFilter4dDescriptor);
    cudnnTensorFormat_t f;
    cudnnDataType_t dt;
    ENUM_IN(cudnnDataType_t, dtype, dt);
    ENUM_IN(cudnnTensorFormat_t, format, f);
    return ret(__func__, real_cudnnSetFilter4dDescriptor(desc, dt, f, k, c, h, w));
}

/* Mocha: cudnnGetFilterDescriptor(desc, *dtype, *format, *k, *c, *h, *w) */
EXPORT int cudnnGetFilterDescriptor(cudnnFilterDescriptor_t desc, int *dtype, int *format, int *k, int *c,
                                    int *h, int *w)
{
    NEED(cudnnGetFilter4dDescriptor);
    cudnnDataType_t dt;
    cudnnTensorFormat_t f;
    cudnnStatus_t st = real_cudnnGetFilter4dDescriptor(desc, &dt, &f, k, c, h, w);
    if (st == CUDNN_STATUS_SUCCESS) {
        if (dtype)
            *dtype = installed_to_v5("cudnnDataType_t", (int)dt);
        if (format)
            *format = installed_to_v5("cudnnTensorFormat_t", (int)f);
    }
    return ret(__func__, st);
}

EXPORT int cudnnDestroyFilterDescriptor(cudnnFilterDescriptor_t desc)
{
    NEED(cudnnDestroyFilterDescriptor);
    return ret(__func__, real_cudnnDestroyFilterDescriptor(desc));
}

EXPORT int cudnnCreateConvolutionDescriptor(cudnnConvolutionDescriptor_t *desc)
{
    NEED(cudnnCreateConvolutionDescriptor);
    return ret(__func__, real_cudnnCreateConvolutionDescriptor(desc));
}

static cudnnStatus_t set_math(cudnnConvolutionDescriptor_t desc)
{
#if CUDNN_MAJOR > 8 || (CUDNN_MAJOR == 8 && CUDNN_MINOR >= 1)
    if (use_fma && real_cudnnSetConvolutionMathType)
        return real_cudnnSetConvolutionMathType(desc, CUDNN_FMA_MATH);
#else
    (void)desc;
#endif
    return CUDNN_STATUS_SUCCESS;
}

static int set_conv2d(const char *fn, cudnnConvolutionDescriptor_t desc, int pad_h, int pad_w, int u, int v,
                      int upscalex, int upscaley, int mode)
{
    NEED(cudnnSetConvolution2dDescriptor);
    cudnnConvolutionMode_t m;
    ENUM_IN(cudnnConvolutionMode_t, mode, m);
    if (upscalex != 1 || upscaley != 1) {
        trace("%s: upscale %dx%d; cuDNN 5 supports only 1", fn, upscalex, upscaley);
        return V5_STATUS_NOT_SUPPORTED;
    }
    cudnnStatus_t st = real_cudnnSetConvolution2dDescriptor(desc, pad_h, pad_w, u, v, 1, 1, m, CUDNN_DATA_FLOAT);
    if (st == CUDNN_STATUS_SUCCESS)
        st = set_math(desc);
    trace("%s(pad %d,%d stride %d,%d) -> cudnnSetConvolution2dDescriptor(dilation 1,1, computeType FLOAT%s)",
          fn, pad_h, pad_w, u, v, use_fma ? ", math FMA" : "");
    return ret(fn, st);
}

EXPORT int cudnnSetConvolution2dDescriptor(cudnnConvolutionDescriptor_t desc, int pad_h, int pad_w, int u,
                                           int v, int upscalex, int upscaley, int mode)
{
    return set_conv2d(__func__, desc, pad_h, pad_w, u, v, upscalex, upscaley, mode);
}

/* v1: (desc, n, c, h, w, k, r, s, pad_h, pad_w, u, v, upscalex, upscaley, mode) */
EXPORT int cudnnSetConvolutionDescriptorEx(cudnnConvolutionDescriptor_t desc, int n, int c, int h, int w,
                                           int k, int r, int s, int pad_h, int pad_w, int u, int v,
                                           int upscalex, int upscaley, int mode)
{
    if (n <= 0 || c <= 0 || h <= 0 || w <= 0 || k <= 0 || r <= 0 || s <= 0)
        return V5_STATUS_BAD_PARAM;
    return set_conv2d(__func__, desc, pad_h, pad_w, u, v, upscalex, upscaley, mode);
}

EXPORT int cudnnDestroyConvolutionDescriptor(cudnnConvolutionDescriptor_t desc)
{
    NEED(cudnnDestroyConvolutionDescriptor);
    return ret(__func__, real_cudnnDestroyConvolutionDescriptor(desc));
}

/* v5 set the compute type implicitly from the data; v6+ stores it in the descriptor.
 * Make it follow the input's data type before each use. */
static void match_compute_type(cudnnConvolutionDescriptor_t conv, cudnnTensorDescriptor_t x)
{
    if (!real_cudnnGetConvolution2dDescriptor)
        return;
    cudnnDataType_t want = tensor_dtype(x) == CUDNN_DATA_DOUBLE ? CUDNN_DATA_DOUBLE : CUDNN_DATA_FLOAT;
    int ph, pw, u, v, dh, dw;
    cudnnConvolutionMode_t mode;
    cudnnDataType_t have;
    if (real_cudnnGetConvolution2dDescriptor(conv, &ph, &pw, &u, &v, &dh, &dw, &mode, &have) != CUDNN_STATUS_SUCCESS
        || have == want)
        return;
    if (real_cudnnSetConvolution2dDescriptor(conv, ph, pw, u, v, dh, dw, mode, want) == CUDNN_STATUS_SUCCESS) {
        set_math(conv);
        trace("convolution compute type set to %s to match the data", want == CUDNN_DATA_DOUBLE ? "DOUBLE" : "FLOAT");
    }
}

static int conv_math(cudnnConvolutionDescriptor_t conv)
{
    cudnnMathType_t m = CUDNN_DEFAULT_MATH;
    if (real_cudnnGetConvolutionMathType)
        real_cudnnGetConvolutionMathType(conv, &m);
    return (int)m;
}

/* Mocha: (handle, x, w, conv, y, preference::Int, limit::Csize_t, algo::Ptr{Int}).
 * The C type of preference/algo in v5 is a 32-bit enum; Mocha passes 64-bit Ints
 * (zero-initialised), so writing the 32-bit enum is what cuDNN 5 did. */
EXPORT int cudnnGetConvolutionForwardAlgorithm(cudnnHandle_t handle, cudnnTensorDescriptor_t x,
                                               cudnnFilterDescriptor_t w, cudnnConvolutionDescriptor_t conv,
                                               cudnnTensorDescriptor_t y, int preference, size_t limit,
                                               int *algo)
{
    NEED(cudnnGetConvolutionForwardAlgorithm_v7);
    if (preference < V5_FWD_NO_WORKSPACE || preference > V5_FWD_SPECIFY_WORKSPACE_LIMIT || !algo)
        return V5_STATUS_BAD_PARAM;
    match_compute_type(conv, x);
    cudnnConvolutionFwdAlgoPerf_t perf[32];
    int n = 0;
    cudnnStatus_t st = real_cudnnGetConvolutionForwardAlgorithm_v7(handle, x, w, conv, y, 32, &n, perf);
    if (st != CUDNN_STATUS_SUCCESS)
        return ret(__func__, st);
    int ok[32];
    size_t mem[32];
    int math = conv_math(conv);
    for (int i = 0; i < n; i++) {
        int v5 = installed_to_v5("cudnnConvolutionFwdAlgo_t", (int)perf[i].algo);
        ok[i] = perf[i].status == CUDNN_STATUS_SUCCESS && (int)perf[i].mathType == math && v5 >= 0
                && v5 <= fwd_algo_max;
        mem[i] = perf[i].memory;
        trace("  _v7 result %d: algo %d status %d math %d memory %zu%s", i, (int)perf[i].algo,
              (int)perf[i].status, (int)perf[i].mathType, perf[i].memory, ok[i] ? "" : " (not usable)");
    }
    int pick = cudnn5compat_select_algo(preference, limit, n, ok, mem);
    if (pick < 0) {
        /* IMPLICIT_GEMM needs no workspace and supports every configuration */
        size_t need = 1;
        if (real_cudnnGetConvolutionForwardWorkspaceSize
            && real_cudnnGetConvolutionForwardWorkspaceSize(handle, x, w, conv, y,
                                                            CUDNN_CONVOLUTION_FWD_ALGO_IMPLICIT_GEMM, &need)
                   == CUDNN_STATUS_SUCCESS
            && need == 0) {
            *algo = V5_FWD_ALGO_IMPLICIT_GEMM;
            trace("cudnnGetConvolutionForwardAlgorithm(pref %d, limit %zu): no heuristic result fits, IMPLICIT_GEMM",
                  preference, limit);
            return V5_STATUS_SUCCESS;
        }
        trace("cudnnGetConvolutionForwardAlgorithm(pref %d, limit %zu): no algorithm fits", preference, limit);
        return V5_STATUS_NOT_SUPPORTED;
    }
    *algo = installed_to_v5("cudnnConvolutionFwdAlgo_t", (int)perf[pick].algo);
    trace("cudnnGetConvolutionForwardAlgorithm(pref %d, limit %zu) -> algo %d (workspace %zu) from %d _v7 results",
          preference, limit, *algo, perf[pick].memory, n);
    return V5_STATUS_SUCCESS;
}

EXPORT int cudnnGetConvolutionForwardWorkspaceSize(cudnnHandle_t handle, cudnnTensorDescriptor_t x,
                                                   cudnnFilterDescriptor_t w, cudnnConvolutionDescriptor_t conv,
                                                   cudnnTensorDescriptor_t y, int algo, size_t *size)
{
    NEED(cudnnGetConvolutionForwardWorkspaceSize);
    cudnnConvolutionFwdAlgo_t a;
    ENUM_IN(cudnnConvolutionFwdAlgo_t, algo, a);
    match_compute_type(conv, x);
    return ret(__func__, real_cudnnGetConvolutionForwardWorkspaceSize(handle, x, w, conv, y, a, size));
}

EXPORT int cudnnConvolutionForward(cudnnHandle_t handle, const void *alpha, cudnnTensorDescriptor_t x_desc,
                                   const void *x, cudnnFilterDescriptor_t w_desc, const void *w,
                                   cudnnConvolutionDescriptor_t conv, int algo, void *ws, size_t ws_size,
                                   const void *beta, cudnnTensorDescriptor_t y_desc, void *y)
{
    NEED(cudnnConvolutionForward);
    cudnnConvolutionFwdAlgo_t a;
    ENUM_IN(cudnnConvolutionFwdAlgo_t, algo, a);
    match_compute_type(conv, x_desc);
    return ret(__func__, real_cudnnConvolutionForward(handle, alpha, x_desc, x, w_desc, w, conv, a, ws, ws_size,
                                                      beta, y_desc, y));
}

EXPORT int cudnnConvolutionBackwardBias(cudnnHandle_t handle, const void *alpha, cudnnTensorDescriptor_t dy_desc,
                                        const void *dy, const void *beta, cudnnTensorDescriptor_t db_desc, void *db)
{
    NEED(cudnnConvolutionBackwardBias);
    return ret(__func__, real_cudnnConvolutionBackwardBias(handle, alpha, dy_desc, dy, beta, db_desc, db));
}

EXPORT int cudnnConvolutionBackwardFilter(cudnnHandle_t handle, const void *alpha, cudnnTensorDescriptor_t x_desc,
                                          const void *x, cudnnTensorDescriptor_t dy_desc, const void *dy,
                                          cudnnConvolutionDescriptor_t conv, int algo, void *ws, size_t ws_size,
                                          const void *beta, cudnnFilterDescriptor_t dw_desc, void *dw)
{
    NEED(cudnnConvolutionBackwardFilter);
    cudnnConvolutionBwdFilterAlgo_t a;
    ENUM_IN(cudnnConvolutionBwdFilterAlgo_t, algo, a);
    match_compute_type(conv, x_desc);
    size_t need = 0;
    cudnnStatus_t st = CUDNN_STATUS_NOT_SUPPORTED;
    if (real_cudnnGetConvolutionBackwardFilterWorkspaceSize)
        st = real_cudnnGetConvolutionBackwardFilterWorkspaceSize(handle, x_desc, dy_desc, conv, dw_desc, a, &need);
    if ((st != CUDNN_STATUS_SUCCESS || need > ws_size) && real_cudnnGetConvolutionBackwardFilterAlgorithm_v7) {
        cudnnConvolutionBwdFilterAlgoPerf_t perf[16];
        int n = 0, math = conv_math(conv), first_ok = -1, fit = -1;
        if (real_cudnnGetConvolutionBackwardFilterAlgorithm_v7(handle, x_desc, dy_desc, conv, dw_desc, 16, &n, perf)
            == CUDNN_STATUS_SUCCESS) {
            for (int i = 0; i < n; i++) {
                if (perf[i].status != CUDNN_STATUS_SUCCESS || (int)perf[i].mathType != math)
                    continue;
                if (first_ok < 0)
                    first_ok = i;
                if (fit < 0 && perf[i].memory <= ws_size)
                    fit = i;
            }
        }
        int pick = fit >= 0 ? fit : first_ok;
        if (pick >= 0) {
            trace("cudnnConvolutionBackwardFilter: algo %d %s (needs %zu, given %zu); using algo %d",
                  (int)a, st == CUDNN_STATUS_SUCCESS ? "needs more workspace" : "unsupported", need, ws_size,
                  (int)perf[pick].algo);
            a = perf[pick].algo;
            need = perf[pick].memory;
            st = CUDNN_STATUS_SUCCESS;
        }
    }
    if (st == CUDNN_STATUS_SUCCESS && need > ws_size) {
        void *s = scratch(need);
        if (!s)
            return V5_STATUS_ALLOC_FAILED;
        trace("cudnnConvolutionBackwardFilter: scratch workspace of %zu bytes", need);
        ws = s;
        ws_size = need;
    }
    return ret(__func__, real_cudnnConvolutionBackwardFilter(handle, alpha, x_desc, x, dy_desc, dy, conv, a, ws,
                                                             ws_size, beta, dw_desc, dw));
}

EXPORT int cudnnConvolutionBackwardData(cudnnHandle_t handle, const void *alpha, cudnnFilterDescriptor_t w_desc,
                                        const void *w, cudnnTensorDescriptor_t dy_desc, const void *dy,
                                        cudnnConvolutionDescriptor_t conv, int algo, void *ws, size_t ws_size,
                                        const void *beta, cudnnTensorDescriptor_t dx_desc, void *dx)
{
    NEED(cudnnConvolutionBackwardData);
    cudnnConvolutionBwdDataAlgo_t a;
    ENUM_IN(cudnnConvolutionBwdDataAlgo_t, algo, a);
    match_compute_type(conv, dx_desc);
    size_t need = 0;
    cudnnStatus_t st = CUDNN_STATUS_NOT_SUPPORTED;
    if (real_cudnnGetConvolutionBackwardDataWorkspaceSize)
        st = real_cudnnGetConvolutionBackwardDataWorkspaceSize(handle, w_desc, dy_desc, conv, dx_desc, a, &need);
    if ((st != CUDNN_STATUS_SUCCESS || need > ws_size) && real_cudnnGetConvolutionBackwardDataAlgorithm_v7) {
        cudnnConvolutionBwdDataAlgoPerf_t perf[16];
        int n = 0, math = conv_math(conv), first_ok = -1, fit = -1;
        if (real_cudnnGetConvolutionBackwardDataAlgorithm_v7(handle, w_desc, dy_desc, conv, dx_desc, 16, &n, perf)
            == CUDNN_STATUS_SUCCESS) {
            for (int i = 0; i < n; i++) {
                if (perf[i].status != CUDNN_STATUS_SUCCESS || (int)perf[i].mathType != math)
                    continue;
                if (first_ok < 0)
                    first_ok = i;
                if (fit < 0 && perf[i].memory <= ws_size)
                    fit = i;
            }
        }
        int pick = fit >= 0 ? fit : first_ok;
        if (pick >= 0) {
            trace("cudnnConvolutionBackwardData: algo %d %s (needs %zu, given %zu); using algo %d", (int)a,
                  st == CUDNN_STATUS_SUCCESS ? "needs more workspace" : "unsupported", need, ws_size,
                  (int)perf[pick].algo);
            a = perf[pick].algo;
            need = perf[pick].memory;
            st = CUDNN_STATUS_SUCCESS;
        }
    }
    if (st == CUDNN_STATUS_SUCCESS && need > ws_size) {
        void *s = scratch(need);
        if (!s)
            return V5_STATUS_ALLOC_FAILED;
        trace("cudnnConvolutionBackwardData: scratch workspace of %zu bytes", need);
        ws = s;
        ws_size = need;
    }
    return ret(__func__, real_cudnnConvolutionBackwardData(handle, alpha, w_desc, w, dy_desc, dy, conv, a, ws,
                                                           ws_size, beta, dx_desc, dx));
}

EXPORT int cudnnSoftmaxForward(cudnnHandle_t handle, int algorithm, int mode, const void *alpha,
                               cudnnTensorDescriptor_t x_desc, const void *x, const void *beta,
                               cudnnTensorDescriptor_t y_desc, void *y)
{
    NEED(cudnnSoftmaxForward);
    cudnnSoftmaxAlgorithm_t a;
    cudnnSoftmaxMode_t m;
    ENUM_IN(cudnnSoftmaxAlgorithm_t, algorithm, a);
    ENUM_IN(cudnnSoftmaxMode_t, mode, m);
    return ret(__func__, real_cudnnSoftmaxForward(handle, a, m, alpha, x_desc, x, beta, y_desc, y));
}

EXPORT int cudnnSoftmaxBackward(cudnnHandle_t handle, int algorithm, int mode, const void *alpha,
                                cudnnTensorDescriptor_t y_desc, const void *y, cudnnTensorDescriptor_t dy_desc,
                                const void *dy, const void *beta, cudnnTensorDescriptor_t dx_desc, void *dx)
{
    NEED(cudnnSoftmaxBackward);
    cudnnSoftmaxAlgorithm_t a;
    cudnnSoftmaxMode_t m;
    ENUM_IN(cudnnSoftmaxAlgorithm_t, algorithm, a);
    ENUM_IN(cudnnSoftmaxMode_t, mode, m);
    return ret(__func__, real_cudnnSoftmaxBackward(handle, a, m, alpha, y_desc, y, dy_desc, dy, beta, dx_desc, dx));
}

EXPORT int cudnnCreatePoolingDescriptor(cudnnPoolingDescriptor_t *desc)
{
    NEED(cudnnCreatePoolingDescriptor);
    return ret(__func__, real_cudnnCreatePoolingDescriptor(desc));
}

EXPORT int cudnnSetPooling2dDescriptor(cudnnPoolingDescriptor_t desc, int mode, int nan_opt, int window_h,
                                       int window_w, int pad_v, int pad_h, int stride_v, int stride_h)
{
    NEED(cudnnSetPooling2dDescriptor);
    cudnnPoolingMode_t m;
    cudnnNanPropagation_t nan;
    ENUM_IN(cudnnPoolingMode_t, mode, m);
    ENUM_IN(cudnnNanPropagation_t, nan_opt, nan);
    return ret(__func__, real_cudnnSetPooling2dDescriptor(desc, m, nan, window_h, window_w, pad_v, pad_h, stride_v,
                                                          stride_h));
}

EXPORT int cudnnDestroyPoolingDescriptor(cudnnPoolingDescriptor_t desc)
{
    NEED(cudnnDestroyPoolingDescriptor);
    return ret(__func__, real_cudnnDestroyPoolingDescriptor(desc));
}

/* Geometry of a pooling call whose output is larger than cuDNN's floor() size. */
struct pool_ext {
    cudnnDataType_t dt;
    cudnnPoolingMode_t mode;
    int n, c, h, w, eh, ew;
    size_t elt;
};

/* Returns 1 when the call needs the extended-input emulation, 0 when cuDNN can take it
 * as it is (or the shapes are not the ceil() case, so cuDNN should judge them). */
static int pool_needs_ext(cudnnPoolingDescriptor_t pool, cudnnTensorDescriptor_t x_desc,
                          cudnnTensorDescriptor_t y_desc, struct pool_ext *g)
{
    if (!real_cudnnGetPooling2dDescriptor || !real_cudnnGetTensor4dDescriptor)
        return 0;
    cudnnNanPropagation_t nan;
    int wh, ww, pv, ph, sv, sh, ns, cs, hs, ws, yn, yc, yh, yw;
    cudnnDataType_t ydt;
    if (real_cudnnGetPooling2dDescriptor(pool, &g->mode, &nan, &wh, &ww, &pv, &ph, &sv, &sh) != CUDNN_STATUS_SUCCESS)
        return 0;
    if (g->mode != CUDNN_POOLING_MAX && g->mode != CUDNN_POOLING_AVERAGE_COUNT_INCLUDE_PADDING)
        return 0;
    if (real_cudnnGetTensor4dDescriptor(x_desc, &g->dt, &g->n, &g->c, &g->h, &g->w, &ns, &cs, &hs, &ws)
            != CUDNN_STATUS_SUCCESS
        || real_cudnnGetTensor4dDescriptor(y_desc, &ydt, &yn, &yc, &yh, &yw, &ns, &cs, &hs, &ws)
               != CUDNN_STATUS_SUCCESS)
        return 0;
    if (sv <= 0 || sh <= 0 || yn != g->n || yc != g->c)
        return 0;
    int fh = (g->h + 2 * pv - wh) / sv + 1, fw = (g->w + 2 * ph - ww) / sh + 1;
    if ((yh == fh && yw == fw) || yh < fh || yw < fw)
        return 0;
    g->eh = (yh - 1) * sv + wh - 2 * pv;
    g->ew = (yw - 1) * sh + ww - 2 * ph;
    if (g->eh < g->h)
        g->eh = g->h;
    if (g->ew < g->w)
        g->ew = g->w;
    g->elt = g->dt == CUDNN_DATA_DOUBLE ? 8 : g->dt == CUDNN_DATA_HALF ? 2 : 4;
    trace("pooling output %dx%d is larger than cuDNN's %dx%d (Mocha sizes with ceil); input extended %dx%d -> %dx%d",
          yh, yw, fh, fw, g->h, g->w, g->eh, g->ew);
    return 1;
}

/* Make ext (the extended input, fill value outside x) and sub (x's place in it). */
static cudnnStatus_t pool_make_ext(cudnnHandle_t handle, const struct pool_ext *g, cudnnTensorDescriptor_t x_desc,
                                   const void *x, void *buf, cudnnTensorDescriptor_t *ext,
                                   cudnnTensorDescriptor_t *sub)
{
    cudnnStatus_t st;
    *ext = *sub = NULL;
    if ((st = real_cudnnCreateTensorDescriptor(ext)) != CUDNN_STATUS_SUCCESS)
        return st;
    if ((st = real_cudnnCreateTensorDescriptor(sub)) != CUDNN_STATUS_SUCCESS)
        return st;
    if ((st = real_cudnnSetTensor4dDescriptor(*ext, CUDNN_TENSOR_NCHW, g->dt, g->n, g->c, g->eh, g->ew))
        != CUDNN_STATUS_SUCCESS)
        return st;
    if ((st = real_cudnnSetTensor4dDescriptorEx(*sub, g->dt, g->n, g->c, g->h, g->w, g->c * g->eh * g->ew,
                                                g->eh * g->ew, g->ew, 1)) != CUDNN_STATUS_SUCCESS)
        return st;
    if (x) {
        double fill_d = g->mode == CUDNN_POOLING_MAX ? -DBL_MAX : 0.0;
        float fill_f = g->mode == CUDNN_POOLING_MAX ? -FLT_MAX : 0.0f;
        if (g->dt == CUDNN_DATA_HALF && g->mode == CUDNN_POOLING_MAX)
            fill_f = -65504.0f;
        const void *fill = g->dt == CUDNN_DATA_DOUBLE ? (const void *)&fill_d : (const void *)&fill_f;
        if ((st = real_cudnnSetTensor(handle, *ext, buf, fill)) != CUDNN_STATUS_SUCCESS)
            return st;
        st = real_cudnnTransformTensor(handle, ONE(g->dt), x_desc, x, ZERO(g->dt), *sub, buf);
    }
    return st;
}

static void pool_free(cudnnTensorDescriptor_t a, cudnnTensorDescriptor_t b)
{
    if (a)
        real_cudnnDestroyTensorDescriptor(a);
    if (b)
        real_cudnnDestroyTensorDescriptor(b);
}

EXPORT int cudnnPoolingForward(cudnnHandle_t handle, cudnnPoolingDescriptor_t pool, const void *alpha,
                               cudnnTensorDescriptor_t x_desc, const void *x, const void *beta,
                               cudnnTensorDescriptor_t y_desc, void *y)
{
    NEED(cudnnPoolingForward);
    struct pool_ext g;
    if (!pool_needs_ext(pool, x_desc, y_desc, &g))
        return ret(__func__, real_cudnnPoolingForward(handle, pool, alpha, x_desc, x, beta, y_desc, y));
    pthread_mutex_lock(&lock);
    size_t bytes = (size_t)g.n * g.c * g.eh * g.ew * g.elt;
    void *buf = scratch(bytes);
    cudnnTensorDescriptor_t ext = NULL, sub = NULL;
    cudnnStatus_t st = buf ? pool_make_ext(handle, &g, x_desc, x, buf, &ext, &sub) : CUDNN_STATUS_ALLOC_FAILED;
    if (st == CUDNN_STATUS_SUCCESS)
        st = real_cudnnPoolingForward(handle, pool, alpha, ext, buf, beta, y_desc, y);
    pool_free(ext, sub);
    pthread_mutex_unlock(&lock);
    if (!buf)
        return V5_STATUS_ALLOC_FAILED;
    return ret(__func__, st);
}

EXPORT int cudnnPoolingBackward(cudnnHandle_t handle, cudnnPoolingDescriptor_t pool, const void *alpha,
                                cudnnTensorDescriptor_t y_desc, const void *y, cudnnTensorDescriptor_t dy_desc,
                                const void *dy, cudnnTensorDescriptor_t x_desc, const void *x, const void *beta,
                                cudnnTensorDescriptor_t dx_desc, void *dx)
{
    NEED(cudnnPoolingBackward);
    struct pool_ext g;
    if (!pool_needs_ext(pool, x_desc, y_desc, &g))
        return ret(__func__, real_cudnnPoolingBackward(handle, pool, alpha, y_desc, y, dy_desc, dy, x_desc, x, beta,
                                                       dx_desc, dx));
    pthread_mutex_lock(&lock);
    size_t bytes = (size_t)g.n * g.c * g.eh * g.ew * g.elt;
    char *buf = scratch(2 * bytes);
    cudnnTensorDescriptor_t ext = NULL, sub = NULL;
    cudnnStatus_t st = buf ? pool_make_ext(handle, &g, x_desc, x, buf, &ext, &sub) : CUDNN_STATUS_ALLOC_FAILED;
    if (st == CUDNN_STATUS_SUCCESS)
        st = real_cudnnPoolingBackward(handle, pool, alpha, y_desc, y, dy_desc, dy, ext, buf, ZERO(g.dt), ext,
                                       buf + bytes);
    if (st == CUDNN_STATUS_SUCCESS)
        st = real_cudnnTransformTensor(handle, ONE(g.dt), sub, buf + bytes, beta, dx_desc, dx);
    pool_free(ext, sub);
    pthread_mutex_unlock(&lock);
    if (!buf)
        return V5_STATUS_ALLOC_FAILED;
    return ret(__func__, st);
}

/* Activation: one descriptor per mode, made on first use. */
static cudnnActivationDescriptor_t act_desc[4];

static cudnnStatus_t activation_desc(int mode, cudnnActivationDescriptor_t *out)
{
    cudnnActivationMode_t m;
    int t = v5_to_installed("cudnnActivationMode_t", mode);
    if (t < 0)
        return CUDNN_STATUS_BAD_PARAM;
    m = (cudnnActivationMode_t)t;
    cudnnStatus_t st = CUDNN_STATUS_SUCCESS;
    pthread_mutex_lock(&lock);
    if (!act_desc[mode]) {
        st = real_cudnnCreateActivationDescriptor(&act_desc[mode]);
        if (st == CUDNN_STATUS_SUCCESS)
            st = real_cudnnSetActivationDescriptor(act_desc[mode], m, CUDNN_NOT_PROPAGATE_NAN, 0.0);
        if (st != CUDNN_STATUS_SUCCESS)
            act_desc[mode] = NULL;
    }
    *out = act_desc[mode];
    pthread_mutex_unlock(&lock);
    return st;
}

/* Mocha: cudnnActivationForward(handle, mode, srcDesc, src, destDesc, dest) */
EXPORT int cudnnActivationForward(cudnnHandle_t handle, int mode, cudnnTensorDescriptor_t x_desc, const void *x,
                                  cudnnTensorDescriptor_t y_desc, void *y)
{
    NEED(cudnnActivationForward);
    if (!real_cudnnCreateActivationDescriptor || !real_cudnnSetActivationDescriptor)
        return V5_STATUS_NOT_SUPPORTED;
    cudnnActivationDescriptor_t d;
    cudnnStatus_t st = activation_desc(mode, &d);
    if (st != CUDNN_STATUS_SUCCESS)
        return ret(__func__, st);
    cudnnDataType_t dt = tensor_dtype(y_desc);
    return ret(__func__, real_cudnnActivationForward(handle, d, ONE(dt), x_desc, x, ZERO(dt), y_desc, y));
}

/* Mocha: (handle, mode, srcDesc=y, src, srcDiffDesc=dy, srcDiff, destDesc=x, dest, destDiffDesc=dx, destDiff) */
EXPORT int cudnnActivationBackward(cudnnHandle_t handle, int mode, cudnnTensorDescriptor_t y_desc, const void *y,
                                   cudnnTensorDescriptor_t dy_desc, const void *dy, cudnnTensorDescriptor_t x_desc,
                                   const void *x, cudnnTensorDescriptor_t dx_desc, void *dx)
{
    NEED(cudnnActivationBackward);
    if (!real_cudnnCreateActivationDescriptor || !real_cudnnSetActivationDescriptor)
        return V5_STATUS_NOT_SUPPORTED;
    cudnnActivationDescriptor_t d;
    cudnnStatus_t st = activation_desc(mode, &d);
    if (st != CUDNN_STATUS_SUCCESS)
        return ret(__func__, st);
    cudnnDataType_t dt = tensor_dtype(dx_desc);
    return ret(__func__, real_cudnnActivationBackward(handle, d, ONE(dt), y_desc, y, dy_desc, dy, x_desc, x,
                                                      ZERO(dt), dx_desc, dx));
}
