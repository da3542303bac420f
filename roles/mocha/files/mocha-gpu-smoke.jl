# GPU smoke test of mocha-cloud's mocha role: the Julia side of the backend decision.
# Run with Mocha's GPU environment (MOCHA_USE_CUDA=true, the cuDNN 5 compat library on the library path, the
# libstdc++ preload when Julia's bundled one is older), exactly as the training runs. It loads Mocha, initializes
# a GPUBackend (CUDA context, cuBLAS, cuDNN, Mocha's kernels), runs one small convolution forward on the GPU and on
# the CPU, compares them, and shuts the backend down. Success prints one line starting with MOCHA_CLOUD_SMOKE.
using Mocha

srand(20161120)
const input = rand(Float32, 16, 16, 3, 4)

function conv_forward(backend)
  init(backend)
  data = MemoryDataLayer(name="data", tops=[:data], batch_size=4, data=Array[input])
  conv = ConvolutionLayer(name="conv", n_filter=8, kernel=(3,3), pad=(1,1), bottoms=[:data], tops=[:conv],
                          filter_init=ConstantInitializer(0.01))
  net = Net("mocha-cloud-smoke", backend, [data, conv])
  forward(net)
  out = to_array(net.output_blobs[:conv])
  destroy(net)
  shutdown(backend)
  return out
end

gpu = conv_forward(GPUBackend())
cpu = conv_forward(CPUBackend())
diff = maximum(abs.(gpu .- cpu))
if !(diff < 1e-3)
  error("GPU and CPU convolutions differ by $(diff)")
end
println("MOCHA_CLOUD_SMOKE ok max_abs_diff=$(diff) size=$(size(gpu))")
