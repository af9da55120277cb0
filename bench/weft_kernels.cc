// weft-kernels: the device reduction kernel checked and timed on its own.
//
// For every type x op: random inputs, results compared bit for bit with the host
// reduction (2 inputs; 3 inputs where arithmetic happens in the stored type; weftAvg's
// division), at an unaligned offset so heads and tails are exercised. Then bandwidth at
// --bytes per input (default 256 MiB): reduce of 2 inputs (2 reads + 1 write counted)
// against cudaMemcpy device-to-device (1 read + 1 write) measured in the same run.
// Exit status: 0 all correct, 1 a mismatch or CUDA error, 77 no GPU (ctest: skipped).
#include <cuda_runtime.h>

#include <CLI/CLI.hpp>
#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <random>
#include <vector>

#include "collectives/device/device_phase.h"
#include "collectives/reduce/reduce.h"
#include "collectives/reduce/reduce_cuda.h"
#include "common/dtype.h"
#include "common/float_formats.h"

namespace {

using weft::TypeSize;

#define CUDA_OR_FAIL(call)                                                           \
  do {                                                                               \
    cudaError_t e_ = (call);                                                         \
    if (e_ != cudaSuccess) {                                                         \
      std::fprintf(stderr, "weft-kernels: %s: %s\n", #call, cudaGetErrorString(e_)); \
      std::exit(1);                                                                  \
    }                                                                                \
  } while (0)

bool ComputesInStoredType(weftDataType_t t) {
  return t != weftFloat16 && t != weftBfloat16 && t != weftFloat8e4m3 && t != weftFloat8e5m2;
}

// Finite random values: integers are random bits; floats are in [-8, 8) (products of
// three stay finite in fp16; fp8 saturates identically on host and device).
void FillRandom(std::vector<uint8_t>* buf, size_t count, weftDataType_t t, std::mt19937_64& rng) {
  std::uniform_real_distribution<float> real(-8.0f, 8.0f);
  uint8_t* p = buf->data();
  for (size_t i = 0; i < count; ++i) {
    const float f = real(rng);
    switch (t) {
      case weftFloat16: {
        uint16_t v = weft::FloatToHalf(f);
        std::memcpy(p + 2 * i, &v, 2);
        break;
      }
      case weftBfloat16: {
        uint16_t v = weft::FloatToBf16(f);
        std::memcpy(p + 2 * i, &v, 2);
        break;
      }
      case weftFloat8e4m3:
        p[i] = weft::FloatToE4m3(f);
        break;
      case weftFloat8e5m2:
        p[i] = weft::FloatToE5m2(f);
        break;
      case weftFloat32:
        std::memcpy(p + 4 * i, &f, 4);
        break;
      case weftFloat64: {
        const double d = f;
        std::memcpy(p + 8 * i, &d, 8);
        break;
      }
      default: {
        const uint64_t bits = rng();
        std::memcpy(p + TypeSize(t) * i, &bits, TypeSize(t));
      }
    }
  }
}

struct DeviceArena {
  uint8_t* base = nullptr;
  weft::DevicePhase* phase = nullptr;
  ~DeviceArena() {
    cudaFree(base);
    cudaFree(phase);
  }
};

// Runs one phase of one task on the device and returns the output bytes.
std::vector<uint8_t> RunOnDevice(const std::vector<const std::vector<uint8_t>*>& inputs,
                                 size_t count, size_t offset_elems, weftDataType_t t,
                                 weftRedOp_t op, int divisor, int sm_count) {
  const size_t esz = TypeSize(t), bytes = count * esz, off = offset_elems * esz;
  const size_t stride = (bytes + off + 255) / 256 * 256;
  DeviceArena a;
  CUDA_OR_FAIL(cudaMalloc(&a.base, stride * (inputs.size() + 1)));
  CUDA_OR_FAIL(cudaMalloc(&a.phase, sizeof(weft::DevicePhase)));
  weft::DevicePhase host_phase;
  host_phase.ntasks = 1;
  host_phase.divisor = divisor;
  weft::DeviceTask& task = host_phase.task[0];
  task.ninputs = static_cast<uint32_t>(inputs.size());
  task.count = count;
  for (size_t k = 0; k < inputs.size(); ++k) {
    uint8_t* dst = a.base + stride * k + off;
    CUDA_OR_FAIL(cudaMemcpy(dst, inputs[k]->data(), bytes, cudaMemcpyHostToDevice));
    task.in[k] = dst;
  }
  uint8_t* out = a.base + stride * inputs.size() + off;
  CUDA_OR_FAIL(cudaMemset(out, 0xa5, bytes));  // poison: every element must be written
  task.out = out;
  CUDA_OR_FAIL(cudaMemcpy(a.phase, &host_phase, sizeof(host_phase), cudaMemcpyHostToDevice));
  weft::Status s = weft::LaunchDevicePhase(a.phase, 1, count, t, op, sm_count, nullptr);
  if (!s.ok()) {
    std::fprintf(stderr, "weft-kernels: %s\n", s.message().c_str());
    std::exit(1);
  }
  CUDA_OR_FAIL(cudaDeviceSynchronize());
  std::vector<uint8_t> result(bytes);
  CUDA_OR_FAIL(cudaMemcpy(result.data(), out, bytes, cudaMemcpyDeviceToHost));
  return result;
}

size_t CountDifferentBytes(const std::vector<uint8_t>& a, const std::vector<uint8_t>& b,
                           size_t esz) {
  size_t wrong = 0;
  for (size_t i = 0; i + esz <= a.size(); i += esz)
    wrong += std::memcmp(&a[i], &b[i], esz) != 0;
  return wrong;
}

// Median time of `reps` runs of `iters` calls of fn, in microseconds per call.
template <typename Fn>
double TimeUs(Fn fn, int iters, int reps) {
  cudaEvent_t start, stop;
  CUDA_OR_FAIL(cudaEventCreate(&start));
  CUDA_OR_FAIL(cudaEventCreate(&stop));
  fn();  // warm-up
  std::vector<double> times;
  for (int r = 0; r < reps; ++r) {
    CUDA_OR_FAIL(cudaEventRecord(start));
    for (int i = 0; i < iters; ++i)
      fn();
    CUDA_OR_FAIL(cudaEventRecord(stop));
    CUDA_OR_FAIL(cudaEventSynchronize(stop));
    float ms = 0;
    CUDA_OR_FAIL(cudaEventElapsedTime(&ms, start, stop));
    times.push_back(ms * 1000.0 / iters);
  }
  cudaEventDestroy(start);
  cudaEventDestroy(stop);
  std::sort(times.begin(), times.end());
  return times[times.size() / 2];
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"weft-kernels: device reduction kernels, checked and timed"};
  size_t count = (1u << 20) + 7;
  size_t bench_bytes = 256u << 20;
  int iters = 20;
  bool check_only = false, probe = false;
  app.add_option("--count", count, "elements per correctness check (default 1M+7)");
  app.add_option("--bytes", bench_bytes, "bytes per input for bandwidth (default 256 MiB)");
  app.add_option("-n,--iters", iters, "timed launches per measurement (default 20)");
  app.add_flag("--check-only", check_only, "correctness only, no bandwidth");
  app.add_flag("--probe", probe, "only report whether a GPU is there (exit 0) or not (77)");
  CLI11_PARSE(app, argc, argv);

  int ndev = 0;
  if (cudaGetDeviceCount(&ndev) != cudaSuccess || ndev == 0) {
    std::printf("SKIPPED: no CUDA device\n");
    return 77;
  }
  if (probe) return 0;
  cudaDeviceProp prop{};
  CUDA_OR_FAIL(cudaGetDeviceProperties(&prop, 0));
  const int sms = prop.multiProcessorCount;
  std::printf("# device 0: %s, %d SMs\n", prop.name, sms);

  std::mt19937_64 rng(12345);
  size_t total_wrong = 0;
  std::printf("# correctness: %zu elements at offset 1 element, bit-exact against the host\n",
              count);
  std::printf("%-10s %-5s %10s %10s %10s\n", "type", "op", "2 inputs", "3 inputs", "avg");
  for (int ti = 0; ti < weftNumTypes; ++ti) {
    const auto t = static_cast<weftDataType_t>(ti);
    const size_t esz = TypeSize(t);
    std::vector<uint8_t> x(count * esz), y(count * esz), z(count * esz), ref(count * esz);
    FillRandom(&x, count, t, rng);
    FillRandom(&y, count, t, rng);
    FillRandom(&z, count, t, rng);
    for (int oi = 0; oi < weftNumOps; ++oi) {
      const auto op = static_cast<weftRedOp_t>(oi);
      if (op == weftAvg) continue;  // its own column below
      weft::ReduceHost(ref.data(), x.data(), y.data(), count, t, op);
      const size_t w2 =
          CountDifferentBytes(RunOnDevice({&x, &y}, count, 1, t, op, 0, sms), ref, esz);
      std::string w3 = "-";
      if (ComputesInStoredType(t)) {
        weft::ReduceHost(ref.data(), ref.data(), z.data(), count, t, op);
        const size_t w =
            CountDifferentBytes(RunOnDevice({&x, &y, &z}, count, 1, t, op, 0, sms), ref, esz);
        total_wrong += w;
        w3 = std::to_string(w);
      }
      std::string wa = "-";
      if (op == weftSum) {
        weft::ReduceHost(ref.data(), x.data(), y.data(), count, t, op);
        weft::DivideHost(ref.data(), count, t, 2);
        const size_t w =
            CountDifferentBytes(RunOnDevice({&x, &y}, count, 1, t, weftAvg, 2, sms), ref, esz);
        total_wrong += w;
        wa = std::to_string(w);
      }
      total_wrong += w2;
      std::printf("%-10s %-5s %10zu %10s %10s\n", weft::TypeName(t), weft::OpName(op), w2,
                  w3.c_str(), wa.c_str());
    }
  }
  std::printf("# mismatches: %zu\n", total_wrong);
  if (check_only) return total_wrong == 0 ? 0 : 1;

  // Bandwidth: bytes moved through device memory per second.
  uint8_t *a = nullptr, *b = nullptr, *c = nullptr;
  weft::DevicePhase* phase = nullptr;
  CUDA_OR_FAIL(cudaMalloc(&a, bench_bytes));
  CUDA_OR_FAIL(cudaMalloc(&b, bench_bytes));
  CUDA_OR_FAIL(cudaMalloc(&c, bench_bytes));
  CUDA_OR_FAIL(cudaMalloc(&phase, sizeof(weft::DevicePhase)));
  CUDA_OR_FAIL(cudaMemset(a, 0x11, bench_bytes));
  CUDA_OR_FAIL(cudaMemset(b, 0x22, bench_bytes));
  const double copy_us =
      TimeUs([&] { CUDA_OR_FAIL(cudaMemcpyAsync(c, a, bench_bytes, cudaMemcpyDeviceToDevice)); },
             iters, 5);
  const double copy_gbs = 2.0 * static_cast<double>(bench_bytes) / copy_us / 1e3;
  std::printf("# bandwidth: %zu MiB per input; GB/s of device memory traffic\n", bench_bytes >> 20);
  std::printf("%-10s %-5s %10s %10s %8s\n", "type", "op", "time(us)", "GB/s", "vs copy");
  std::printf("%-10s %-5s %10.1f %10.1f %7.1f%%\n", "memcpy", "d2d", copy_us, copy_gbs, 100.0);
  for (int ti = 0; ti < weftNumTypes; ++ti) {
    const auto t = static_cast<weftDataType_t>(ti);
    const size_t n = bench_bytes / TypeSize(t);
    weft::DevicePhase host_phase;
    host_phase.ntasks = 1;
    host_phase.task[0].ninputs = 2;
    host_phase.task[0].count = n;
    host_phase.task[0].in[0] = a;
    host_phase.task[0].in[1] = b;
    host_phase.task[0].out = c;
    CUDA_OR_FAIL(cudaMemcpy(phase, &host_phase, sizeof(host_phase), cudaMemcpyHostToDevice));
    for (int oi = 0; oi < weftNumOps; ++oi) {
      const auto op = static_cast<weftRedOp_t>(oi);
      if (op == weftAvg) continue;
      const double us = TimeUs(
          [&] {
            weft::Status s = weft::LaunchDevicePhase(phase, 1, n, t, op, sms, nullptr);
            if (!s.ok()) std::exit(1);
          },
          iters, 5);
      const double gbs = 3.0 * static_cast<double>(bench_bytes) / us / 1e3;
      std::printf("%-10s %-5s %10.1f %10.1f %7.1f%%\n", weft::TypeName(t), weft::OpName(op), us,
                  gbs, 100.0 * gbs / copy_gbs);
    }
  }
  cudaFree(a);
  cudaFree(b);
  cudaFree(c);
  cudaFree(phase);
  return total_wrong == 0 ? 0 : 1;
}
