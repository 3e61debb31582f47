// IPPrefix::Parse / IPAddr::Parse -> String -> Parse round trips, and the
// containment facts the topology relies on.

#include <cstdint>

#include "core/ip.h"
#include "fuzz_common.h"

using namespace kilo;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view in = AsView(data, size);
  if (auto p = IPPrefix::Parse(in)) {
    std::string s = p->String();
    auto back = IPPrefix::Parse(s);
    FUZZ_CHECK(back.has_value(), "String() %s does not parse", s.c_str());
    FUZZ_CHECK(*back == *p, "round trip differs: %s", s.c_str());
    FUZZ_CHECK(p->bits() >= 0 && p->bits() <= p->addr().bitlen(), "bits %d", p->bits());
    FUZZ_CHECK(p->Contains(p->addr()), "%s does not contain its address", s.c_str());
    IPPrefix net = p->Network();
    FUZZ_CHECK(net.Contains(p->addr()) && net.Overlaps(*p), "network %s", net.String().c_str());
    FUZZ_CHECK(net.Network() == net, "Network() not idempotent: %s", s.c_str());
    IPAddr next = p->addr().Next();
    FUZZ_CHECK(next.family() == p->addr().family(), "Next() changed family");
    (void)p->addr().IsKiloPublic();
    (void)p->addr().IsPrivate();
  }
  if (auto a = IPAddr::Parse(in)) {
    std::string s = a->String();
    auto back = IPAddr::Parse(s);
    FUZZ_CHECK(back.has_value() && *back == *a, "address round trip: %s", s.c_str());
    FUZZ_CHECK(IPPrefix::Host(*a).Contains(*a), "host prefix");
  }
  return 0;
}
