// Measures one collective at one size: correctness check, then timed iterations, out of
// place and in place (and MPI's or Gloo's equivalent on the same buffers with --compare).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "bench/perf_device.h"
#include "bench/perf_gloo.h"
#include "bench/perf_host_buffer.h"
#include "bench/perf_options.h"

namespace weft::perf {

struct Measurement {
  bool valid = false;
  double time_us = 0;
  double algbw = 0;    // GB/s
  double busbw = 0;    // GB/s
  int64_t wrong = -1;  // -1: not checked
};

struct Row {
  size_t bytes = 0;
  size_t count = 0;  // elements, nccl-tests' column (total for allgather/reducescatter)
  weftDataType_t type = weftFloat32;
  weftRedOp_t op = weftSum;
  int root = -1;
  Measurement oop, ip, baseline;  // baseline: --compare mpi or gloo
  std::string algo;               // the algorithm Weft used (out of place)
  // Device buffers: bytes of device data the host's CPU reduced per timed call (out of
  // place, on this rank: the report is rank 0's); -1: host buffers.
  double host_reduced = -1;
};

class Runner {
 public:
  Runner(weftComm_t comm, const Options& options);
  // False (with *error) when --mem device buffers cannot be had.
  bool Ready(std::string* error) const;
  // Returns false (with the row's `wrong` fields set) if a collective call failed.
  bool Measure(size_t bytes, weftDataType_t type, weftRedOp_t op, int root, Row* row);
  double BusFactor() const;
  // Measures on another communicator over the same ranks from here on (the buffers stay,
  // registered with it too with --register; registrations end with their communicator).
  void UseComm(weftComm_t comm);
  // --compare gloo: measures Gloo's collective on the same buffers after Weft's.
  void UseGloo(GlooBaseline* gloo) { gloo_ = gloo; }

 private:
  struct Layout {
    size_t api_count = 0;  // the count passed to the API
    size_t in_elems = 0, out_elems = 0, total = 0;
  };
  Layout LayoutFor(size_t bytes, size_t esz) const;
  weftResult_t Call(const void* send, void* recv, const Layout& l, weftDataType_t type,
                    weftRedOp_t op, int root);
  // One group of sends and receives: all-to-all, or the ring's send right, receive left.
  weftResult_t CallP2P(const void* send, void* recv, const Layout& l, weftDataType_t type,
                       void* stream);
  void FillInput(void* buf, const Layout& l, weftDataType_t type, weftRedOp_t op, int root);
  // Returns false if there is nothing to check on this rank.
  bool FillExpectedOutput(void* buf, const Layout& l, weftDataType_t type, weftRedOp_t op,
                          int root);
  // This rank's time, made one figure over the ranks as -a says.
  double AcrossRanks(double v);
  int64_t SumOverRanks(int64_t v);
  void Barrier();

  weftComm_t comm_;
  Options options_;
  int rank_ = 0, nranks_ = 1;
  // Registers the host buffers with comm_ (--register).
  void RegisterBuffers();

  HostBuffer send_, recv_;  // host buffers, or host mirrors of device ones
  std::vector<char> expected_;
  DeviceBuffers device_;
  std::string device_error_;
  GlooBaseline* gloo_ = nullptr;
};

}  // namespace weft::perf
