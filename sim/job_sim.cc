#include "sim/job_sim.h"

#include <algorithm>
#include <cstdint>

#include "collectives/plan_builder.h"
#include "topology/placement.h"

namespace weft::sim {

PlanShapes JobShapes(const SimNetwork& net) {
  const int n = net.nranks();
  std::vector<uint64_t> host(n);
  std::vector<int> numa(n, 0), host_of(n);
  for (int r = 0; r < n; ++r) {
    host[r] = static_cast<uint64_t>(net.HostOf(r));
    host_of[r] = net.HostOf(r);
  }
  return MakePlanShapes(LocalityRing(host, numa), host_of);
}

size_t CallBytes(const SimCall& call, int nranks) {
  return weft::CallBytes(call.coll, call.count, call.elem_size, nranks);
}

Status SimulateCall(const SimJob& job, Algo algo, const SimCall& call, SimResult* out) {
  const int n = job.net.nranks();
  WEFT_REQUIRE(call.elem_size > 0, weftInvalidArgument, "element size 0");
  WEFT_REQUIRE(call.root >= 0 && call.root < n, weftInvalidArgument, "root %d of %d ranks",
               call.root, n);
  WEFT_REQUIRE(SupportedAlgos(call.coll) & (1u << static_cast<int>(algo)), weftInvalidArgument,
               "%s has no %s algorithm", CollName(call.coll), AlgoName(algo));
  const PlanShapes shapes = JobShapes(job.net);
  const Chunking chunking =
      ChunkingFor(job.chunk_size, job.nchannels, job.net.nhosts, call.elem_size);
  std::vector<Plan> plans(n);
  for (int r = 0; r < n; ++r)
    WEFT_CHECK(
        BuildPlan(algo, call.coll, r, shapes, call.count, call.root, chunking, &plans[r])
            .WithContext(Format("rank %d's %s %s plan", r, AlgoName(algo), CollName(call.coll))));
  // The executor's receive window for these plans (Executor::PostReceives, with the
  // staging slots Communicator::Staging gives each channel).
  ExecutorModel executor;
  const size_t slot_bytes = chunking.chunk_elems * call.elem_size;
  const size_t slots = std::clamp<size_t>(job.buffsize / std::max<size_t>(slot_bytes, 1), 2, 64);
  executor.recv_window = std::max<size_t>(8, 2 * slots);
  const bool eager_chunks = job.net.nhosts > 1 && job.between_hosts == TransportKind::kTcp;
  executor.rndv_bytes = job.rndv_bytes != 0 ? job.rndv_bytes
                        : eager_chunks      ? slot_bytes + 1
                                            : size_t{8192};
  return SimulatePlans(plans, call.elem_size, job.net, executor, out);
}

TunerInput JobTunerInput(const SimJob& job) {
  TunerInput in;
  in.nranks = job.net.nranks();
  in.transport = job.net.nhosts == 1 ? TransportKind::kSharedMemory : job.between_hosts;
  in.ranks_per_core = 1;
  in.nhosts = job.net.nhosts;
  in.chunk_bytes = job.chunk_size != 0 ? job.chunk_size : AutoChunkBytes(job.net.nhosts);
  in.nchannels = job.nchannels > 0 ? job.nchannels : AutoChannels(job.net.nhosts);
  std::vector<int> host_of(static_cast<size_t>(job.net.nranks()));
  for (int r = 0; r < job.net.nranks(); ++r)
    host_of[static_cast<size_t>(r)] = job.net.HostOf(r);
  const TreePaths paths = LongestPaths(JobShapes(job.net).trees, host_of);
  in.tree_depth = paths.depth;
  in.tree_hops_between_hosts = paths.between_hosts;
  in.tree_nic_edges = paths.nic_edges;
  in.reduce_gbps = job.net.reduce_gbps;
  in.nics_per_host = job.net.nics_per_host;
  return job.gpu && job.net.nhosts > 1 ? GpuTunerInput(in, *job.gpu) : in;
}

AlgoSpec JobTunerAlgos(const SimJob& job, const AlgoSpec& allowed) {
  return job.gpu && job.net.nhosts > 1 ? DeviceAlgos(allowed) : allowed;
}

}  // namespace weft::sim
