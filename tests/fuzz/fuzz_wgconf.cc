// WgConf::Parse -> Render -> Parse -> Render must be stable.

#include <cstdint>

#include "core/wgconf.h"
#include "fuzz_common.h"

using namespace kilo;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  WgConf first = WgConf::Parse(AsView(data, size));
  std::string r1 = first.Render();
  std::vector<std::string> errors;
  WgConf second = WgConf::Parse(r1, &errors);
  std::string r2 = second.Render();
  FUZZ_CHECK(errors.empty(), "rendered config has parse errors: %s\n%s", errors.front().c_str(),
             r1.c_str());
  FUZZ_CHECK(r1 == r2, "render/parse not stable:\n--- first\n%s--- second\n%s", r1.c_str(),
             r2.c_str());
  FUZZ_CHECK(first.peers == second.peers, "peers differ after a round trip:\n%s", r1.c_str());
  return 0;
}
