#include "bench/perf_options.h"
#include "common/build_info.h"

#include <cstdint>

#include <CLI/CLI.hpp>

#include "common/config.h"
#include "common/dtype.h"

namespace weft::perf {
namespace {

bool ParseCollective(const std::string& name, CollType* out) {
  return ParseCollName(name.c_str(), out);
}

// CLI11 validator for sizes with K/M/G suffixes.
size_t SizeOrThrow(const std::string& text) {
  size_t v;
  if (!ParseSize(text, &v))
    throw CLI::ValidationError("'" + text + "' is not a size (e.g. 8, 64K, 32M, 1G)");
  return v;
}

}  // namespace

const char* BaselineName(const Options& o) {
  return o.compare_mpi ? "MPI" : o.compare_gloo ? "Gloo" : nullptr;
}

const char* AverageName(int average) {
  static const char* const kNames[] = {"rank0", "mean", "min", "max"};
  return average >= 0 && average < 4 ? kNames[average] : "?";
}

const char* BenchName(const Options& o) {
  switch (o.p2p) {
    case P2PPattern::kAllToAll:
      return "alltoall";
    case P2PPattern::kSendRecv:
      return "sendrecv";
    case P2PPattern::kNone:
      break;
  }
  return CollName(o.coll);
}

bool ParseOptions(int argc, char** argv, Options* o, int* exit_code) {
  CLI::App app{"weft-perf: nccl-tests-style bandwidth benchmark for Weft collectives"};
  app.set_version_flag("--version", weft::ToolVersion("weft-perf"));
  std::string coll = "allreduce", b, e, i, d = "float", op = "sum", r = "0", compare, mem = "host";
  app.add_option("collective", coll,
                 "allreduce, allgather, reducescatter, broadcast, reduce, or the point-to-point "
                 "patterns alltoall and sendrecv (a ring: send right, receive from the left)");
  app.add_option("-b,--minbytes", b, "minimum size to start with (default 32M)");
  app.add_option("-e,--maxbytes", e, "maximum size to end at (default 32M)");
  app.add_option("-i,--stepbytes", i, "fixed increment between sizes (default 1M)");
  app.add_option("-f,--stepfactor", o->step_factor, "multiplication factor between sizes");
  app.add_option("-n,--iters", o->iters, "iteration count (default 20)")
      ->check(CLI::PositiveNumber);
  app.add_option("-w,--warmup_iters", o->warmup, "warmup iteration count (default 1)")
      ->check(CLI::NonNegativeNumber);
  app.add_option("-c,--check", o->check, "check correctness (default 1)");
  app.add_option("-d,--datatype", d,
                 "int8 uint8 int32 uint32 int64 uint64 half float double "
                 "bfloat16 f8e4m3 f8e5m2, or all (default float)");
  app.add_option("-o,--op", op, "sum prod max min avg, or all (default sum)");
  app.add_option("-r,--root", r, "root rank, or all (default 0)");
  app.add_option("-z,--blocking", o->blocking,
                 "1: wait for each collective before the next (device buffers: the stream is "
                 "synchronized after each call; host calls always block) (default 0)")
      ->check(CLI::Range(0, 1));
  app.add_option("-a,--average", o->average,
                 "the time reported: rank 0's (0), the average over ranks (1), the least (2) or "
                 "the most (3) (default 1)")
      ->check(CLI::Range(0, 3));
  app.add_option("-J,--output_file", o->json_file, "write the results as JSON to this file");
  app.add_option(
      "--tune", o->tune_file,
      "measure every algorithm over the sizes and write a tuning table (WEFT_TUNE_FILE)");
  app.add_option("--compare", compare,
                 "mpi: measure MPI's collective on the same buffers (under mpirun); gloo: "
                 "Gloo's over its TCP transport (torch.distributed's CPU backend); algos: "
                 "measure every "
                 "algorithm and the automatic choice side by side")
      ->check(CLI::IsMember({"mpi", "gloo", "algos"}));
  app.add_option("--rounds", o->rounds,
                 "--compare algos and --tune: interleaved rounds, the median kept (default 3)")
      ->check(CLI::PositiveNumber);
  app.add_option("-M,--mem", mem,
                 "where the buffers live: host, or device (cudaMalloc on the current GPU, "
                 "with a stream, as nccl-tests)")
      ->check(CLI::IsMember({"host", "device"}));
  app.add_option("-R,--register", o->register_buffers,
                 "host buffers from weftMemAlloc, registered with each communicator "
                 "(weftCommRegister): one-copy plans (direct) read and write them in place "
                 "(default 0)");
  app.add_option("-t,--nthreads", o->threads,
                 "run this many ranks as threads of this one process, each with its own "
                 "communicator (nccl-tests' -t; under a launcher of P processes, P*N ranks; "
                 "on one GPU their kernels run at once, where processes time-slice it) "
                 "(default 1)")
      ->check(CLI::Range(1, 1024));
  try {
    app.parse(argc, argv);
    o->argv.assign(argv, argv + argc);
    if (coll == "alltoall" || coll == "sendrecv") {
      o->p2p = coll == "alltoall" ? P2PPattern::kAllToAll : P2PPattern::kSendRecv;
      o->coll = CollType::kAllGather;
    } else if (!ParseCollective(coll, &o->coll)) {
      throw CLI::ValidationError("unknown collective '" + coll + "'");
    }
    if (!b.empty()) o->min_bytes = SizeOrThrow(b);
    if (!e.empty()) o->max_bytes = SizeOrThrow(e);
    if (!i.empty()) o->step_bytes = SizeOrThrow(i);
    if (o->max_bytes < o->min_bytes) throw CLI::ValidationError("-e must be at least -b");
    if (o->step_factor != 0 && o->step_factor <= 1) throw CLI::ValidationError("-f must be > 1");
    if (o->step_factor == 0 && o->step_bytes == 0) throw CLI::ValidationError("-i must be > 0");
    o->types.clear();
    if (d == "all") {
      for (int t = 0; t < weftNumTypes; ++t)
        o->types.push_back(static_cast<weftDataType_t>(t));
    } else {
      weftDataType_t t;
      if (!ParseTypeName(d, &t)) throw CLI::ValidationError("unknown datatype '" + d + "'");
      o->types.push_back(t);
    }
    o->ops.clear();
    if (op == "all") {
      for (int k = 0; k < weftNumOps; ++k)
        o->ops.push_back(static_cast<weftRedOp_t>(k));
    } else {
      weftRedOp_t x;
      if (!ParseOpName(op, &x)) throw CLI::ValidationError("unknown op '" + op + "'");
      o->ops.push_back(x);
    }
    o->roots.clear();
    if (r == "all") {
      o->roots.push_back(-1);  // expanded once the number of ranks is known
    } else {
      int64_t v;
      if (!ParseInt(r, &v) || v < 0) throw CLI::ValidationError("bad root '" + r + "'");
      o->roots.push_back(static_cast<int>(v));
    }
    o->compare_mpi = compare == "mpi";
    o->compare_gloo = compare == "gloo";
    o->compare_algos = compare == "algos";
    if (o->p2p != P2PPattern::kNone && (o->compare_algos || !o->tune_file.empty()))
      throw CLI::ValidationError(coll + " has no algorithms to compare or tune");
    if (o->threads > 1 && (o->compare_mpi || o->compare_gloo))
      throw CLI::ValidationError(
          "-t runs ranks as threads: MPI and Gloo baselines need one rank "
          "per process");
    o->device = mem == "device";
  } catch (const CLI::ParseError& err) {
    *exit_code = app.exit(err);
    return false;
  }
  return true;
}

std::vector<size_t> SweepSizes(const Options& o) {
  std::vector<size_t> sizes;
  for (size_t s = o.min_bytes; s <= o.max_bytes;) {
    sizes.push_back(s);
    size_t next = o.step_factor > 1 ? static_cast<size_t>(static_cast<double>(s) * o.step_factor)
                                    : s + o.step_bytes;
    if (next <= s) break;
    s = next;
  }
  if (sizes.empty()) sizes.push_back(o.min_bytes);
  return sizes;
}

}  // namespace weft::perf
