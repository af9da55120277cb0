// weft-info: version, build options, every WEFT_* variable with its current value, default
// and help, and every algorithm of the registry. `weft-info --markdown` prints the README's table.
#include <cstdio>
#include <cstring>
#include <string>

#include "collectives/algorithms/registry.h"
#include "common/build_info.h"
#include "common/config.h"
#include "weft/weft.h"

int main(int argc, char** argv) {
  const char* usage =
      "usage: weft-info [--markdown | --version | --help]\n"
      "  Weft's version and build, every WEFT_* variable with its value now, its default and\n"
      "  its meaning, and every algorithm.\n"
      "  --markdown  the variables as README's table\n"
      "  --version   the version and build alone\n";
  const char* arg = argc > 1 ? argv[1] : "";
  if (argc > 1 && (std::strcmp(arg, "--help") == 0 || std::strcmp(arg, "-h") == 0)) {
    std::printf("%s", usage);
    return 0;
  }
  if (argc > 1 && std::strcmp(arg, "--version") == 0) {
    std::printf("%s\n", weft::ToolVersion("weft-info").c_str());
    return 0;
  }
  const bool markdown = argc > 1 && std::strcmp(arg, "--markdown") == 0;
  if (argc > 2 || (argc > 1 && !markdown)) {
    std::fprintf(stderr, "%s", usage);
    return 2;
  }
  const auto& table = weft::ConfigTable();
  if (markdown) {
    std::printf("| Variable | Type | Default | Range | Meaning |\n|---|---|---|---|---|\n");
    for (const auto& v : table) {
      std::printf(
          "| `%s` | %s | %s | %s | %s |\n", v.name, v.type,
          v.default_value[0] ? (std::string("`") + v.default_value + "`").c_str() : "(empty)",
          v.limits.Describe().c_str(), v.help);
    }
    return 0;
  }
  int version = 0;
  weftGetVersion(&version);
  std::printf("Weft %d.%d.%d\n", version / 10000, version / 100 % 100, version % 100);
  std::printf("build: %s\n", weft::BuildDescription().c_str());
  weft::Config config;
  weft::Status s = weft::Config::FromProcess(&config);
  if (s.ok()) s = config.Check();  // what a communicator would refuse at init
  if (!s.ok()) std::printf("configuration error: %s\n", s.message().c_str());
  std::printf("\n%-24s %-12s %-12s %-26s %s\n", "variable", "value", "default", "range", "meaning");
  for (const auto& v : table) {
    // The secret is what keeps strangers out of the job: whether it is set, never its value.
    std::string value = config.ValueText(v.name);
    if (std::strcmp(v.name, "WEFT_SECRET") == 0 && !value.empty()) value = "(set)";
    std::printf("%-24s %-12s %-12s %-26s %s\n", v.name, value.c_str(), v.default_value,
                v.limits.Describe().c_str(), v.help);
  }
  // The algorithm registry: what WEFT_ALGO may name, and for which collectives.
  std::printf("\n%-8s %-44s %s\n", "algo", "collectives", "what it is");
  for (const weft::AlgorithmInfo* a : weft::Algorithms()) {
    std::string colls;
    for (weft::CollType c : weft::kAllCollTypes)
      if (a->Serves(c)) colls += std::string(colls.empty() ? "" : ",") + weft::CollName(c);
    std::printf("%-8s %-44s %s\n", a->name, colls.c_str(), a->summary);
  }
  for (const std::string& w : weft::UnknownVariableWarnings(weft::ProcessWeftVariables()))
    std::printf("warning: %s\n", w.c_str());
  return s.ok() ? 0 : 1;
}
