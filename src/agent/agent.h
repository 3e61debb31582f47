#pragma once
// The reconcile loop of kg (SPEC section 8). Every dependency is injected so
// the loop is unit-tested against fakes (tests/fakes/*); the reconcile
// function never creates an I/O client itself.

#include <functional>
#include <map>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "agent/backend.h"
#include "agent/files.h"
#include "agent/metrics.h"
#include "core/firewall_plan.h"
#include "core/host_plan.h"
#include "core/routes.h"
#include "core/topology.h"
#include "firewall/firewall.h"
#include "netlink/netlink.h"
#include "wg/wireguard.h"

namespace kilo::agent {

struct AgentOptions {
  std::string hostname;
  std::string iface = "kilo0";
  std::string tunnel_iface = "tunl0";
  // Remove the tunnel's addresses and the tunnel on clean-up: only the tunl0
  // kg created in Cilium mode (see SetUpTunnel), never Cilium's cilium_tunl.
  bool clean_up_tunnel = false;
  int port = kDefaultPort;
  IPPrefix subnet = DefaultKiloSubnet();
  // --subnet6 (SPEC 11.3): IPv6 WireGuard IPs; off by default.
  std::optional<IPPrefix> subnet6;
  Granularity granularity = Granularity::kLocation;
  Encapsulation encapsulate = Encapsulation::kAlways;
  Compatibility compatibility = Compatibility::kNone;
  bool local = true;
  bool cni = true;
  std::string cni_path = "/etc/cni/net.d/10-kilo.conflist";
  bool create_interface = true;
  bool clean_up = true;
  bool clean_up_interface = false;
  std::optional<int> mtu;  // nullopt = auto
  bool prioritise_private_addresses = false;
  std::vector<IPPrefix> service_cidrs;
  bool iptables_forward_rules = false;
  std::string topology_label = kDefaultTopologyLabel;
  std::string key_path = "/var/lib/kilo/key";
};

// A planned route or rule as kg installs it: `names` are the host's
// interfaces; a preferred source of the other family is dropped (the kernel
// refuses it, and Kilo would fail the whole route).
netlink::Route ToNetlinkRoute(const PlannedRoute& p, const DevNames& names);
netlink::Rule ToNetlinkRule(const PlannedRule& p, const std::string& kilo_iface);

// Injected dependencies. All pointers must outlive the Agent.
struct AgentDeps {
  MeshBackend* backend = nullptr;
  wg::WireGuardClient* wg = nullptr;
  netlink::NetlinkClient* nl = nullptr;
  fw::Firewall* firewall = nullptr;
  FileSystem* fs = nullptr;
  AgentMetrics* metrics = nullptr;  // may be null
  std::function<int64_t()> now;     // unix seconds
  // Resolves a DNS name (endpoint re-resolution); nullopt when it fails.
  std::function<std::optional<IPAddr>(const std::string&)> resolve;
  // --mtu auto: the underlay's MTU minus WireGuard's overhead, detected again
  // on every reconcile as Kilo 0.7 does (#406); nullopt when it cannot be
  // told. Null with a fixed --mtu.
  std::function<std::optional<int>()> auto_mtu;
  // The private key (already loaded from disk by the caller).
  Key private_key;
  // Host addresses as discovered at start-up: internal (may be absent), external.
  std::optional<IPPrefix> internal_ip;
  std::string internal_iface;  // the interface of the internal IP ("priv")
  IPAddr external_ip;
};

// What one reconcile did (for logs, metrics, tests).
struct ReconcileReport {
  bool applied = false;  // false: local node not ready / no topology
  std::string skipped_reason;
  bool leader = false;
  int nodes = 0, peers = 0;
  int wg_writes = 0, addr_writes = 0, route_writes = 0, rule_writes = 0, fw_writes = 0,
      cni_writes = 0, annotation_writes = 0;
  int writes() const {
    return wg_writes + addr_writes + route_writes + rule_writes + fw_writes + cni_writes;
  }
  std::vector<std::string> errors;  // "event: message"
  // Cross granularity: ready nodes of another granularity, "node=granularity".
  std::vector<std::string> granularity_mismatches;
  // Segments with IPv6 this host carries no IPv6 towards (SPEC 11.3), as
  // "segment key=leader".
  std::vector<std::string> ipv4_only_segments;
};

class Agent {
 public:
  Agent(AgentOptions opts, AgentDeps deps);

  // One pass: publish the local node's annotations when they differ, compute
  // the topology, converge WireGuard, address, routes, rules, firewall, CNI.
  // Errors are collected (and counted in metrics), never thrown; a step that
  // fails does not stop the others, and nothing working is torn down because
  // the API is unreachable (the last snapshot is used).
  ReconcileReport Reconcile();

  // Removes kg's routes, rules, firewall and annotations (and the interface
  // with clean_up_interface). Returns the first error, after trying all.
  Status CleanUp();

  // The latest topology as DOT, for /graph ("" before the first topology).
  std::string Dot() const;
  // Warnings of the last reconcile (bad annotations / Peers), one line each.
  std::vector<std::string> Warnings() const;

  // The options of this host's plan: the flags, and what the host has.
  HostPlanOptions PlanOptions() const;

 private:
  std::map<std::string, std::string> DesiredAnnotations(bool leader, const IPPrefix& wg_cidr,
                                                        const std::map<std::string, Endpoint>& discovered,
                                                        const NodeObject* current,
                                                        const std::optional<IPPrefix>& wg_cidr6 = {});
  std::map<std::string, Endpoint> DiscoverNATEndpoints(const std::vector<Node>& nodes,
                                                       const std::vector<Peer>& peers);
  // What the node publishes in discovered-endpoints: as leader, what the
  // device discovered (`nat`); otherwise the endpoints it discovered while it
  // led, for the remotes still in the mesh (`keys`). A Go agent that stops
  // leading leaves its device as it was and goes on publishing them; the other
  // leaders fall back on them for a NATed remote they have no handshake with
  // yet, and emptying them at once sent those leaders to the remote's
  // unreachable declared address.
  std::map<std::string, Endpoint> PublishedNATEndpoints(bool leader,
                                                        const std::map<std::string, Endpoint>& nat,
                                                        const std::set<std::string>& keys,
                                                        const NodeObject& self);
  // What a reconcile knows of the cluster: the ready nodes (this one with the
  // values it is about to publish) and Peers, the warnings of translating
  // them, and the NAT endpoints the device discovered.
  struct View {
    std::vector<Node> ready;
    std::vector<Peer> ready_peers;
    std::vector<Warning> warnings;
    std::map<std::string, Endpoint> nat;
  };
  View Translate(const Snapshot& snap, const NodeObject& self, int64_t now);
  // This host's topology (nullopt, with the reason in `r`, when the node is
  // not ready or the mesh cannot be built); `mesh` receives the mesh it views.
  std::optional<Topology> BuildTopology(View* v, std::optional<Mesh>* mesh, ReconcileReport* r);
  // Logs new warnings (Events for this node's own) and keeps them for /health.
  // Cross granularity (SPEC 11.2): every ready node whose granularity
  // annotation says another one, in the log and in
  // kilo_granularity_mismatch_nodes, and an Event on that node from the first
  // ready cross node by name only (each once while it lasts).
  void ReportGranularityMismatches(const std::vector<Node>& ready, ReconcileReport* r);
  // Dual-stack (SPEC 11.3): logs each segment newly reached over IPv4 only
  // (its leader, or ours, does not advertise kg.kilo.squat.ai/dual-stack) and
  // sets kilo_dual_stack_ipv4_only_segments.
  void ReportDualStack(const Topology& t, ReconcileReport* r);
  // Whether this kg carries IPv6: --subnet6, or its node has an IPv6 pod CIDR.
  bool DualStack(const NodeObject& self) const;
  // An IPv6 address of the private interface (a routable one, else its
  // link-local one) in CIDR form, or "".
  std::string InternalIP6() const;
  void ReportWarnings(const std::vector<Warning>& warnings, ReconcileReport* r);
  // Writes this node's annotations where they differ.
  void Publish(const View& v, const Topology* topo, const NodeObject& self, ReconcileReport* r);
  void UpdateMetrics(const ReconcileReport& r, const Mesh* mesh, double seconds);
  // The steps that install a HostPlan; each counts its errors under its event.
  void ApplyWireGuard(const HostPlan& plan, const NodeObject& self, int64_t now,
                      ReconcileReport* r);
  void ApplyInterface(const HostPlan& plan, ReconcileReport* r);
  void ApplyRouting(const HostPlan& plan, ReconcileReport* r);
  void ApplyFirewall(const HostPlan& plan, ReconcileReport* r);
  void ApplyCNI(const HostPlan& plan, ReconcileReport* r);
  // Whether `self` carries this agent's public key (false after a clean-up).
  bool PublishedKey(const NodeObject& self) const;
  std::optional<wg::WgEndpoint> Resolve(const std::optional<Endpoint>& e);
  void Fail(ReconcileReport* r, const std::string& event, const std::string& msg);
  // Leaves a peer's roamed endpoint (`live`: the device's peers by key) in
  // place while its declared one is unchanged; records the declaration in
  // `written`.
  void KeepRoamedEndpoint(wg::WgPeerConfig* pc, const std::map<Key, const wg::WgPeerStatus*>& live,
                          int64_t now, std::map<Key, wg::WgEndpoint>* written) const;

  AgentOptions opts_;
  AgentDeps deps_;
  // Readiness clock (SPEC: nothing working is torn down because the API server
  // is unreachable): while disconnected, heartbeats in the frozen snapshot
  // cannot advance, so the time spent disconnected is not counted against
  // them, until every agent had a check-in period to heartbeat again.
  int64_t ReadinessNow(int64_t now);
  std::optional<int64_t> outage_start_;
  int64_t last_connected_ = 0;
  int64_t last_outage_ = 0;
  int64_t reconnected_at_ = 0;
  int64_t last_heartbeat_ = 0;
  std::set<std::string> installed_priv_routes_;  // rendered, for clean-up of stale ones
  std::vector<netlink::Route> installed_routes_;
  std::set<std::string> reported_warnings_;
  std::set<std::string> reported_mismatches_;  // "node=granularity", logged
  std::set<std::string> evented_mismatches_;   // the same, with an Event from here
  std::set<std::string> reported_ipv4_only_;    // ReportDualStack's, logged
  bool published_dual_stack_ = false;           // removed on clean-up then
  std::optional<wg::WgDevice> last_device_;
  // Per WireGuard peer (public key): the endpoint last written from the
  // declared configuration. While the declaration stays the same, a peer that
  // roamed (WireGuard learnt a new source address from an authenticated
  // handshake) is left where it roamed to instead of being reset every resync.
  std::map<Key, wg::WgEndpoint> written_endpoints_;
  // Until the first reconcile has written the device, its endpoints are taken
  // as written by the previous kg on this node: a restart keeps roamed peers
  // where they roamed instead of resetting them to their declared endpoints.
  bool adopted_device_ = false;
  std::optional<int> mtu_;  // the interface's MTU: --mtu, or the last one detected
  // The NAT endpoints this node last discovered while it led its segment,
  // still published after it stops leading (see PublishedNATEndpoints).
  std::map<std::string, Endpoint> retained_nat_;
  bool retained_seeded_ = false;
  mutable std::mutex mu_;
  std::string dot_;                    // guarded by mu_
  std::vector<std::string> warnings_;  // guarded by mu_
};

}  // namespace kilo::agent
