// The discovered-endpoints annotation: Parse -> Render -> Parse round trip.

#include <cstdint>

#include "core/translate.h"
#include "fuzz_common.h"

using namespace kilo;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string why;
  auto eps = ParseDiscoveredEndpoints(AsView(data, size), &why);
  if (!eps) {
    FUZZ_CHECK(!why.empty(), "rejected without a reason");
    return 0;
  }
  for (const auto& [k, e] : *eps) FUZZ_CHECK(e.has_ip() && e.port() > 0, "unusable endpoint kept");
  std::string s = RenderDiscoveredEndpoints(*eps);
  auto back = ParseDiscoveredEndpoints(s, &why);
  FUZZ_CHECK(back.has_value(), "rendered annotation does not parse (%s): %s", why.c_str(),
             s.c_str());
  FUZZ_CHECK(*back == *eps, "round trip differs: %s", s.c_str());
  FUZZ_CHECK(RenderDiscoveredEndpoints(*back) == s, "render not stable: %s", s.c_str());
  return 0;
}
