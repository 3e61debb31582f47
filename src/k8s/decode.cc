#include "k8s/decode.h"

namespace kilo::k8s {
using nlohmann::json;

json EncodePeerSpec(const PeerObject& p) {
  json spec = json::object();
  spec["allowedIPs"] = p.allowed_ips;
  spec["publicKey"] = p.public_key;
  if (!p.preshared_key.empty()) spec["presharedKey"] = p.preshared_key;
  if (p.persistent_keepalive != 0) spec["persistentKeepalive"] = p.persistent_keepalive;
  if (p.has_endpoint || !p.endpoint_dns.empty() || !p.endpoint_ip.empty()) {
    json dnsorip = json::object();
    if (!p.endpoint_dns.empty()) dnsorip["dns"] = p.endpoint_dns;
    if (!p.endpoint_ip.empty()) dnsorip["ip"] = p.endpoint_ip;
    spec["endpoint"] = {{"dnsOrIP", dnsorip}, {"port", p.endpoint_port}};
  }
  return spec;
}

json EncodePeerJson(const PeerObject& p) {
  json md = {{"name", p.name}};
  if (!p.resource_version.empty()) md["resourceVersion"] = p.resource_version;
  return {{"apiVersion", kPeerApiVersion},
          {"kind", kPeerKind},
          {"metadata", md},
          {"spec", EncodePeerSpec(p)}};
}

}  // namespace kilo::k8s
