#include "python/c10d/process_group_weft.h"

#include <ATen/ATen.h>

#include <climits>
#include <cstdlib>
#include <cstring>

namespace weft_torch {
namespace {

weftDataType_t TypeOf(const at::Tensor& t) {
  switch (t.scalar_type()) {
    case at::kChar:
      return weftInt8;
    case at::kByte:
      return weftUint8;
    case at::kInt:
      return weftInt32;
    case at::kLong:
      return weftInt64;
    case at::kHalf:
      return weftFloat16;
    case at::kFloat:
      return weftFloat32;
    case at::kDouble:
      return weftFloat64;
    case at::kBFloat16:
      return weftBfloat16;
    default:
      TORCH_CHECK(false, "weft: tensors of ", t.scalar_type(),
                  " are not supported (int8, uint8, int32, int64, float16, bfloat16, float32, "
                  "float64)");
  }
}

weftRedOp_t OpOf(const c10d::ReduceOp& op) {
  switch (static_cast<c10d::ReduceOp::RedOpType>(op)) {
    case c10d::ReduceOp::SUM:
      return weftSum;
    case c10d::ReduceOp::AVG:
      return weftAvg;
    case c10d::ReduceOp::PRODUCT:
      return weftProd;
    case c10d::ReduceOp::MIN:
      return weftMin;
    case c10d::ReduceOp::MAX:
      return weftMax;
    default:
      TORCH_CHECK(false, "weft: reduce op ", static_cast<int>(static_cast<uint8_t>(op)),
                  " is not supported (SUM, AVG, PRODUCT, MIN, MAX)");
  }
}

// A tensor Weft can take as it lies: dense, contiguous, in host memory.
void CheckTensor(const at::Tensor& t, const char* what) {
  TORCH_CHECK(t.device().is_cpu(), "weft: ", what, ": a tensor on ", t.device(),
              "; this backend takes CPU tensors (device tensors: the NCCL shim)");
  TORCH_CHECK(t.layout() == at::kStrided, "weft: ", what, ": sparse tensors are not supported");
  TORCH_CHECK(t.is_contiguous(), "weft: ", what, ": the tensor is not contiguous");
  TypeOf(t);
}

const at::Tensor& Single(const std::vector<at::Tensor>& tensors, const char* what) {
  TORCH_CHECK(tensors.size() == 1, "weft: ", what, " takes one tensor per call, not ",
              tensors.size());
  CheckTensor(tensors[0], what);
  return tensors[0];
}

void CheckSameKind(const at::Tensor& a, const at::Tensor& b, const char* what) {
  TORCH_CHECK(a.scalar_type() == b.scalar_type(), "weft: ", what, ": output of ", b.scalar_type(),
              " for an input of ", a.scalar_type());
}

size_t Count(const at::Tensor& t) {
  return static_cast<size_t>(t.numel());
}

// Where a list of equal tensors (one per rank) already lies end to end in one buffer, as
// FSDP's views of a flat parameter do: that buffer's start, so a collective reads or writes it
// in place; else null, and the caller goes through a flat copy.
void* ContiguousRun(const std::vector<at::Tensor>& list) {
  if (list.empty()) return nullptr;
  char* const base = static_cast<char*>(list[0].data_ptr());
  const size_t bytes = static_cast<size_t>(list[0].numel()) * list[0].element_size();
  for (size_t q = 0; q < list.size(); ++q) {
    if (!list[q].is_contiguous() || static_cast<char*>(list[q].data_ptr()) != base + q * bytes)
      return nullptr;
  }
  return base;
}

// What each peer gets from this rank and sends it, in elements of one type.
struct PeerBlocks {
  const void* send = nullptr;
  size_t send_count = 0;
  void* recv = nullptr;
  size_t recv_count = 0;
};

// All-to-all as one group of sends and receives, a peer at a time (both forms of
// all_to_all); empty blocks move nothing.
weftResult_t ExchangeWithEveryPeer(const std::vector<PeerBlocks>& peers, weftDataType_t type,
                                   weftComm_t comm) {
  weftGroupStart();
  weftResult_t r = weftSuccess;
  for (size_t q = 0; q < peers.size() && r == weftSuccess; ++q) {
    const int peer = static_cast<int>(q);
    if (peers[q].send_count > 0)
      r = weftSend(peers[q].send, peers[q].send_count, type, peer, comm, nullptr);
    if (r == weftSuccess && peers[q].recv_count > 0)
      r = weftRecv(peers[q].recv, peers[q].recv_count, type, peer, comm, nullptr);
  }
  const weftResult_t ended = weftGroupEnd();
  return r != weftSuccess ? r : ended;
}

}  // namespace

WeftWork::WeftWork(int rank, c10d::OpType type, std::vector<at::Tensor> outputs)
    : c10d::Work(rank, type),
      outputs_(std::move(outputs)),
      future_(
          c10::make_intrusive<c10::ivalue::Future>(c10::ListType::create(c10::TensorType::get()))) {
}

std::vector<at::Tensor> WeftWork::result() {
  return outputs_;
}

c10::intrusive_ptr<c10::ivalue::Future> WeftWork::getFuture() {
  return future_;
}

void WeftWork::Finish(std::exception_ptr error) {
  if (error)
    future_->setError(error);
  else
    future_->markCompleted(c10::IValue(outputs_));
  finish(error);
}

c10::intrusive_ptr<c10d::ProcessGroup> ProcessGroupWeft::Create(
    const c10::intrusive_ptr<c10d::Store>& store, int rank, int size,
    const std::chrono::duration<float>& timeout) {
  weftUniqueId id;
  const std::string key = "weft/unique_id";
  if (rank == 0) {
    const weftResult_t r = weftGetUniqueId(&id);
    TORCH_CHECK(r == weftSuccess, "weft: rank 0 cannot make the unique id: ", weftGetErrorString(r),
                ": ", weftGetLastError(nullptr));
    const auto* bytes = reinterpret_cast<const uint8_t*>(&id);
    store->set(key, std::vector<uint8_t>(bytes, bytes + sizeof(id)));
  } else {
    const std::vector<uint8_t> bytes = store->get(key);  // waits up to the store's timeout
    TORCH_CHECK(bytes.size() == sizeof(id), "weft: rank ", rank, " got ", bytes.size(),
                " bytes of unique id from the store, not ", sizeof(id));
    std::memcpy(&id, bytes.data(), sizeof(id));
  }
  weftConfig_t config = WEFT_CONFIG_INITIALIZER;
  if (std::getenv("WEFT_TIMEOUT_MS") == nullptr) {
    const double ms = std::chrono::duration<double, std::milli>(timeout).count();
    config.timeoutMs = ms >= INT_MAX ? INT_MAX : ms < 1 ? 1 : static_cast<int>(ms);
  }
  weftComm_t comm = nullptr;
  const weftResult_t r = weftCommInitRankConfig(&comm, size, id, rank, &config);
  TORCH_CHECK(r == weftSuccess, "weft: init of rank ", rank, " of ", size, ": ",
              weftGetErrorString(r), ": ", weftGetLastError(nullptr));
  return c10::make_intrusive<ProcessGroupWeft>(comm, rank, size);
}

ProcessGroupWeft::ProcessGroupWeft(weftComm_t comm, int rank, int size)
    : c10d::ProcessGroup(rank, size), comm_(comm), worker_([this] { Worker(); }) {}

ProcessGroupWeft::~ProcessGroupWeft() {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    stopping_ = true;
  }
  queued_.notify_all();
  worker_.join();  // runs what was queued first: every Work completes
  weftCommDestroy(comm_);
}

void ProcessGroupWeft::Worker() {
  while (true) {
    Job job;
    {
      std::unique_lock<std::mutex> lock(mutex_);
      queued_.wait(lock, [&] { return stopping_ || !jobs_.empty(); });
      if (jobs_.empty()) return;
      job = std::move(jobs_.front());
      jobs_.pop_front();
    }
    std::exception_ptr error;
    const weftResult_t r = job.run();
    if (r != weftSuccess) {
      // Weft's message names the collective and, where one is to blame, the rank.
      error = std::make_exception_ptr(std::runtime_error(
          std::string("weft: ") + job.what + " on rank " + std::to_string(getRank()) + ": " +
          weftGetErrorString(r) + ": " + weftGetLastError(comm_)));
    }
    job.work->Finish(error);
  }
}

c10::intrusive_ptr<c10d::Work> ProcessGroupWeft::Enqueue(c10d::OpType type,
                                                         std::vector<at::Tensor> outputs,
                                                         std::function<weftResult_t()> run,
                                                         const char* what) {
  auto work = c10::make_intrusive<WeftWork>(getRank(), type, std::move(outputs));
  {
    std::lock_guard<std::mutex> lock(mutex_);
    TORCH_CHECK(!stopping_, "weft: the process group is being destroyed");
    jobs_.push_back(Job{work, std::move(run), what});
  }
  queued_.notify_one();
  return work;
}

c10::intrusive_ptr<c10d::Work> ProcessGroupWeft::broadcast(std::vector<at::Tensor>& tensors,
                                                           const c10d::BroadcastOptions& opts) {
  at::Tensor t = Single(tensors, "broadcast");
  TORCH_CHECK(opts.rootTensor == 0, "weft: broadcast: one tensor per rank (rootTensor 0)");
  const int root = static_cast<int>(opts.rootRank);
  return Enqueue(
      c10d::OpType::BROADCAST, {t},
      [this, t, root] {
        return weftBroadcast(t.data_ptr(), t.data_ptr(), Count(t), TypeOf(t), root, comm_, nullptr);
      },
      "broadcast");
}

c10::intrusive_ptr<c10d::Work> ProcessGroupWeft::allreduce(std::vector<at::Tensor>& tensors,
                                                           const c10d::AllreduceOptions& opts) {
  at::Tensor t = Single(tensors, "all_reduce");
  const weftRedOp_t op = OpOf(opts.reduceOp);
  return Enqueue(
      c10d::OpType::ALLREDUCE, {t},
      [this, t, op] {
        return weftAllReduce(t.data_ptr(), t.data_ptr(), Count(t), TypeOf(t), op, comm_, nullptr);
      },
      "all_reduce");
}

c10::intrusive_ptr<c10d::Work> ProcessGroupWeft::allreduce_coalesced(
    std::vector<at::Tensor>& tensors, const c10d::AllreduceCoalescedOptions& opts) {
  TORCH_CHECK(!tensors.empty(), "weft: all_reduce_coalesced of no tensors");
  for (const at::Tensor& t : tensors) {
    CheckTensor(t, "all_reduce_coalesced");
    CheckSameKind(tensors[0], t, "all_reduce_coalesced");
  }
  const weftRedOp_t op = OpOf(opts.reduceOp);
  std::vector<at::Tensor> outputs = tensors;
  return Enqueue(
      c10d::OpType::ALLREDUCE_COALESCED, outputs,
      [this, outputs, op] {
        // One call over all of them, then each gets its part back.
        std::vector<at::Tensor> flat;
        for (const at::Tensor& t : outputs)
          flat.push_back(t.reshape({-1}));
        at::Tensor all = at::cat(flat);
        const weftResult_t r = weftAllReduce(all.data_ptr(), all.data_ptr(), Count(all),
                                             TypeOf(all), op, comm_, nullptr);
        if (r != weftSuccess) return r;
        int64_t at = 0;
        for (const at::Tensor& t : outputs) {
          t.copy_(all.narrow(0, at, t.numel()).view_as(t));
          at += t.numel();
        }
        return weftSuccess;
      },
      "all_reduce_coalesced");
}

c10::intrusive_ptr<c10d::Work> ProcessGroupWeft::reduce(std::vector<at::Tensor>& tensors,
                                                        const c10d::ReduceOptions& opts) {
  at::Tensor t = Single(tensors, "reduce");
  TORCH_CHECK(opts.rootTensor == 0, "weft: reduce: one tensor per rank (rootTensor 0)");
  const weftRedOp_t op = OpOf(opts.reduceOp);
  const int root = static_cast<int>(opts.rootRank);
  return Enqueue(
      c10d::OpType::REDUCE, {t},
      [this, t, op, root] {
        return weftReduce(t.data_ptr(), t.data_ptr(), Count(t), TypeOf(t), op, root, comm_,
                          nullptr);
      },
      "reduce");
}

c10::intrusive_ptr<c10d::Work> ProcessGroupWeft::allgather(
    std::vector<std::vector<at::Tensor>>& outputs, std::vector<at::Tensor>& inputs,
    const c10d::AllgatherOptions&) {
  at::Tensor in = Single(inputs, "all_gather");
  TORCH_CHECK(outputs.size() == 1 && outputs[0].size() == static_cast<size_t>(getSize()),
              "weft: all_gather: one output list of ", getSize(), " tensors");
  for (const at::Tensor& o : outputs[0]) {
    TORCH_CHECK(o.device().is_cpu() && o.numel() == in.numel(),
                "weft: all_gather: every output must be a CPU tensor of ", in.numel(), " elements");
    CheckSameKind(in, o, "all_gather");
  }
  std::vector<at::Tensor> outs = outputs[0];
  return Enqueue(
      c10d::OpType::ALLGATHER, outs,
      [this, in, outs] {
        if (void* run = ContiguousRun(outs))
          return weftAllGather(in.data_ptr(), run, Count(in), TypeOf(in), comm_, nullptr);
        at::Tensor flat = at::empty({static_cast<int64_t>(outs.size()) * in.numel()}, in.options());
        const weftResult_t r =
            weftAllGather(in.data_ptr(), flat.data_ptr(), Count(in), TypeOf(in), comm_, nullptr);
        if (r != weftSuccess) return r;
        for (size_t q = 0; q < outs.size(); ++q)
          outs[q].copy_(
              flat.narrow(0, static_cast<int64_t>(q) * in.numel(), in.numel()).view_as(outs[q]));
        return weftSuccess;
      },
      "all_gather");
}

c10::intrusive_ptr<c10d::Work> ProcessGroupWeft::_allgather_base(at::Tensor& output,
                                                                 at::Tensor& input,
                                                                 const c10d::AllgatherOptions&) {
  CheckTensor(input, "all_gather_into_tensor");
  CheckTensor(output, "all_gather_into_tensor");
  CheckSameKind(input, output, "all_gather_into_tensor");
  TORCH_CHECK(output.numel() == input.numel() * getSize(),
              "weft: all_gather_into_tensor: ", output.numel(), " output elements for ", getSize(),
              " x ", input.numel());
  at::Tensor in = input, out = output;
  return Enqueue(
      c10d::OpType::_ALLGATHER_BASE, {out},
      [this, in, out] {
        return weftAllGather(in.data_ptr(), out.data_ptr(), Count(in), TypeOf(in), comm_, nullptr);
      },
      "all_gather_into_tensor");
}

c10::intrusive_ptr<c10d::Work> ProcessGroupWeft::reduce_scatter(
    std::vector<at::Tensor>& outputs, std::vector<std::vector<at::Tensor>>& inputs,
    const c10d::ReduceScatterOptions& opts) {
  at::Tensor out = Single(outputs, "reduce_scatter");
  TORCH_CHECK(inputs.size() == 1 && inputs[0].size() == static_cast<size_t>(getSize()),
              "weft: reduce_scatter: one input list of ", getSize(), " tensors");
  for (const at::Tensor& i : inputs[0]) {
    TORCH_CHECK(i.device().is_cpu() && i.numel() == out.numel(),
                "weft: reduce_scatter: every input must be a CPU tensor of ", out.numel(),
                " elements");
    CheckSameKind(out, i, "reduce_scatter");
  }
  const weftRedOp_t op = OpOf(opts.reduceOp);
  std::vector<at::Tensor> ins = inputs[0];
  return Enqueue(
      c10d::OpType::REDUCE_SCATTER, {out},
      [this, out, ins, op] {
        if (const void* run = ContiguousRun(ins))
          return weftReduceScatter(run, out.data_ptr(), Count(out), TypeOf(out), op, comm_,
                                   nullptr);
        std::vector<at::Tensor> flat;
        for (const at::Tensor& i : ins)
          flat.push_back(i.reshape({-1}));
        at::Tensor all = at::cat(flat);
        return weftReduceScatter(all.data_ptr(), out.data_ptr(), Count(out), TypeOf(out), op, comm_,
                                 nullptr);
      },
      "reduce_scatter");
}

c10::intrusive_ptr<c10d::Work> ProcessGroupWeft::_reduce_scatter_base(
    at::Tensor& output, at::Tensor& input, const c10d::ReduceScatterOptions& opts) {
  CheckTensor(input, "reduce_scatter_tensor");
  CheckTensor(output, "reduce_scatter_tensor");
  CheckSameKind(input, output, "reduce_scatter_tensor");
  TORCH_CHECK(input.numel() == output.numel() * getSize(),
              "weft: reduce_scatter_tensor: ", input.numel(), " input elements for ", getSize(),
              " x ", output.numel());
  const weftRedOp_t op = OpOf(opts.reduceOp);
  at::Tensor in = input, out = output;
  return Enqueue(
      c10d::OpType::_REDUCE_SCATTER_BASE, {out},
      [this, in, out, op] {
        return weftReduceScatter(in.data_ptr(), out.data_ptr(), Count(out), TypeOf(out), op, comm_,
                                 nullptr);
      },
      "reduce_scatter_tensor");
}

c10::intrusive_ptr<c10d::Work> ProcessGroupWeft::alltoall_base(at::Tensor& output,
                                                               at::Tensor& input,
                                                               std::vector<int64_t>& output_splits,
                                                               std::vector<int64_t>& input_splits,
                                                               const c10d::AllToAllOptions&) {
  CheckTensor(input, "all_to_all_single");
  CheckTensor(output, "all_to_all_single");
  CheckSameKind(input, output, "all_to_all_single");
  const int n = getSize();
  // Rows along the first dimension; without splits, equal blocks.
  auto rows = [&](const at::Tensor& t, std::vector<int64_t>& splits, const char* which) {
    const int64_t dim0 = t.dim() == 0 ? 1 : t.size(0);
    if (splits.empty()) {
      TORCH_CHECK(dim0 % n == 0, "weft: all_to_all_single: the ", which, "'s ", dim0,
                  " rows do not split into ", n, " equal blocks");
      splits.assign(static_cast<size_t>(n), dim0 / n);
    }
    TORCH_CHECK(static_cast<int>(splits.size()) == n, "weft: all_to_all_single: ", splits.size(),
                " ", which, " splits for ", n, " ranks");
    int64_t total = 0;
    for (int64_t s : splits)
      total += s;
    TORCH_CHECK(total == dim0, "weft: all_to_all_single: ", which, " splits add up to ", total,
                ", not its ", dim0, " rows");
    return dim0 == 0 ? int64_t{0} : t.numel() / dim0;  // elements per row
  };
  const int64_t in_row = rows(input, input_splits, "input");
  const int64_t out_row = rows(output, output_splits, "output");
  at::Tensor in = input, out = output;
  std::vector<int64_t> ins = input_splits, outs = output_splits;
  return Enqueue(
      c10d::OpType::ALLTOALL_BASE, {out},
      [this, in, out, ins, outs, in_row, out_row, n] {
        const size_t esz = in.element_size();
        std::vector<PeerBlocks> peers(static_cast<size_t>(n));
        size_t in_at = 0, out_at = 0;
        for (int q = 0; q < n; ++q) {
          PeerBlocks& b = peers[static_cast<size_t>(q)];
          b.send_count = static_cast<size_t>(ins[q] * in_row);
          b.recv_count = static_cast<size_t>(outs[q] * out_row);
          b.send = static_cast<const char*>(in.data_ptr()) + in_at * esz;
          b.recv = static_cast<char*>(out.data_ptr()) + out_at * esz;
          in_at += b.send_count;
          out_at += b.recv_count;
        }
        return ExchangeWithEveryPeer(peers, TypeOf(in), comm_);
      },
      "all_to_all_single");
}

c10::intrusive_ptr<c10d::Work> ProcessGroupWeft::alltoall(std::vector<at::Tensor>& outputs,
                                                          std::vector<at::Tensor>& inputs,
                                                          const c10d::AllToAllOptions&) {
  const size_t n = static_cast<size_t>(getSize());
  TORCH_CHECK(outputs.size() == n && inputs.size() == n, "weft: all_to_all: ", n, " input and ", n,
              " output tensors");
  for (size_t q = 0; q < n; ++q) {
    CheckTensor(inputs[q], "all_to_all");
    CheckTensor(outputs[q], "all_to_all");
    CheckSameKind(inputs[0], inputs[q], "all_to_all");
    CheckSameKind(inputs[0], outputs[q], "all_to_all");
  }
  std::vector<at::Tensor> ins = inputs, outs = outputs;
  return Enqueue(
      c10d::OpType::ALLTOALL, outs,
      [this, ins, outs, n] {
        std::vector<PeerBlocks> peers(n);
        for (size_t q = 0; q < n; ++q)
          peers[q] =
              PeerBlocks{ins[q].data_ptr(), Count(ins[q]), outs[q].data_ptr(), Count(outs[q])};
        return ExchangeWithEveryPeer(peers, TypeOf(ins[0]), comm_);
      },
      "all_to_all");
}

c10::intrusive_ptr<c10d::Work> ProcessGroupWeft::send(std::vector<at::Tensor>& tensors, int dst,
                                                      int tag) {
  at::Tensor t = Single(tensors, "send");
  TORCH_CHECK(tag == 0, "weft: send: tags are not supported (tag ", tag,
              "); sends and receives between two ranks meet in order");
  return Enqueue(
      c10d::OpType::SEND, {t},
      [this, t, dst] { return weftSend(t.data_ptr(), Count(t), TypeOf(t), dst, comm_, nullptr); },
      "send");
}

c10::intrusive_ptr<c10d::Work> ProcessGroupWeft::recv(std::vector<at::Tensor>& tensors, int src,
                                                      int tag) {
  at::Tensor t = Single(tensors, "recv");
  TORCH_CHECK(tag == 0, "weft: recv: tags are not supported (tag ", tag,
              "); sends and receives between two ranks meet in order");
  return Enqueue(
      c10d::OpType::RECV, {t},
      [this, t, src] { return weftRecv(t.data_ptr(), Count(t), TypeOf(t), src, comm_, nullptr); },
      "recv");
}

c10::intrusive_ptr<c10d::Work> ProcessGroupWeft::barrier(const c10d::BarrierOptions&) {
  return Enqueue(
      c10d::OpType::BARRIER, {},
      [this] {
        uint8_t token = 0;
        return weftAllReduce(&token, &token, 1, weftUint8, weftSum, comm_, nullptr);
      },
      "barrier");
}

}  // namespace weft_torch
