/*
 * The cuDNN, cuBLAS and CUDA driver entry points as Mocha.jl 0.3.1 declares them in its
 * ccall()s (src/cuda/cudnn.jl, cublas.jl, cuda.jl), written as C function pointer types.
 * Julia types: Ptr{Void} -> void *, Cint -> int, Int -> int64_t, Csize_t -> size_t.
 * The harness calls the compatibility library only through these types, exactly as
 * Mocha would.  (The argument lists are data derived from Mocha, see
 * mocha-cudnn-symbols.txt; no Mocha code is copied.)
 */
#ifndef MOCHA_V5_H
#define MOCHA_V5_H
#include <stddef.h>
#include <stdint.h>

typedef void *Handle;
typedef void *Desc; /* Tensor4dDescriptor, FilterDescriptor, ConvolutionDescriptor, PoolingDescriptor */

/* cuDNN (status is Cint) */
typedef int (*m_cudnnCreate_t)(Handle *);
typedef int (*m_cudnnDestroy_t)(Handle);
typedef int (*m_cudnnSetStream_t)(Handle, void *);
typedef int (*m_cudnnGetStream_t)(Handle, void **);
typedef int (*m_cudnnCreateDesc_t)(Desc *);
typedef int (*m_cudnnDestroyDesc_t)(Desc);
typedef int (*m_cudnnSetTensor4dDescriptor_t)(Desc, int, int, int, int, int, int);
typedef int (*m_cudnnSetTensor4dDescriptorEx_t)(Desc, int, int, int, int, int, int, int, int, int);
typedef int (*m_cudnnGetTensor4dDescriptor_t)(Desc, int *, int *, int *, int *, int *, int *, int *, int *, int *);
typedef int (*m_cudnnTransformTensor4d_t)(Handle, Desc, void *, Desc, void *);
typedef int (*m_cudnnAddTensor_t)(Handle, void *, Desc, void *, void *, Desc, void *);
typedef int (*m_cudnnSetTensor4d_t)(Handle, Desc, void *, void *);
typedef int (*m_cudnnSetFilter4dDescriptor_t)(Desc, int, int, int, int, int, int);
typedef int (*m_cudnnGetFilterDescriptor_t)(Desc, int *, int *, int *, int *, int *, int *);
typedef int (*m_cudnnSetConvolution2dDescriptor_t)(Desc, int, int, int, int, int, int, int);
typedef int (*m_cudnnSetConvolutionDescriptorEx_t)(Desc, int, int, int, int, int, int, int, int, int, int, int, int,
                                                   int, int);
typedef int (*m_cudnnGetConvolutionForwardAlgorithm_t)(Handle, Desc, Desc, Desc, Desc, int64_t, size_t, int64_t *);
typedef int (*m_cudnnGetConvolutionForwardWorkspaceSize_t)(Handle, Desc, Desc, Desc, Desc, int64_t, size_t *);
typedef int (*m_cudnnConvolutionForward_t)(Handle, void *, Desc, void *, Desc, void *, Desc, int, void *, size_t,
                                           void *, Desc, void *);
typedef int (*m_cudnnConvolutionBackwardBias_t)(Handle, void *, Desc, void *, void *, Desc, void *);
typedef int (*m_cudnnConvolutionBackwardFilter_t)(Handle, void *, Desc, void *, Desc, void *, Desc, int, void *,
                                                  size_t, void *, Desc, void *);
typedef int (*m_cudnnConvolutionBackwardData_t)(Handle, void *, Desc, void *, Desc, void *, Desc, int, void *,
                                                size_t, void *, Desc, void *);
typedef int (*m_cudnnSoftmaxForward_t)(Handle, int, int, void *, Desc, void *, void *, Desc, void *);
typedef int (*m_cudnnSoftmaxBackward_t)(Handle, int, int, void *, Desc, void *, Desc, void *, void *, Desc, void *);
typedef int (*m_cudnnSetPooling2dDescriptor_t)(Desc, int, int, int, int, int, int, int, int);
typedef int (*m_cudnnPoolingForward_t)(Handle, Desc, void *, Desc, void *, void *, Desc, void *);
typedef int (*m_cudnnPoolingBackward_t)(Handle, Desc, void *, Desc, void *, Desc, void *, Desc, void *, void *, Desc,
                                        void *);
typedef int (*m_cudnnActivationForward_t)(Handle, int, Desc, void *, Desc, void *);
typedef int (*m_cudnnActivationBackward_t)(Handle, int, Desc, void *, Desc, void *, Desc, void *, Desc, void *);

/* cuBLAS v2 */
typedef int (*m_cublasCreate_v2_t)(Handle *);
typedef int (*m_cublasDestroy_v2_t)(Handle);
typedef int (*m_cublasSgemm_v2_t)(Handle, int, int, int, int, int, void *, void *, int, void *, int, void *, void *,
                                  int);

/* CUDA driver (CUdeviceptr is a 64-bit integer) */
typedef int (*m_cuInit_t)(int);
typedef int (*m_cuDeviceGetCount_t)(int *);
typedef int (*m_cuDeviceGet_t)(int *, int);
typedef int (*m_cuDeviceGetName_t)(char *, int, int);
typedef int (*m_cuCtxCreate_v2_t)(void **, unsigned, int);
typedef int (*m_cuCtxDestroy_v2_t)(void *);
typedef int (*m_cuCtxSynchronize_t)(void);
typedef int (*m_cuMemAlloc_v2_t)(uint64_t *, size_t);
typedef int (*m_cuMemFree_v2_t)(uint64_t);
typedef int (*m_cuMemcpyHtoD_v2_t)(uint64_t, const void *, size_t);
typedef int (*m_cuMemcpyDtoH_v2_t)(void *, uint64_t, size_t);
typedef int (*m_cuDriverGetVersion_t)(int *);

/* v5 constants Mocha uses */
enum { M_DATA_FLOAT = 0, M_TENSOR_NCHW = 0, M_NOT_PROPAGATE_NAN = 0, M_CROSS_CORRELATION = 1 };
enum { M_FWD_NO_WORKSPACE = 0, M_FWD_PREFER_FASTEST = 1, M_FWD_SPECIFY_WORKSPACE_LIMIT = 2 };
enum { M_SOFTMAX_ACCURATE = 1, M_SOFTMAX_MODE_CHANNEL = 1 };
enum { M_POOLING_MAX = 0, M_POOLING_AVERAGE = 1 };
enum { M_ACTIVATION_RELU = 1 };
enum { M_OP_N = 0, M_OP_T = 1 };

#endif
