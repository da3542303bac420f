// CUDA self-test of the role mocha.cloud.cuda: device query, then a vector add on every GPU whose
// result is checked element by element on the host.
// Exit codes: 0 all GPUs passed, 1 a CUDA call or the check failed, 2 no CUDA device is usable.
#include <cstdio>
#include <cstdlib>
#include <cmath>
#include <vector>
#include <cuda_runtime.h>

#define CHECK(call)                                                                       \
  do {                                                                                    \
    cudaError_t err_ = (call);                                                            \
    if (err_ != cudaSuccess) {                                                            \
      std::printf("FAIL: %s: %s (%s:%d)\n", #call, cudaGetErrorString(err_), __FILE__, __LINE__); \
      return 1;                                                                           \
    }                                                                                     \
  } while (0)

__global__ void vector_add(const float *a, const float *b, float *c, int n) {
  int i = blockIdx.x * blockDim.x + threadIdx.x;
  if (i < n) c[i] = a[i] + b[i];
}

static int test_device(int dev) {
  const int n = 1 << 20;
  const size_t bytes = n * sizeof(float);
  CHECK(cudaSetDevice(dev));
  std::vector<float> a(n), b(n), c(n, -1.0f);
  for (int i = 0; i < n; ++i) {
    a[i] = 0.5f * i;
    b[i] = 2.0f * (n - i);
  }
  float *da = nullptr, *db = nullptr, *dc = nullptr;
  CHECK(cudaMalloc(&da, bytes));
  CHECK(cudaMalloc(&db, bytes));
  CHECK(cudaMalloc(&dc, bytes));
  CHECK(cudaMemcpy(da, a.data(), bytes, cudaMemcpyHostToDevice));
  CHECK(cudaMemcpy(db, b.data(), bytes, cudaMemcpyHostToDevice));
  const int threads = 256;
  vector_add<<<(n + threads - 1) / threads, threads>>>(da, db, dc, n);
  CHECK(cudaGetLastError());
  CHECK(cudaDeviceSynchronize());
  CHECK(cudaMemcpy(c.data(), dc, bytes, cudaMemcpyDeviceToHost));
  CHECK(cudaFree(da));
  CHECK(cudaFree(db));
  CHECK(cudaFree(dc));
  int bad = 0;
  double max_err = 0.0;
  for (int i = 0; i < n; ++i) {
    double err = std::fabs((double)c[i] - ((double)a[i] + (double)b[i]));
    if (err > max_err) max_err = err;
    if (err > 1e-3 * std::fabs((double)a[i] + (double)b[i]) + 1e-6) ++bad;
  }
  std::printf("vector_add device=%d n=%d mismatches=%d max_abs_error=%g result=%s\n", dev, n, bad, max_err,
              bad ? "FAIL" : "PASS");
  return bad ? 1 : 0;
}

int main() {
  int runtime = 0, driver = 0, count = 0;
  cudaRuntimeGetVersion(&runtime);
  cudaDriverGetVersion(&driver);
  std::printf("cuda_runtime=%d.%d cuda_driver=%d.%d\n", runtime / 1000, (runtime % 1000) / 10, driver / 1000,
              (driver % 1000) / 10);
  cudaError_t err = cudaGetDeviceCount(&count);
  if (err != cudaSuccess || count == 0) {
    std::printf("NO_DEVICE: %s\n", err != cudaSuccess ? cudaGetErrorString(err) : "no CUDA device");
    return 2;
  }
  int failed = 0;
  for (int dev = 0; dev < count; ++dev) {
    cudaDeviceProp p;
    CHECK(cudaGetDeviceProperties(&p, dev));
    std::printf("device=%d name=\"%s\" compute_capability=%d.%d multiprocessors=%d memory_mib=%zu\n", dev, p.name,
                p.major, p.minor, p.multiProcessorCount, (size_t)(p.totalGlobalMem >> 20));
    failed += test_device(dev);
  }
  std::printf("SELFTEST %s on %d device(s)\n", failed ? "FAILED" : "PASSED", count);
  return failed ? 1 : 0;
}
