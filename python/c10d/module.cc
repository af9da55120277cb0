// The extension module weft._c10d: the backend's creator, which python/weft/distributed.py
// registers with torch.distributed as "weft".
#include <pybind11/chrono.h>
#include <torch/python.h>

#include "python/c10d/process_group_weft.h"

PYBIND11_MODULE(_c10d, m) {
  m.doc() = "torch.distributed backend 'weft' (import weft.distributed to register it)";
  m.def("create_process_group", &weft_torch::ProcessGroupWeft::Create, pybind11::arg("store"),
        pybind11::arg("rank"), pybind11::arg("size"), pybind11::arg("timeout"),
        "torch.distributed's creator for backend 'weft'");
}
