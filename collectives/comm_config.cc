#include "collectives/comm_config.h"

#include <cstddef>
#include <string>

namespace weft {
namespace {

// A 0/1 field, or undefined.
Status ApplyFlag(int value, const char* field, const char* var, bool* out, Config* config) {
  if (value == WEFT_CONFIG_UNDEF_INT) return Status::Ok();
  WEFT_REQUIRE(value == 0 || value == 1, weftInvalidArgument, "weftConfig_t.%s=%d: 0 or 1", field,
               value);
  *out = value == 1;
  config->set_by_api[var] = std::string("weftConfig_t.") + field;
  return Status::Ok();
}

template <typename T, typename F>
void ApplyValue(const F& value, const char* field, const char* var, T* out, Config* config) {
  *out = static_cast<T>(value);
  config->set_by_api[var] = std::string("weftConfig_t.") + field;
}

}  // namespace

Status ApplyCommConfig(const weftConfig_t* user, Config* config) {
  if (user == nullptr) return Status::Ok();
  // The header first: a struct not made from WEFT_CONFIG_INITIALIZER holds garbage, and one
  // from another version has other fields at these offsets.
  WEFT_REQUIRE(user->magic == WEFT_CONFIG_MAGIC, weftInvalidArgument,
               "weftConfig_t.magic=0x%x: initialize the struct with WEFT_CONFIG_INITIALIZER",
               user->magic);
  WEFT_REQUIRE(user->size == sizeof(weftConfig_t), weftInvalidArgument,
               "weftConfig_t.size=%zu: this library's struct has %zu bytes (rebuild against its "
               "weft.h)",
               user->size, sizeof(weftConfig_t));
  WEFT_REQUIRE(user->version == WEFT_VERSION_CODE, weftInvalidArgument,
               "weftConfig_t.version=%u: this library is version %d", user->version,
               WEFT_VERSION_CODE);
  if (user->algo != WEFT_CONFIG_UNDEF_PTR)
    ApplyValue(std::string(user->algo), "algo", "WEFT_ALGO", &config->algo, config);
  if (user->tuneFile != WEFT_CONFIG_UNDEF_PTR)
    ApplyValue(std::string(user->tuneFile), "tuneFile", "WEFT_TUNE_FILE", &config->tune_file,
               config);
  if (user->nChannels != WEFT_CONFIG_UNDEF_INT)
    ApplyValue(user->nChannels, "nChannels", "WEFT_NCHANNELS", &config->nchannels, config);
  if (user->chunkSize != WEFT_CONFIG_UNDEF_SIZE)
    ApplyValue(user->chunkSize, "chunkSize", "WEFT_CHUNK_SIZE", &config->chunk_size, config);
  if (user->buffSize != WEFT_CONFIG_UNDEF_SIZE)
    ApplyValue(user->buffSize, "buffSize", "WEFT_BUFFSIZE", &config->buffsize, config);
  if (user->timeoutMs != WEFT_CONFIG_UNDEF_INT)
    ApplyValue(user->timeoutMs, "timeoutMs", "WEFT_TIMEOUT_MS", &config->timeout_ms, config);
  WEFT_CHECK(
      ApplyFlag(user->shmDirect, "shmDirect", "WEFT_SHM_DIRECT", &config->shm_direct, config));
  WEFT_CHECK(ApplyFlag(user->oneCopy, "oneCopy", "WEFT_ONE_COPY", &config->one_copy, config));
  WEFT_CHECK(ApplyFlag(user->cudaIpc, "cudaIpc", "WEFT_CUDA_IPC", &config->cuda_ipc, config));
  WEFT_CHECK(ApplyFlag(user->checkCalls, "checkCalls", "WEFT_CHECK", &config->check, config));
  return Status::Ok();
}

}  // namespace weft
