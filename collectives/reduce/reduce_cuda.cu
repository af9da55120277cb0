// The device reduction kernel. Every (type, op) instantiates one kernel that reads a task
// list (DevicePhase), reduces N inputs in one pass (each input read once, the output
// written once), and moves the aligned body in 16-byte vectors with several loads in flight
// per thread. fp16, bf16 and fp8 compute in float32 and round once to nearest even (fp8
// saturating), as the host reductions do, so both give the same bits for two inputs.
#include <cuda_runtime.h>

#include <cstdint>
#include <type_traits>

#include "collectives/reduce/device_formats.cuh"
#include "collectives/reduce/native_format.h"
#include "collectives/reduce/reduce_cuda.h"
#include "collectives/reduce/reduce_ops.h"
#include "collectives/reduce/vector_split.h"
#include "common/dtype.h"

namespace weft {
namespace {

// One element: reduce the n inputs, round once, then divide for weftAvg.
template <typename F, typename Op>
__device__ typename F::Stored ReduceOne(const DeviceTask& t, size_t i, int divisor) {
  using S = typename F::Stored;
  if (t.ninputs == 1 && divisor <= 0) return static_cast<const S*>(t.in[0])[i];  // a copy: bits
  auto acc = F::Load(static_cast<const S*>(t.in[0])[i]);
  for (uint32_t k = 1; k < t.ninputs; ++k)
    acc = Op::Apply(acc, F::Load(static_cast<const S*>(t.in[k])[i]));
  S out = F::Store(acc);
  if (divisor > 0) out = F::Store(F::Load(out) / static_cast<typename F::Compute>(divisor));
  return out;
}

constexpr int kUnroll = 4;  // vectors each thread has in flight per input

template <typename F, typename Op>
__device__ void ReduceVectors(const DeviceTask& t, size_t first, size_t nvec, int divisor,
                              size_t thread, size_t nthreads) {
  using S = typename F::Stored;
  constexpr int kPer = kVectorBytes / sizeof(S);
  const auto* in0 = reinterpret_cast<const uint4*>(static_cast<const S*>(t.in[0]) + first);
  auto* out = reinterpret_cast<uint4*>(static_cast<S*>(t.out) + first);
  for (size_t base = thread; base < nvec; base += nthreads * kUnroll) {
    uint4 acc[kUnroll];
#pragma unroll
    for (int u = 0; u < kUnroll; ++u) {
      const size_t v = base + u * nthreads;
      if (v < nvec) acc[u] = in0[v];
    }
    if (t.ninputs == 2) {  // the common case (a ring step, two ranks): no accumulator array
      const auto* in1 = reinterpret_cast<const uint4*>(static_cast<const S*>(t.in[1]) + first);
      uint4 y[kUnroll];
#pragma unroll
      for (int u = 0; u < kUnroll; ++u) {
        const size_t v = base + u * nthreads;
        if (v < nvec) y[u] = in1[v];
      }
#pragma unroll
      for (int u = 0; u < kUnroll; ++u) {
        const size_t v = base + u * nthreads;
        if (v >= nvec) continue;
        uint4 r;
        S* e = reinterpret_cast<S*>(&r);
        const S* a = reinterpret_cast<const S*>(&acc[u]);
        const S* b = reinterpret_cast<const S*>(&y[u]);
#pragma unroll
        for (int j = 0; j < kPer; ++j) {
          e[j] = F::Store(Op::Apply(F::Load(a[j]), F::Load(b[j])));
          if (divisor > 0)
            e[j] = F::Store(F::Load(e[j]) / static_cast<typename F::Compute>(divisor));
        }
        out[v] = r;
      }
      continue;
    }
    if (t.ninputs == 1 && divisor <= 0) {  // a copy
#pragma unroll
      for (int u = 0; u < kUnroll; ++u) {
        const size_t v = base + u * nthreads;
        if (v < nvec) out[v] = acc[u];
      }
      continue;
    }
    // Reduce in the compute type, element by element of each vector.
    typename F::Compute sum[kUnroll][kPer];
#pragma unroll
    for (int u = 0; u < kUnroll; ++u) {
      const S* e = reinterpret_cast<const S*>(&acc[u]);
#pragma unroll
      for (int j = 0; j < kPer; ++j)
        sum[u][j] = F::Load(e[j]);
    }
    for (uint32_t k = 1; k < t.ninputs; ++k) {
      const auto* ink = reinterpret_cast<const uint4*>(static_cast<const S*>(t.in[k]) + first);
      uint4 x[kUnroll];
#pragma unroll
      for (int u = 0; u < kUnroll; ++u) {
        const size_t v = base + u * nthreads;
        if (v < nvec) x[u] = ink[v];
      }
#pragma unroll
      for (int u = 0; u < kUnroll; ++u) {
        const S* e = reinterpret_cast<const S*>(&x[u]);
#pragma unroll
        for (int j = 0; j < kPer; ++j)
          sum[u][j] = Op::Apply(sum[u][j], F::Load(e[j]));
      }
    }
#pragma unroll
    for (int u = 0; u < kUnroll; ++u) {
      const size_t v = base + u * nthreads;
      if (v >= nvec) continue;
      uint4 r;
      S* e = reinterpret_cast<S*>(&r);
#pragma unroll
      for (int j = 0; j < kPer; ++j) {
        e[j] = F::Store(sum[u][j]);
        if (divisor > 0) e[j] = F::Store(F::Load(e[j]) / static_cast<typename F::Compute>(divisor));
      }
      out[v] = r;
    }
  }
}

template <typename F, typename Op>
__global__ void __launch_bounds__(512) PhaseKernel(const DevicePhase* phase) {
  __shared__ DeviceTask task;
  __shared__ int run;
  __shared__ int divisor;
  if (threadIdx.x == 0) {
    run = phase->skip == 0 && blockIdx.y < phase->ntasks;
    divisor = phase->divisor;
    if (run) task = phase->task[blockIdx.y];
  }
  __syncthreads();
  if (!run || task.count == 0) return;
  using S = typename F::Stored;
  uintptr_t addrs[kMaxDeviceInputs + 1];
  for (uint32_t k = 0; k < task.ninputs; ++k)
    addrs[k] = reinterpret_cast<uintptr_t>(task.in[k]);
  addrs[task.ninputs] = reinterpret_cast<uintptr_t>(task.out);
  const VectorSplit split =
      SplitForVectors(addrs, static_cast<int>(task.ninputs) + 1, task.count, sizeof(S));
  const size_t thread = static_cast<size_t>(blockIdx.x) * blockDim.x + threadIdx.x;
  const size_t nthreads = static_cast<size_t>(gridDim.x) * blockDim.x;
  S* out = static_cast<S*>(task.out);
  // Head and tail are under 16 bytes each when vectorized; otherwise the head is everything.
  for (size_t i = thread; i < split.head; i += nthreads)
    out[i] = ReduceOne<F, Op>(task, i, divisor);
  const size_t tail_start = split.head + split.vectors * (kVectorBytes / sizeof(S));
  for (size_t i = tail_start + thread; i < task.count; i += nthreads)
    out[i] = ReduceOne<F, Op>(task, i, divisor);
  if (split.vectors > 0)
    ReduceVectors<F, Op>(task, split.head, split.vectors, divisor, thread, nthreads);
}

// Calls fn(kernel) with the kernel of (type, op).
template <typename Fn>
cudaError_t WithKernel(weftDataType_t type, weftRedOp_t op, Fn&& fn) {
  return VisitDeviceFormat(type, [&](auto f) {
    return VisitOp(op, [&](auto o) {
      return fn(PhaseKernel<typename decltype(f)::type, typename decltype(o)::type>);
    });
  });
}

}  // namespace

Status PreloadDeviceKernels() {
  for (int t = 0; t < weftNumTypes; ++t) {
    for (weftRedOp_t op : {weftSum, weftProd, weftMax, weftMin}) {
      const cudaError_t err = WithKernel(static_cast<weftDataType_t>(t), op, [](auto kernel) {
        cudaFuncAttributes attr;
        return cudaFuncGetAttributes(&attr, kernel);
      });
      if (err != cudaSuccess)
        return CudaError(Format("loading the reduction kernels: %s", cudaGetErrorString(err)));
    }
  }
  return Status::Ok();
}

Status LaunchDevicePhase(const DevicePhase* phase, int ntasks, size_t max_count,
                         weftDataType_t type, weftRedOp_t op, int sm_count, void* stream) {
  if (!ValidType(type) || !ValidOp(op))
    return InvalidArgument(Format("device reduction of type %d, op %d", type, op));
  if (ntasks < 1 || ntasks > kMaxDeviceTasks)
    return InvalidArgument(Format("device phase with %d tasks (1..%d)", ntasks, kMaxDeviceTasks));
  const LaunchShape shape = ChooseLaunch(sm_count, max_count * TypeSize(type), ntasks);
  const dim3 grid(static_cast<unsigned>(shape.blocks_per_task), static_cast<unsigned>(ntasks));
  auto s = static_cast<cudaStream_t>(stream);
  const cudaError_t err = WithKernel(type, op, [&](auto kernel) {
    kernel<<<grid, shape.threads, 0, s>>>(phase);
    return cudaGetLastError();
  });
  if (err != cudaSuccess)
    return CudaError(Format("reduction kernel launch: %s", cudaGetErrorString(err)));
  return Status::Ok();
}

}  // namespace weft
