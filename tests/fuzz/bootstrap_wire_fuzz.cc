// libFuzzer target for everything the bootstrap parses from the network or from a user:
// message headers, Hello, gathered allgather payloads, shrink requests and offers, verdicts,
// and unique ids. The first byte picks
// the parser. A parser may reject its input, but must never crash, read out of bounds
// (ASan), hit undefined behavior (UBSan), or accept bytes it would not encode back the same.
#include <algorithm>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <vector>

#include "transport/bootstrap/unique_id.h"
#include "transport/bootstrap/wire.h"

namespace {

void Require(bool condition) {
  if (!condition) std::abort();  // a finding: the fuzzer saves the input
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size < 1) return 0;
  const uint8_t selector = data[0];
  const std::vector<uint8_t> payload(data + 1, data + size);
  switch (selector % 8) {
    case 0: {
      weft::WireHeader h{};
      if (!payload.empty()) std::memcpy(&h, payload.data(), std::min(payload.size(), sizeof(h)));
      weft::Status s = weft::CheckHeader(h);
      if (s.ok()) Require(h.magic == weft::kWireMagic && h.length <= weft::kMaxPayload);
      break;
    }
    case 1: {
      weft::Hello hello;
      if (weft::DecodeHello(payload, &hello).ok()) Require(weft::EncodeHello(hello) == payload);
      break;
    }
    case 2: {
      std::vector<std::vector<uint8_t>> parts;
      const int nranks = selector / 8;  // 0..31
      if (weft::DecodeGathered(payload, nranks, &parts).ok()) {
        Require(static_cast<int>(parts.size()) == nranks);
        Require(weft::EncodeGathered(parts) == payload);
      }
      break;
    }
    case 4: {
      weft::ShrinkRequest request;
      const int nranks = selector / 8;
      if (weft::DecodeShrink(payload, nranks, &request).ok()) {
        Require(static_cast<int>(request.excluded.size()) < std::max(nranks, 1));
        Require(weft::EncodeShrink(request) == payload);
      }
      break;
    }
    case 5: {
      weft::PeerShrinkOffer offer;
      const int nranks = selector / 8;
      if (weft::DecodePeerShrinkOffer(payload, nranks, &offer).ok()) {
        Require(offer.leader >= 0 && offer.leader < nranks);
        Require(weft::EncodePeerShrinkOffer(offer) == payload);
      }
      break;
    }
    case 7: {
      weft::StallReport report;
      if (weft::DecodeStall(payload, &report).ok()) {
        Require(report.waiting.size() <= weft::kMaxStallText);
        for (char c : report.waiting)
          Require(c >= 32 && c <= 126);
      }
      break;
    }
    case 6: {
      weft::Status verdict;
      const bool decoded = weft::DecodeVerdict(payload, &verdict).ok();
      Require(decoded == !payload.empty());
      if (decoded) Require(verdict.ok() == (payload[0] == weftSuccess));
      break;
    }
    case 3: {
      weftUniqueId id{};
      if (!payload.empty())
        std::memcpy(id.internal, payload.data(), std::min(payload.size(), sizeof(id.internal)));
      weft::UniqueIdData decoded;
      if (weft::DecodeUniqueId(id, &decoded).ok()) {
        weftUniqueId again{};
        weft::EncodeUniqueId(decoded, &again);
        weft::UniqueIdData twice;
        Require(weft::DecodeUniqueId(again, &twice).ok());
      }
      break;
    }
  }
  return 0;
}
