// weftConfig_t: a caller's per-communicator settings laid over the environment's.
#pragma once

#include "common/config.h"
#include "common/status.h"
#include "weft/weft.h"

namespace weft {

// Checks the struct's header (size, magic, version from WEFT_CONFIG_INITIALIZER) and copies
// every defined field into *config, recording it in config->set_by_api; a field out of its
// range is weftInvalidArgument naming it. `user` may be null (nothing to apply).
Status ApplyCommConfig(const weftConfig_t* user, Config* config);

}  // namespace weft
