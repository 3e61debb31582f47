#include "core/model.h"

namespace kilo {

const char* GranularityName(Granularity g) {
  switch (g) {
    case Granularity::kLocation:
      return "location";
    case Granularity::kFull:
      return "full";
    case Granularity::kCross:
      return "cross";
  }
  return "location";
}

std::optional<Granularity> ParseGranularity(std::string_view s) {
  if (s == "location") return Granularity::kLocation;
  if (s == "full") return Granularity::kFull;
  if (s == "cross") return Granularity::kCross;
  return std::nullopt;
}

IPPrefix DefaultKiloSubnet() { return IPPrefix(IPAddr::V4(10, 4, 0, 0), 16); }

bool Node::Ready(int64_t now) const {
  return endpoint && endpoint->Ready() && !key.IsZero() && subnet.has_value() &&
         now - last_seen < 2 * kCheckInPeriodSeconds;
}

}  // namespace kilo
