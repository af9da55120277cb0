// Functions compiled for both the host and the device (by nvcc), plain C++ elsewhere.
#pragma once

#ifdef __CUDACC__
#define WEFT_HOST_DEVICE __host__ __device__
#else
#define WEFT_HOST_DEVICE
#endif

// A device function compiled once and called, not inlined into every call site: for the big
// loops that a kernel enters a few times per call (a call costs nothing beside them), which
// inlined at each site made one file take eight minutes to build.
#ifdef __CUDACC__
#define WEFT_DEVICE_NOINLINE __noinline__
#else
#define WEFT_DEVICE_NOINLINE
#endif
