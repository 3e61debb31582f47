// Endpoint::Parse -> String -> Parse round trip.

#include <cstdint>

#include "core/endpoint.h"
#include "fuzz_common.h"

using namespace kilo;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view in = AsView(data, size);
  std::string why;
  auto e = Endpoint::Parse(in, &why);
  (void)IsDNS1123Subdomain(in);
  if (!e) {
    FUZZ_CHECK(!why.empty(), "rejected without a reason");
    return 0;
  }
  FUZZ_CHECK(e->Ready(), "parsed endpoint not usable: %s", e->String().c_str());
  std::string s = e->String();
  auto back = Endpoint::Parse(s, &why);
  FUZZ_CHECK(back.has_value(), "String() %s does not parse: %s", s.c_str(), why.c_str());
  FUZZ_CHECK(*back == *e, "round trip differs: %s", s.c_str());
  FUZZ_CHECK(back->String() == s, "String() not stable: %s", s.c_str());
  return 0;
}
