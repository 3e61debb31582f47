#include "cli/connect_plan.h"

#include <algorithm>
#include <fstream>
#include <iterator>
#include <map>

#include "core/duration.h"
#include "core/topology.h"

namespace kilo::cli {

Result<ConnectConfig> ValidateConnectOptions(const ConnectOptions& o, const std::string& hostname) {
  using R = Result<ConnectConfig>;
  ConnectConfig c;
  c.peer_name = o.peer_name.empty() ? hostname : o.peer_name;
  if (c.peer_name.empty())
    return R::Error("no Peer name given and the hostname is empty; run `kgctl connect NAME`");
  if (!IsDNS1123Subdomain(c.peer_name))
    return R::Error(
        "Peer name \"" + c.peer_name +
        "\" is not a valid Kubernetes object name (lower-case letters, digits, '-' and '.'); "
        "pass one as `kgctl connect NAME`");
  if (o.iface.empty() || o.iface.size() > 15 || o.iface.find('/') != std::string::npos ||
      o.iface.find(' ') != std::string::npos || o.iface == "." || o.iface == "..")
    return R::Error("--interface \"" + o.iface +
                    "\" is not a valid interface name (1-15 characters, no '/' or spaces)");
  c.iface = o.iface;
  if (!o.allowed_ip.empty()) {
    auto p = IPPrefix::Parse(o.allowed_ip);
    if (!p)
      return R::Error("--allowed-ip must be a CIDR such as 10.5.0.1/32; got \"" + o.allowed_ip +
                      "\"");
    c.allowed_ip = *p;
  }
  for (const auto& a : o.allowed_ips) {
    auto p = IPPrefix::Parse(a);
    if (!p) return R::Error("--allowed-ips must contain only valid CIDRs; got \"" + a + "\"");
    c.allowed_ips.push_back(p->Network());
  }
  if (o.mtu < 576 || o.mtu > 65535)
    return R::Error("--mtu must be between 576 and 65535; got " + std::to_string(o.mtu));
  c.mtu = o.mtu;
  if (o.persistent_keepalive < 0 || o.persistent_keepalive > 65535)
    return R::Error("--persistent-keepalive must be between 0 (off) and 65535 seconds; got " +
                    std::to_string(o.persistent_keepalive));
  c.persistent_keepalive = o.persistent_keepalive;
  auto d = ParseGoDurationMillis(o.resync_period);
  if (!d.ok() || d->count() <= 0)
    return R::Error("--resync-period must be a positive duration such as 30s; got \"" +
                    o.resync_period + "\"");
  c.resync_period = *d;
  static const std::map<std::string, LogLevel> kLevels = {
      {"all", LogLevel::kAll},   {"debug", LogLevel::kDebug}, {"info", LogLevel::kInfo},
      {"warn", LogLevel::kWarn}, {"error", LogLevel::kError}, {"none", LogLevel::kNone}};
  auto it = kLevels.find(o.log_level);
  if (it == kLevels.end())
    return R::Error("log level " + o.log_level +
                    " unknown; possible values are: all, debug, info, warn, error, none");
  c.log_level = it->second;
  c.private_key_file = o.private_key_file;
  c.clean_up = o.clean_up;
  return c;
}

Result<Key> LoadPrivateKeyFile(const std::string& path) {
  std::ifstream f(path, std::ios::binary);
  if (!f) return Result<Key>::Error("failed to read private key: cannot open \"" + path + "\"");
  std::string text((std::istreambuf_iterator<char>(f)), std::istreambuf_iterator<char>());
  auto b = text.find_first_not_of(" \t\r\n");
  auto e = text.find_last_not_of(" \t\r\n");
  std::string trimmed = b == std::string::npos ? "" : text.substr(b, e - b + 1);
  auto k = Key::Parse(trimmed);
  if (!k || k->IsZero())
    return Result<Key>::Error("failed to parse private key in \"" + path +
                              "\": expected a base64 WireGuard key as written by `wg genkey`");
  return *k;
}

PeerObject BuildPeerObject(const std::string& name, const IPPrefix& allowed_ip,
                           const Key& public_key, int persistent_keepalive) {
  PeerObject p;
  p.name = name;
  p.allowed_ips = {allowed_ip.String()};
  p.has_allowed_ips = true;
  p.public_key = public_key.String();
  p.persistent_keepalive = persistent_keepalive;
  return p;
}

Result<ConnectState> ComputeConnectState(const ClusterObjects& objs, const GlobalOptions& g,
                                         const ConnectConfig& c, int64_t now) {
  using R = Result<ConnectState>;
  ConnectState st;
  auto cluster = BuildCluster(objs, g, now);
  if (!cluster.ok()) return R::Error(cluster.error());
  st.warnings = cluster->warnings;
  std::vector<Node> nodes = cluster->ReadyNodes();
  if (nodes.empty()) return R::Error("did not find any valid Kilo nodes in the cluster");
  // Kilo: the extra allowed IPs become allowed-location-IPs of the first
  // node by name, so that the WireGuard peer of its segment accepts them.
  auto first = std::min_element(nodes.begin(), nodes.end(),
                                [](const Node& a, const Node& b) { return a.name < b.name; });
  for (const auto& a : c.allowed_ips) first->allowed_location_ips.push_back(a);
  std::vector<Peer> peers = cluster->ReadyPeers();
  const Peer* self = nullptr;
  for (const auto& p : peers)
    if (p.name == c.peer_name) self = &p;
  if (!self) return R::Error("did not find any peer named \"" + c.peer_name + "\" in the cluster");
  HostOptions ho;
  ho.port = g.port;
  ho.persistent_keepalive = self->persistent_keepalive;
  MeshOptions mo;
  mo.granularity = cluster->granularity;
  mo.subnet = cluster->subnet;
  std::string vantage = cluster->LastReadyNode();
  auto mesh = Mesh::Build(std::move(nodes), std::move(peers), mo, &st.warnings);
  if (!mesh.ok()) return R::Error("failed to create topology: " + mesh.error());
  auto t = Topology::ForHost(*mesh, vantage, ho);
  if (!t) return R::Error("failed to create topology: node \"" + vantage + "\" is not in the mesh");
  PeerHostPlanOptions po;
  po.interface_address = c.allowed_ip;
  po.routes.additional_allowed_ips = c.allowed_ips;
  st.plan = PlanHost(*t, c.peer_name, po);
  for (const auto& s : mesh->segments()) st.natted.emplace_back(s.key, s.persistent_keepalive);
  for (const auto& p : mesh->peers()) st.natted.emplace_back(p.public_key, p.persistent_keepalive);
  return st;
}

std::string RenderConnectRoutes(const std::vector<PlannedRoute>& routes, const std::string& iface) {
  DevNames names;
  names.kilo = iface;
  std::string out;
  for (const auto& r : routes) out += RenderRoute(r, names) + "\n";
  return out;
}

}  // namespace kilo::cli
