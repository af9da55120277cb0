// Functions compiled for both the host and the device (by nvcc), plain C++ elsewhere.
#pragma once

#ifdef __CUDACC__
#define WEFT_HOST_DEVICE __host__ __device__
#else
#define WEFT_HOST_DEVICE
#endif
