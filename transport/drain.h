// Freeing what a transport may still write into: after its owner cancels its requests, the
// transport is progressed until they end. A receive matched to a peer's rendezvous cannot be
// cancelled, so some may never end; their memory must then outlive the transport.
#pragma once

#include <functional>

#include "transport/transport.h"

namespace weft {

// Progresses `transport` until `quiescent()` holds or a second passes. True if it holds:
// the memory may go. Otherwise warns, naming `what`, abandons the outstanding requests
// (Transport::AbandonOutstanding) and returns false: the caller keeps the memory for the
// process's life (common/keep_for_life.h).
bool DrainBeforeFree(Transport* transport, const std::function<bool()>& quiescent,
                     const char* what);

}  // namespace weft
