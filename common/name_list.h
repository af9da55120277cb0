// NCCL's syntax for lists of device names (NCCL_SOCKET_IFNAME, NCCL_IB_HCA), parsed in one
// place: entries separated by commas, each matching names it is a prefix of, or, when the
// list starts with '=', the name it spells; a '^' before all that keeps the devices no
// entry matches instead.
#pragma once

#include <functional>
#include <string>

namespace weft {

// Whether entry name `entry` names device `name`: whole (exact) or as a prefix.
bool NameMatches(const std::string& entry, const std::string& name, bool exact);

// Whether `spec` allows a device, `matches(entry, exact)` saying whether one non-empty
// entry names it. A list without entries ("", "^", "=") allows every device when
// `empty_allows_all`, else follows the rule (nothing listed: "^" allows all, "" none).
bool NameListAllows(const std::string& spec, bool empty_allows_all,
                    const std::function<bool(const std::string& entry, bool exact)>& matches);

}  // namespace weft
