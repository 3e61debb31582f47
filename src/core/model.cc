#include "core/model.h"

namespace kilo {

const char* GranularityName(Granularity g) {
  return g == Granularity::kFull ? "full" : "location";
}

std::optional<Granularity> ParseGranularity(std::string_view s) {
  if (s == "location") return Granularity::kLocation;
  if (s == "full") return Granularity::kFull;
  return std::nullopt;
}

IPPrefix DefaultKiloSubnet() { return IPPrefix(IPAddr::V4(10, 4, 0, 0), 16); }

bool Node::Ready(int64_t now) const {
  return endpoint && endpoint->Ready() && !key.IsZero() && subnet.has_value() &&
         now - last_seen < 2 * kCheckInPeriodSeconds;
}

}  // namespace kilo
