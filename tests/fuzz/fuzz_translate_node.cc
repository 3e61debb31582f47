// bytes -> DecodeNodeObject -> TranslateNode. Inputs not starting with '{'
// are split into lines that become, in order, the values of every node
// annotation, spec.podCIDR and the topology label, so that the annotation
// parsers are fuzzed directly as well as through JSON.

#include <cstdint>
#include <vector>

#include "core/objects_json.h"
#include "core/translate.h"
#include "fuzz_common.h"

using namespace kilo;

namespace {

const char* const kKeys[] = {
    kAnnForceEndpoint,       kAnnForceInternalIP,    kAnnLeader,      kAnnLocation,
    kAnnPersistentKeepalive, kAnnAllowedLocationIPs, kAnnKey,         kAnnEndpoint,
    kAnnInternalIP,          kAnnLastSeen,           kAnnWireGuardIP, kAnnGranularity,
    kAnnDiscoveredEndpoints, kAnnCNICompatibilityIP};

void Check(const NodeObject& obj) {
  std::vector<Warning> warnings;
  Node n = TranslateNode(obj, TranslateOptions{}, &warnings);
  FUZZ_CHECK(n.name == obj.name, "name changed");
  for (const auto& w : warnings) {
    std::string line = w.String();
    FUZZ_CHECK(line.find('\n') == std::string::npos, "warning with a newline: %s", line.c_str());
    FUZZ_CHECK(w.value.size() <= 80 + 32, "warning value not truncated (%zu bytes)",
               w.value.size());
  }
  if (n.subnet) FUZZ_CHECK(n.subnet->Network() == *n.subnet, "pod subnet not in network form");
  for (const auto& ip : n.allowed_location_ips)
    FUZZ_CHECK(ip.valid(), "invalid allowed-location-ip kept");
  FUZZ_CHECK(n.persistent_keepalive >= 0 && n.persistent_keepalive <= 65535, "keepalive %d",
             n.persistent_keepalive);
  (void)n.Ready(1767225600);
  // Translation is a pure function.
  Node again = TranslateNode(obj, TranslateOptions{}, nullptr);
  FUZZ_CHECK(again.key == n.key && again.endpoint == n.endpoint &&
                 again.internal_ip == n.internal_ip && again.location == n.location,
             "translation not deterministic");
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view in = AsView(data, size);
  if (!in.empty() && in.front() == '{') {
    auto obj = DecodeNodeObject(in);
    if (obj.ok()) Check(*obj);
    return 0;
  }
  NodeObject obj;
  obj.name = "fuzz";
  size_t field = 0, pos = 0;
  constexpr size_t kNum = sizeof(kKeys) / sizeof(kKeys[0]);
  while (pos <= in.size() && field < kNum + 2) {
    size_t nl = in.find('\n', pos);
    std::string_view line = in.substr(pos, nl == std::string_view::npos ? in.npos : nl - pos);
    if (field < kNum) {
      // A line "\x01" means "annotation absent".
      if (line != "\x01") obj.annotations[kKeys[field]] = std::string(line);
    } else if (field == kNum) {
      obj.pod_cidr = std::string(line);
    } else {
      obj.labels[kDefaultTopologyLabel] = std::string(line);
    }
    ++field;
    if (nl == std::string_view::npos) break;
    pos = nl + 1;
  }
  Check(obj);
  return 0;
}
