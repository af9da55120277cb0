#include "common/name_list.h"

namespace weft {

bool NameMatches(const std::string& entry, const std::string& name, bool exact) {
  return exact ? name == entry : name.compare(0, entry.size(), entry) == 0;
}

bool NameListAllows(const std::string& spec, bool empty_allows_all,
                    const std::function<bool(const std::string& entry, bool exact)>& matches) {
  size_t at = 0;
  const bool exclude = at < spec.size() && spec[at] == '^';
  if (exclude) ++at;
  const bool exact = at < spec.size() && spec[at] == '=';
  if (exact) ++at;
  if (at == spec.size() && empty_allows_all) return true;
  bool listed = false;
  while (at <= spec.size() && !listed) {
    size_t end = spec.find(',', at);
    if (end == std::string::npos) end = spec.size();
    if (end > at) listed = matches(spec.substr(at, end - at), exact);
    at = end + 1;
  }
  return exclude ? !listed : listed;
}

}  // namespace weft
