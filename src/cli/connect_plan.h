#pragma once
// The pure half of `kgctl connect` (connect.h): flag validation, the Peer
// object it registers, and the plan of the host for a snapshot of the
// cluster, core::PlanHost for a Peer. Unit-tested without a cluster or a
// kernel; the Linux connector (connect.cc) installs the plan.

#include <chrono>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "cli/cluster.h"
#include "core/host_plan.h"
#include "core/ip.h"
#include "core/key.h"
#include "core/objects.h"
#include "core/routes.h"
#include "core/status.h"
#include "core/translate.h"

namespace kilo::cli {

// The flags, as typed (defaults as Kilo's).
struct ConnectOptions {
  std::string peer_name;  // "" = the hostname
  std::string iface = "kilo0";
  std::string allowed_ip;                // "" = the existing Peer's first allowed IP
  std::vector<std::string> allowed_ips;  // extra CIDRs routed through the mesh
  int mtu = 1420;
  int persistent_keepalive = 10;
  std::string private_key_file;  // "" = a new key, in memory only
  std::string resync_period = "30s";
  std::string log_level = "info";
  bool clean_up = true;
};

enum class LogLevel { kAll, kDebug, kInfo, kWarn, kError, kNone };

// The flags, validated.
struct ConnectConfig {
  std::string peer_name;
  std::string iface;
  std::optional<IPPrefix> allowed_ip;  // as typed (host bits kept)
  std::vector<IPPrefix> allowed_ips;   // network form
  int mtu = 1420;
  int persistent_keepalive = 10;
  std::string private_key_file;
  std::chrono::milliseconds resync_period{30000};
  LogLevel log_level = LogLevel::kInfo;
  bool clean_up = true;
};

// Validates the flags. `hostname` is the default Peer name. Errors name the
// flag, the value and what is expected.
Result<ConnectConfig> ValidateConnectOptions(const ConnectOptions& o, const std::string& hostname);

// Reads a base64 WireGuard private key (surrounding whitespace ignored).
// Errors name the path and never contain key material.
Result<Key> LoadPrivateKeyFile(const std::string& path);

// The Peer that `kgctl connect` registers: allowedIPs = [allowed_ip as typed],
// publicKey, persistentKeepalive; no endpoint (the host may be behind NAT; the
// cluster learns it from the handshakes).
PeerObject BuildPeerObject(const std::string& name, const IPPrefix& allowed_ip,
                           const Key& public_key, int persistent_keepalive);

// What the host must look like for one snapshot of the cluster.
struct ConnectState {
  // PlanHost for the Peer: its WireGuard peers (`kgctl showconf peer`, one
  // holder per allowed IP), listen port --port, interface address
  // --allowed-ip, and routes (all on the WireGuard interface, main table).
  HostPlan plan;
  std::vector<Warning> warnings;
  // Remote public key -> its persistent keepalive (a non-zero value means the
  // remote is behind NAT, and an endpoint learned from its handshakes is kept).
  std::vector<std::pair<Key, int>> natted;
};

// Computes the desired state from Nodes and Peers as Kilo's connect sync()
// does: --allowed-ips are added to the allowed-location-IPs of the first ready
// node (by name), the topology is seen from the last ready node, and the plan
// is PlanHost(that topology, peer) with the routes of PeerRoutes and the
// interface address `c.allowed_ip`.
// Errors: no ready node; the Peer `c.peer_name` is missing or not ready;
// the WireGuard subnet is exhausted.
Result<ConnectState> ComputeConnectState(const ClusterObjects& objs, const GlobalOptions& g,
                                         const ConnectConfig& c, int64_t now);

// `route ... dev IFACE ...` lines of the routes (for logs and tests).
std::string RenderConnectRoutes(const std::vector<PlannedRoute>& routes, const std::string& iface);

}  // namespace kilo::cli
