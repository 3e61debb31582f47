#pragma once
// The reconcile loop of kg (SPEC section 8). Every dependency is injected so
// the loop is unit-tested against fakes (tests/fakes/*); the reconcile
// function never creates an I/O client itself.

#include <functional>
#include <map>
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
#include "core/thread_annotations.h"
#include "core/topology.h"
#include "core/translate.h"
#include "firewall/firewall.h"
#include "netlink/from_plan.h"
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

// A planned route or rule as kg installs it (netlink/from_plan.h).
using netlink::ToNetlinkRoute;
using netlink::ToNetlinkRule;

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

// Why a reconcile runs.
enum class Trigger {
  // The periodic resync (and the first pass): everything is planned and
  // converged, which repairs drift of the data plane.
  kResync,
  // A watch event or a readiness deadline: the mesh is rebuilt and the data
  // plane converged only when what the mesh reads changed (a heartbeat of a
  // node that stays ready changes nothing).
  kChange,
};

// What one reconcile did (for logs, metrics, tests).
struct ReconcileReport {
  bool applied = false;  // false: local node not ready / no topology
  // A kChange pass that found nothing the mesh reads changed: no topology was
  // built, nothing applied or published (applied and skipped_reason unset).
  bool unchanged = false;
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

// Thread-safety: Reconcile, CleanUp and PlanOptions are called by one thread
// (kg's main loop), and all private state but dot_ and warnings_ belongs to it.
// Dot and Warnings may be called from any thread (the HTTP server's).
class Agent {
 public:
  Agent(AgentOptions opts, AgentDeps deps);

  // One pass: publish the local node's annotations when they differ, compute
  // the topology, converge WireGuard, address, routes, rules, firewall, CNI.
  // Errors are collected (and counted in metrics), never thrown; a step that
  // fails does not stop the others, and nothing working is torn down because
  // the API is unreachable (the last snapshot is used).
  // With Trigger::kChange, only the objects that changed since the last pass
  // are translated again, and nothing more is done when the mesh's inputs are
  // the same as those of the last pass that applied.
  ReconcileReport Reconcile(Trigger trigger = Trigger::kResync);

  // When (unix seconds, the clock of AgentDeps::now) the first remote node of
  // the last pass stops being ready unless it heartbeats again; a kChange
  // pass then drops it. nullopt when no remote node is ready, or while the
  // API server is unreachable (readiness is frozen then).
  std::optional<int64_t> NextReadinessDeadline() const;

  // Work counters, for tests and benchmarks.
  struct Stats {
    int64_t node_translations = 0;  // Nodes translated (cache misses)
    int64_t peer_translations = 0;
    int64_t topology_builds = 0;  // meshes built
    int64_t applies = 0;          // host plans applied to the data plane
  };
  Stats stats() const { return stats_; }

  // Removes kg's routes, rules, firewall and annotations (and the interface
  // with clean_up_interface). Returns the first error, after trying all.
  Status CleanUp();

  // The latest topology as DOT, for /graph ("" before the first topology).
  std::string Dot() const EXCLUDES(mu_);
  // Warnings of the last reconcile (bad annotations / Peers), one line each.
  std::vector<std::string> Warnings() const EXCLUDES(mu_);

  // The options of this host's plan: the flags, and what the host has.
  HostPlanOptions PlanOptions() const;

 private:
  std::map<std::string, std::string> DesiredAnnotations(
      bool leader, const IPPrefix& wg_cidr, const std::map<std::string, Endpoint>& discovered,
      const NodeObject* current, const std::optional<IPPrefix>& wg_cidr6 = {});
  // Reads the WireGuard device into last_device_ (kept as it was on failure).
  void ReadDevice(ReconcileReport* r);
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
  // What the mesh is built from: the ready Nodes and Peers, each with the
  // generation of its content (a heartbeat does not make a new one), the NAT
  // endpoints and the translation warnings. Equal inputs build equal meshes.
  struct MeshInput {
    std::vector<std::pair<std::string, uint64_t>> nodes, peers;
    std::map<std::string, Endpoint> nat;
    std::vector<std::string> warnings;
    bool operator==(const MeshInput&) const = default;
  };
  struct View {
    std::vector<Node> ready;
    std::vector<Peer> ready_peers;
    std::vector<Warning> warnings;
    std::map<std::string, Endpoint> nat;
    MeshInput input;
    // When the first ready remote node stops being ready (readiness clock).
    std::optional<int64_t> deadline;
  };
  // Translates the backend's objects (`self` as the API has it).
  View Translate(const NodeObject& self, int64_t now);

  // This host's topology (nullopt, with the reason in `r`, when the node is
  // not ready or the mesh cannot be built); `mesh` receives the mesh it views.
  // Drops from the other nodes' discovered endpoints those of `self`'s
  // location's nodes (see agent.cc).
  static void ForgetNeighboursNATEndpoints(const Node& self, std::vector<Node>* ready);
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
  // Writes this node's annotations where they differ. Returns `self` as the
  // API has it afterwards (with what was written).
  NodeObject Publish(const View& v, const Topology* topo, const NodeObject& self,
                     ReconcileReport* r);
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
  void Fail(ReconcileReport* r, const std::string& event, const std::string& msg);
  // Leaves a peer's roamed endpoint (`live`: the device's peers by key) in
  // place while its declared one is unchanged; records the declaration in
  // `written`.
  void KeepRoamedEndpoint(wg::WgPeerConfig* pc, const std::map<Key, const wg::WgPeerStatus*>& live,
                          int64_t now, std::map<Key, wg::WgEndpoint>* written) const;

  AgentOptions opts_;
  AgentDeps deps_;
  // Translations cached per object, redone only when the object changed.
  // A Node is kept as digests, not as a copy (that would double the memory
  // of the informer's cache): the entry is used when the resourceVersion and
  // the digest are the same (the API server changes the resourceVersion on
  // every write; the digest covers fakes and this node's overlay).
  struct CachedNode {
    std::string resource_version;
    uint64_t digest = 0;            // ContentDigest(obj, false)
    uint64_t heartbeat_digest = 0;  // ContentDigest(obj, true)
    Node node;
    std::vector<Warning> warnings;
    uint64_t generation = 0;  // bumped by every change but a heartbeat
    uint64_t pass = 0;        // the last Translate that saw the Node
  };
  struct CachedPeer {
    PeerObject obj;
    std::optional<Peer> peer;
    std::vector<Warning> warnings;
    uint64_t generation = 0;
    uint64_t pass = 0;  // the last Translate that saw the Peer
  };
  std::map<std::string, CachedNode> node_cache_;
  std::map<std::string, CachedPeer> peer_cache_;
  uint64_t next_generation_ = 1;
  uint64_t translate_pass_ = 0;
  // The inputs of the last pass that applied a plan without errors, and the
  // local Node as the API has it after that pass published.
  std::optional<MeshInput> applied_input_;
  NodeObject applied_self_;
  std::optional<int64_t> next_deadline_;
  Stats stats_;
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
  std::set<std::string> reported_ipv4_only_;   // ReportDualStack's, logged
  bool published_dual_stack_ = false;          // removed on clean-up then
  std::optional<wg::WgDevice> last_device_;
  // Per WireGuard peer (public key): the endpoint last written from the
  // declared configuration. While the declaration stays the same, a peer that
  // roamed (WireGuard learnt a new source address from an authenticated
  // handshake) is left where it roamed to instead of being reset every resync.
  std::map<Key, wg::WgEndpoint> written_endpoints_;
  // Per peer: the endpoint of its declaration before the current one (never
  // taken for a roam, see KeepRoamedEndpoint).
  mutable std::map<Key, wg::WgEndpoint> superseded_endpoints_;
  // Until the first reconcile has written the device, its endpoints are taken
  // as written by the previous kg on this node: a restart keeps roamed peers
  // where they roamed instead of resetting them to their declared endpoints.
  bool adopted_device_ = false;
  std::optional<int> mtu_;  // the interface's MTU: --mtu, or the last one detected
  // The NAT endpoints this node last discovered while it led its segment,
  // still published after it stops leading (see PublishedNATEndpoints).
  std::map<std::string, Endpoint> retained_nat_;
  bool retained_seeded_ = false;
  mutable Mutex mu_;
  std::string dot_ GUARDED_BY(mu_);
  std::vector<std::string> warnings_ GUARDED_BY(mu_);
};

}  // namespace kilo::agent
