// bytes -> DecodePeerObject -> TranslatePeer -> Peer rendering.

#include <cstdint>
#include <vector>

#include "core/objects_json.h"
#include "core/peer_object.h"
#include "core/translate.h"
#include "core/wgconf.h"
#include "fuzz_common.h"

using namespace kilo;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  auto obj = DecodePeerObject(AsView(data, size));
  if (!obj.ok()) return 0;
  std::vector<Warning> warnings;
  auto peer = TranslatePeer(*obj, &warnings);
  for (const auto& w : warnings) {
    std::string line = w.String();
    FUZZ_CHECK(line.find('\n') == std::string::npos, "warning with a newline: %s", line.c_str());
  }
  if (!peer) {
    FUZZ_CHECK(!warnings.empty(), "Peer rejected without a warning");
    return 0;
  }
  FUZZ_CHECK(peer->allowed_ips.size() == obj->allowed_ips.size(), "allowed IPs lost");
  FUZZ_CHECK(peer->persistent_keepalive >= 0 && peer->persistent_keepalive <= 65535, "keepalive");
  if (peer->endpoint) FUZZ_CHECK(peer->endpoint->Ready(), "unusable endpoint accepted");
  WgPeer wp;
  wp.public_key = peer->public_key;
  wp.preshared_key = peer->preshared_key;
  wp.endpoint = peer->endpoint;
  wp.persistent_keepalive = peer->persistent_keepalive;
  wp.allowed_ips = peer->allowed_ips;
  std::vector<std::string> aips;
  for (const auto& a : wp.allowed_ips) aips.push_back(a.String());
  (void)RenderPeerYaml(peer->name, wp, aips);
  (void)RenderPeerJson(peer->name, wp, aips);
  WgConf c;
  c.peers.push_back(wp);
  std::string ini = c.Render();
  WgConf back = WgConf::Parse(ini);
  FUZZ_CHECK(back.peers.size() == 1 && back.peers[0] == wp, "peer INI does not parse back:\n%s",
             ini.c_str());
  return 0;
}
