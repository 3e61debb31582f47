#include "agent/agent.h"

#include <algorithm>
#include <chrono>
#include <tuple>

#include "agent/encapsulation.h"
#include "agent/log.h"
#include "core/host_plan.h"
#include "wg/from_plan.h"

namespace kilo::agent {
namespace {

// The annotations the agent owns on its node (removed on clean-up). Kilo's
// clean-up leaves cni-compatibility-ip behind; SPEC section 8 has the agent
// remove every annotation it writes, and nothing reads it from a node that is
// gone.
const std::vector<std::string>& OwnedAnnotations() {
  static const std::vector<std::string> kKeys = {
      kAnnEndpoint,    kAnnInternalIP,          kAnnKey,         kAnnLastSeen,
      kAnnWireGuardIP, kAnnDiscoveredEndpoints, kAnnGranularity, kAnnCNICompatibilityIP};
  return kKeys;
}

// This project's own annotations kg writes (dual-stack): removed on clean-up
// only where they were written, so that a cluster without IPv6 sees no extra
// write.
const std::vector<std::string>& OwnedDualStackAnnotations() {
  static const std::vector<std::string> kKeys = {kAnnDualStack, kAnnWireGuardIP6, kAnnInternalIP6};
  return kKeys;
}

}  // namespace

Agent::Agent(AgentOptions opts, AgentDeps deps)
    : opts_(std::move(opts)), deps_(std::move(deps)), mtu_(opts_.mtu) {}

void Agent::Fail(ReconcileReport* r, const std::string& event, const std::string& msg) {
  r->errors.push_back(event + ": " + msg);
  if (deps_.metrics) deps_.metrics->Error(event);
  Error("reconcile step failed", {{"event", event}, {"err", msg}});
}

void Agent::ReadDevice(ReconcileReport* r) {
  if (auto dev = deps_.wg->Get(opts_.iface); dev.ok()) {
    last_device_ = std::move(*dev);
  } else {
    Fail(r, "wireguard", dev.error());
  }
}

std::map<std::string, Endpoint> Agent::DiscoverNATEndpoints(const std::vector<Node>& nodes,
                                                            const std::vector<Peer>& peers) {
  std::map<std::string, Endpoint> out;
  if (!last_device_) return out;
  std::map<std::string, int> keepalive;  // public key -> its declared keepalive
  for (const auto& n : nodes) keepalive[n.key.String()] = n.persistent_keepalive;
  for (const auto& p : peers) keepalive[p.public_key.String()] = p.persistent_keepalive;
  for (const auto& dp : last_device_->peers) {
    std::string k = dp.public_key.String();
    auto it = keepalive.find(k);
    // Only NATed remotes (non-zero keepalive) that completed a handshake.
    if (it == keepalive.end() || it->second == 0 || dp.last_handshake_unix == 0 || !dp.endpoint)
      continue;
    out[k] = Endpoint(dp.endpoint->ip, dp.endpoint->port);
  }
  return out;
}

bool Agent::PublishedKey(const NodeObject& self) const {
  auto it = self.annotations.find(kAnnKey);
  return it != self.annotations.end() && it->second == deps_.private_key.Public().String();
}

std::map<std::string, Endpoint> Agent::PublishedNATEndpoints(
    bool leader, const std::map<std::string, Endpoint>& nat, const std::set<std::string>& keys,
    const NodeObject& self) {
  if (!retained_seeded_) {
    // After a restart: what the previous kg on this node published.
    retained_seeded_ = true;
    auto it = self.annotations.find(kAnnDiscoveredEndpoints);
    if (it != self.annotations.end()) {
      if (auto eps = ParseDiscoveredEndpoints(it->second, nullptr)) retained_nat_ = std::move(*eps);
    }
  }
  if (leader) {
    retained_nat_ = nat;
    return nat;
  }
  for (auto it = retained_nat_.begin(); it != retained_nat_.end();) {
    it = keys.count(it->first) ? std::next(it) : retained_nat_.erase(it);
  }
  std::map<std::string, Endpoint> out = retained_nat_;
  for (const auto& [k, e] : nat) out[k] = e;  // a live handshake wins
  return out;
}

void Agent::KeepRoamedEndpoint(wg::WgPeerConfig* pc,
                               const std::map<Key, const wg::WgPeerStatus*>& live, int64_t now,
                               std::map<Key, wg::WgEndpoint>* written) const {
  if (!pc->endpoint) return;
  const wg::WgEndpoint declared = *pc->endpoint;
  (*written)[pc->public_key] = declared;
  auto w = written_endpoints_.find(pc->public_key);
  // A new declaration wins; the device a restarted kg finds counts as written.
  if (adopted_device_ && w != written_endpoints_.end() && w->second != declared) {
    superseded_endpoints_[pc->public_key] = w->second;
    return;
  }
  if (adopted_device_ && w == written_endpoints_.end()) {
    superseded_endpoints_.erase(pc->public_key);
    return;
  }
  auto d = live.find(pc->public_key);
  if (d == live.end()) return;
  const wg::WgPeerStatus& dp = *d->second;
  // The endpoint a previous declaration wrote is not a roam: an authenticated
  // packet the remote sent from its old address (e.g. a force-endpoint port it
  // listened on until its kg moved it back) takes the device there again, and
  // keeping it would cut the peer off until its handshake ages out.
  if (auto s = superseded_endpoints_.find(pc->public_key);
      s != superseded_endpoints_.end() && dp.endpoint && *dp.endpoint == s->second) {
    return;
  }
  // WireGuard roams only on an authenticated packet; a handshake within
  // REJECT_AFTER_TIME (180 s) means the roamed address is the live one. (A
  // NATed remote that declares a keepalive is covered by the discovered
  // endpoints already; this is for those that do not, e.g. the Peers that
  // `kgctl showconf --as-peer` makes for another cluster's leaders.)
  if (dp.endpoint && *dp.endpoint != declared && dp.last_handshake_unix > 0 &&
      now - dp.last_handshake_unix < 180) {
    pc->endpoint = dp.endpoint;
  }
}

std::string Agent::InternalIP6() const {
  if (deps_.internal_iface.empty()) return "";
  auto link = deps_.nl->FindLink(deps_.internal_iface);
  if (!link.ok() || !*link) return "";
  auto addrs = deps_.nl->ListAddresses((*link)->index);
  if (!addrs.ok()) return "";
  // A routable address first; the link-local one (always there while IPv6
  // is on) works as well on the shared LAN.
  std::string link_local;
  for (const auto& a : *addrs) {
    if (!a.prefix.addr().is6()) continue;
    if (!a.prefix.addr().IsLinkLocalUnicast()) return a.prefix.String();
    if (link_local.empty()) link_local = a.prefix.String();
  }
  return link_local;
}

bool Agent::DualStack(const NodeObject& self) const {
  if (opts_.subnet6) return true;
  for (const auto& c : self.pod_cidrs) {
    if (auto p = IPPrefix::Parse(c); p && p->addr().is6()) return true;
  }
  return false;
}

std::map<std::string, std::string> Agent::DesiredAnnotations(
    bool leader, const IPPrefix& wg_cidr, const std::map<std::string, Endpoint>& discovered,
    const NodeObject* current, const std::optional<IPPrefix>& wg_cidr6) {
  std::map<std::string, std::string> a;
  a[kAnnKey] = deps_.private_key.Public().String();
  // As Kilo: "" unless Cilium mode (whose encapsulator needs a private IP).
  a[kAnnCNICompatibilityIP] =
      deps_.internal_ip ? CNICompatibilityIP(*deps_.nl, opts_.compatibility) : "";
  a[kAnnEndpoint] = Endpoint(deps_.external_ip, static_cast<uint16_t>(opts_.port)).String();
  a[kAnnInternalIP] = deps_.internal_ip ? deps_.internal_ip->String() : "";
  a[kAnnGranularity] = GranularityName(opts_.granularity);
  a[kAnnWireGuardIP] = leader ? wg_cidr.String() : "";
  a[kAnnDiscoveredEndpoints] = RenderDiscoveredEndpoints(discovered);
  // Dual-stack (SPEC 11.3): only a kg that carries IPv6 writes these, so that
  // a cluster without IPv6 sees Kilo's annotations only.
  if (current && DualStack(*current)) {
    a[kAnnDualStack] = "true";
    a[kAnnWireGuardIP6] = wg_cidr6 ? wg_cidr6->String() : "";
    a[kAnnInternalIP6] = InternalIP6();
  }
  // Heartbeat: refresh last-seen every check-in period, keep it otherwise so
  // that an unchanged node costs no API write.
  int64_t now = deps_.now();
  if (last_heartbeat_ == 0 && current) {
    auto it = current->annotations.find(kAnnLastSeen);
    if (it != current->annotations.end()) {
      if (auto v = ParseGoInt64(it->second); v && now - *v < kCheckInPeriodSeconds && *v <= now)
        last_heartbeat_ = *v;
    }
  }
  if (now - last_heartbeat_ >= kCheckInPeriodSeconds) last_heartbeat_ = now;
  a[kAnnLastSeen] = std::to_string(last_heartbeat_);
  return a;
}

int64_t Agent::ReadinessNow(int64_t now) {
  if (!deps_.backend->Connected()) {
    if (!outage_start_) {
      // Freeze at the last reconcile that saw a live API: every node that
      // was ready then stays ready.
      outage_start_ = last_connected_ ? last_connected_ : now;
      Warn("API server unreachable: keeping the current mesh", {});
    }
    return *outage_start_;  // frozen at the start of the outage
  }
  if (outage_start_) {
    last_outage_ = now - *outage_start_;
    reconnected_at_ = now;
    outage_start_.reset();
    Info("API server reachable again", {{"outage_seconds", std::to_string(last_outage_)}});
  }
  last_connected_ = now;
  if (last_outage_ && now - reconnected_at_ < 2 * kCheckInPeriodSeconds) return now - last_outage_;
  last_outage_ = 0;
  return now;
}

// One reconcile: snapshot, plan, apply each part, publish.
ReconcileReport Agent::Reconcile(Trigger trigger) {
  auto started = std::chrono::steady_clock::now();
  ReconcileReport r;
  const int64_t real_now = deps_.now();
  const std::optional<NodeObject> self = deps_.backend->GetNode(opts_.hostname);
  const NodeObject* self_obj = self ? &*self : nullptr;
  if (!self_obj) {
    r.skipped_reason = "node " + opts_.hostname + " not found in the API";
    Fail(&r, "backend", r.skipped_reason);
    applied_input_.reset();
    return r;
  }
  // A change pass after one that applied cleanly does nothing more when the
  // mesh's inputs are the same (a heartbeat): the device is read again, and
  // the data plane converged, on the next resync.
  const bool may_skip = trigger == Trigger::kChange && applied_input_.has_value();
  // Read the device first: its handshakes tell the NATed endpoints.
  if (!may_skip) ReadDevice(&r);
  // Readiness of the other nodes is judged on this clock (see ReadinessNow).
  const int64_t readiness_now = ReadinessNow(real_now);
  View view = Translate(*self_obj, readiness_now);
  next_deadline_.reset();
  if (view.deadline && !outage_start_) next_deadline_ = *view.deadline + (real_now - readiness_now);
  if (may_skip && view.input == *applied_input_ &&
      SameContentButHeartbeat(*self_obj, applied_self_)) {
    r.unchanged = true;
    return r;
  }
  // This pass writes the data plane: it plans from the device as it is now.
  // The one read at the last resync may show a NATed remote where it was
  // before it roamed, and writing that back cut the pair off until the
  // remote's next keepalive (interop full.bats).
  if (may_skip) {
    ReadDevice(&r);
    view.nat = DiscoverNATEndpoints(view.ready, view.ready_peers);
    view.input.nat = view.nat;
  }
  std::optional<Mesh> mesh;
  std::optional<Topology> topo = BuildTopology(&view, &mesh, &r);
  ReportWarnings(view.warnings, &r);
  ReportGranularityMismatches(view.ready, &r);
  NodeObject published_self = Publish(view, topo ? &*topo : nullptr, *self_obj, &r);
  if (topo) {
    r.leader = topo->leader();
    r.nodes = static_cast<int>(view.ready.size());
    r.peers = static_cast<int>(view.ready_peers.size());
    if (deps_.auto_mtu) {
      if (auto m = deps_.auto_mtu()) mtu_ = *m;
    }
    ReportDualStack(*topo, &r);
    const HostPlan plan = PlanHost(*topo, PlanOptions());
    ApplyWireGuard(plan, *self_obj, real_now, &r);
    ApplyInterface(plan, &r);
    ApplyRouting(plan, &r);
    ApplyFirewall(plan, &r);
    ApplyCNI(plan, &r);
    ++stats_.applies;
    r.applied = true;
    MutexLock lock(&mu_);
    dot_ = topo->Dot();
  }
  // Only a clean pass may be skipped after: a failed step is retried.
  if (r.applied && r.errors.empty()) {
    applied_input_ = std::move(view.input);
    applied_self_ = std::move(published_self);
  } else {
    applied_input_.reset();
  }
  UpdateMetrics(r, mesh ? &*mesh : nullptr,
                std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count());
  return r;
}

std::optional<int64_t> Agent::NextReadinessDeadline() const { return next_deadline_; }

Agent::View Agent::Translate(const NodeObject& self, int64_t now) {
  View v;
  // Our own node carries the values we are about to publish (the API may not
  // have them yet).
  TranslateOptions topts;
  topts.topology_label = opts_.topology_label;
  NodeObject self_overlay = self;
  auto pre = DesiredAnnotations(false, opts_.subnet, {}, &self);
  for (const auto& k : {kAnnKey, kAnnEndpoint, kAnnInternalIP, kAnnLastSeen, kAnnGranularity})
    self_overlay.annotations[k] = pre[k];
  for (const char* k : {kAnnDualStack, kAnnInternalIP6}) {
    if (pre.count(k)) self_overlay.annotations[k] = pre[k];
  }
  // Each object is translated again only when it changed, in place; the
  // entries of objects no longer in the snapshot are dropped. The objects are
  // visited where the backend keeps them: copying 1,000 Nodes and hashing
  // each on every resync was most of what an idle kg spent.
  const uint64_t pass = ++translate_pass_;
  // The backend visits its Nodes sorted by name, as the cache is: each one is
  // found at the cursor, without a search (a lookup otherwise).
  auto cursor = node_cache_.begin();
  auto on_node = [&](const NodeObject& o) {
    const bool is_self = o.name == opts_.hostname;
    const NodeObject& obj = is_self ? self_overlay : o;
    while (cursor != node_cache_.end() && cursor->first < obj.name) ++cursor;
    bool inserted = false;
    auto it = cursor;
    if (it == node_cache_.end() || it->first != obj.name) {
      std::tie(it, inserted) = node_cache_.try_emplace(obj.name);
    }
    cursor = std::next(it);
    CachedNode& c = it->second;
    // The API server gives an object a new resourceVersion with every write,
    // so an unchanged one is the same content. Fakes (no resourceVersion) and
    // this node's overlay (the values it is about to publish) are compared
    // by digest.
    bool same = !inserted && !is_self && !obj.resource_version.empty() &&
                c.resource_version == obj.resource_version;
    if (!same) {
      const uint64_t digest = ContentDigest(obj, false);
      same = !inserted && c.resource_version == obj.resource_version && c.digest == digest;
      if (!same) {
        const uint64_t heartbeat_digest = ContentDigest(obj, true);
        // A heartbeat keeps the generation: the mesh reads last-seen only
        // through readiness, which the ready set reflects.
        if (inserted || c.heartbeat_digest != heartbeat_digest) c.generation = next_generation_++;
        c.resource_version = obj.resource_version;
        c.digest = digest;
        c.heartbeat_digest = heartbeat_digest;
        c.warnings.clear();
        c.node = TranslateNode(obj, topts, &c.warnings);
        ++stats_.node_translations;
      }
    }
    c.pass = pass;
    for (const auto& w : c.warnings) {
      v.warnings.push_back(w);
      v.input.warnings.push_back(w.String());
    }
    if (c.node.Ready(now)) {
      v.ready.push_back(c.node);
      // This node's own content is compared as a whole (applied_self_): what
      // it publishes changes its translation but not the mesh's inputs.
      v.input.nodes.emplace_back(obj.name, is_self ? 0 : c.generation);
      const int64_t stale_at = c.node.last_seen + 2 * kCheckInPeriodSeconds;
      if (!is_self && (!v.deadline || stale_at < *v.deadline)) v.deadline = stale_at;
    }
  };
  auto on_peer = [&](const PeerObject& o) {
    auto [it, inserted] = peer_cache_.try_emplace(o.name);
    CachedPeer& c = it->second;
    if (inserted || !SameContent(c.obj, o)) {
      c.generation = next_generation_++;
      c.obj = o;
      c.warnings.clear();
      c.peer = TranslatePeer(o, &c.warnings);
      ++stats_.peer_translations;
    }
    c.pass = pass;
    for (const auto& w : c.warnings) {
      v.warnings.push_back(w);
      v.input.warnings.push_back(w.String());
    }
    if (c.peer && c.peer->Ready()) {
      v.ready_peers.push_back(*c.peer);
      v.input.peers.emplace_back(c.obj.name, c.generation);
    }
  };
  deps_.backend->Visit(on_node, on_peer);
  std::erase_if(node_cache_, [pass](const auto& kv) { return kv.second.pass != pass; });
  std::erase_if(peer_cache_, [pass](const auto& kv) { return kv.second.pass != pass; });
  v.nat = DiscoverNATEndpoints(v.ready, v.ready_peers);
  v.input.nat = v.nat;
  return v;
}

// Another node's discovered endpoint of a node of our own location is that
// node's NAT seen from outside, which a host behind the same NAT rarely
// reaches (routers seldom hairpin): a neighbour is reached at its declared
// endpoint, over the LAN, until our own handshakes say otherwise (`self`'s
// discovered endpoints, from this device). Matters where neighbours are
// peers (granularity full or cross); a node without a location has none.
void Agent::ForgetNeighboursNATEndpoints(const Node& self, std::vector<Node>* ready) {
  if (self.location.empty()) return;
  std::set<std::string> neighbours;
  for (const Node& n : *ready)
    if (&n != &self && n.location == self.location) neighbours.insert(n.key.String());
  if (neighbours.empty()) return;
  for (Node& n : *ready) {
    if (&n == &self) continue;
    std::erase_if(n.discovered_endpoints,
                  [&](const auto& kv) { return neighbours.count(kv.first) > 0; });
  }
}

std::optional<Topology> Agent::BuildTopology(View* v, std::optional<Mesh>* mesh,
                                             ReconcileReport* r) {
  Node* self = nullptr;
  for (auto& n : v->ready)
    if (n.name == opts_.hostname) self = &n;
  if (!self) {
    r->skipped_reason = "the local node is not ready (it needs a pod CIDR, a key and an endpoint)";
    return std::nullopt;
  }
  self->discovered_endpoints = v->nat;
  ForgetNeighboursNATEndpoints(*self, &v->ready);
  HostOptions ho;
  ho.port = self->endpoint && self->endpoint->port() ? self->endpoint->port() : opts_.port;
  ho.private_key = deps_.private_key;
  ho.now = deps_.now();  // the graph marks a failing leader as of this pass
  MeshOptions mo;
  mo.granularity = opts_.granularity;
  mo.subnet = opts_.subnet;
  mo.subnet6 = opts_.subnet6;
  ++stats_.topology_builds;
  auto m = Mesh::Build(v->ready, v->ready_peers, mo, &v->warnings);
  if (!m.ok()) {
    r->skipped_reason = "failed to create topology: " + m.error();
    Fail(r, "reconcile", r->skipped_reason);
    return std::nullopt;
  }
  mesh->emplace(std::move(*m));
  return Topology::ForHost(**mesh, opts_.hostname, ho);
}

void Agent::ReportGranularityMismatches(const std::vector<Node>& ready, ReconcileReport* r) {
  // One Event per mismatch in the cluster, not one per cross agent: the
  // first ready cross node by name records it (every agent computes the same
  // one); every agent logs and counts it.
  const std::string* recorder = nullptr;
  for (const Node& n : ready) {
    const bool cross = n.name == opts_.hostname || n.granularity == Granularity::kCross;
    if (cross && (!recorder || n.name < *recorder)) recorder = &n.name;
  }
  const bool record = recorder && *recorder == opts_.hostname;
  std::set<std::string> current, evented;
  for (const auto& mm : CrossGranularityMismatches(ready, opts_.granularity)) {
    std::string key = mm.node + "=" + mm.granularity;
    r->granularity_mismatches.push_back(key);
    current.insert(key);
    if (!reported_mismatches_.count(key)) {
      Warn("node of another granularity in a cross mesh: its peers do not match",
           {{"node", mm.node}, {"granularity", mm.granularity}});
    }
    if (!record) continue;
    evented.insert(key);
    if (evented_mismatches_.count(key)) continue;
    auto s = deps_.backend->RecordNodeEvent(
        mm.node, "GranularityMismatch",
        "annotation " + std::string(kAnnGranularity) + "=\"" + mm.granularity +
            "\" differs from the cross granularity of node " + opts_.hostname +
            ": their WireGuard peers do not match; run kg --mesh-granularity=cross on it");
    if (!s.ok()) Fail(r, "publish", "record event: " + s.message());
  }
  reported_mismatches_ = std::move(current);
  evented_mismatches_ = std::move(evented);
  if (deps_.metrics)
    deps_.metrics->SetGranularityMismatches(static_cast<int>(reported_mismatches_.size()));
}

void Agent::ReportDualStack(const Topology& t, ReconcileReport* r) {
  std::set<std::string> current;
  const auto& segs = t.mesh().segments();
  for (size_t si : t.DualStackUnreachable()) {
    const Segment& s = segs[si];
    std::string key = s.location + "=" + s.leader_name();
    r->ipv4_only_segments.push_back(key);
    current.insert(key);
    if (reported_ipv4_only_.count(key)) continue;
    const bool ours = !t.local_segment().dual_stack;
    const std::string& who = ours ? t.local_segment().leader_name() : s.leader_name();
    Warn("segment reached over IPv4 only: IPv6 needs kg leading both ends",
         {{"segment", s.location},
          {"leader", who},
          {"reason", std::string("does not advertise ") + kAnnDualStack}});
    // One Event on our own node per segment that becomes IPv4-only.
    auto ev = deps_.backend->RecordNodeEvent(opts_.hostname, "DualStackIPv4Only",
                                             "no IPv6 towards " + s.location + ": node " + who +
                                                 " (leader) does not advertise " + kAnnDualStack +
                                                 " (a Go agent, or kg without IPv6); IPv4 only");
    if (!ev.ok()) Fail(r, "publish", "record event: " + ev.message());
  }
  reported_ipv4_only_ = std::move(current);
  if (deps_.metrics)
    deps_.metrics->SetIPv4OnlySegments(static_cast<int>(reported_ipv4_only_.size()));
}

void Agent::ReportWarnings(const std::vector<Warning>& warnings, ReconcileReport* r) {
  // Every new warning once in the log; Events for our own node; fixed ones
  // are forgotten so that a relapse is reported again. Identical warnings
  // are reported once, and at most kMaxReportedWarnings new ones per
  // reconcile: an annotation with 100,000 bad entries must not flood the log
  // or block the loop on 100,000 Event writes.
  constexpr size_t kMaxReportedWarnings = 32;
  std::set<std::string> current;
  std::vector<std::string> lines;
  size_t reported = 0, unreported = 0;
  for (const auto& w : warnings) {
    std::string line = w.String();
    if (!current.insert(line).second) continue;
    lines.push_back(line);
    if (reported_warnings_.count(line)) continue;
    if (reported >= kMaxReportedWarnings) {
      ++unreported;
      continue;
    }
    ++reported;
    Warn("invalid value ignored",
         {{w.kind, w.name}, {"field", w.field}, {"value", w.value}, {"reason", w.reason}});
    if (w.kind == "node" && w.name == opts_.hostname) {
      auto s = deps_.backend->RecordNodeEvent(
          w.name, "InvalidAnnotation",
          (w.field.find('/') != std::string::npos ? "annotation " : "field ") + w.field + "=\"" +
              w.value + "\" is invalid: " + w.reason);
      if (!s.ok()) Fail(r, "publish", "record event: " + s.message());
    }
  }
  if (unreported) {
    Warn("more invalid values ignored, not reported one by one",
         {{"count", std::to_string(unreported)}});
  }
  reported_warnings_ = std::move(current);
  if (deps_.metrics) deps_.metrics->SetWarnings(static_cast<int>(reported_warnings_.size()));
  MutexLock lock(&mu_);
  warnings_ = std::move(lines);
}

NodeObject Agent::Publish(const View& v, const Topology* topo, const NodeObject& self,
                          ReconcileReport* r) {
  bool leader = topo && topo->leader();
  std::set<std::string> nat_keys;  // the NATed remotes still in the mesh
  for (const auto& n : v.ready)
    if (n.persistent_keepalive) nat_keys.insert(n.key.String());
  for (const auto& p : v.ready_peers)
    if (p.persistent_keepalive) nat_keys.insert(p.public_key.String());
  auto published = PublishedNATEndpoints(leader, v.nat, nat_keys, self);
  auto desired = DesiredAnnotations(leader, topo ? topo->wireguard_cidr() : opts_.subnet, published,
                                    &self, topo ? topo->wireguard_cidr6() : std::nullopt);
  if (desired.count(kAnnDualStack)) published_dual_stack_ = true;
  AnnotationChanges changes;  // only what differs
  for (const auto& [k, val] : desired) {
    auto it = self.annotations.find(k);
    if (it == self.annotations.end() || it->second != val) changes[k] = val;
  }
  NodeObject after = self;
  if (changes.empty()) return after;
  auto sent = deps_.backend->PatchNodeAnnotations(opts_.hostname, changes);
  if (!sent.ok()) {
    Fail(r, "publish", sent.error());
    return after;
  }
  if (*sent) r->annotation_writes = 1;
  for (auto& [k, val] : changes) {
    if (val)
      after.annotations[k] = std::move(*val);
    else
      after.annotations.erase(k);
  }
  return after;
}

void Agent::UpdateMetrics(const ReconcileReport& r, const Mesh* mesh, double seconds) {
  if (!deps_.metrics) return;
  if (r.applied && mesh) {
    deps_.metrics->SetLeader(r.leader);
    deps_.metrics->SetNodes(r.nodes);
    deps_.metrics->SetPeers(r.peers);
    std::map<std::string, std::string> names;  // public key -> name
    for (const auto& s : mesh->segments()) names[s.key.String()] = s.leader_name();
    for (const auto& p : mesh->peers()) names[p.public_key.String()] = p.name;
    std::vector<WgPeerSample> samples;
    if (last_device_) {
      for (const auto& p : last_device_->peers) {
        std::string k = p.public_key.String();
        auto it = names.find(k);
        samples.push_back(WgPeerSample{k, it == names.end() ? "" : it->second,
                                       p.last_handshake_unix, p.rx_bytes, p.tx_bytes});
      }
    }
    deps_.metrics->SetWireGuardPeers(samples);
    // The process metrics (RSS, CPU, fds: three reads of /proc) are
    // refreshed when /metrics is scraped, not on every resync.
  }
  deps_.metrics->Reconciled(seconds);
}

HostPlanOptions Agent::PlanOptions() const {
  HostPlanOptions o;
  o.routes.local = opts_.local;
  o.routes.encapsulate = opts_.encapsulate;
  o.routes.compatibility = opts_.compatibility;
  o.cni = opts_.cni;
  o.iptables_forward_rules = opts_.iptables_forward_rules;
  o.service_cidrs = opts_.service_cidrs;
  o.mtu = mtu_.value_or(1420);
  o.private_interface = !deps_.internal_iface.empty();
  if (last_device_) {
    for (const auto& dp : last_device_->peers)
      if (dp.endpoint) o.live_endpoints.push_back(dp.endpoint->ip);
  }
  return o;
}

void Agent::ApplyWireGuard(const HostPlan& plan, const NodeObject& self, int64_t now,
                           ReconcileReport* r) {
  wg::WgDeviceConfig dev;
  dev.private_key = deps_.private_key;
  dev.listen_port = plan.wireguard.listen_port;
  // Endpoints written from declarations this time; peers no longer wanted are
  // forgotten, so a returning one starts afresh.
  std::map<Key, wg::WgEndpoint> written;
  std::map<Key, const wg::WgPeerStatus*> live;
  if (last_device_)
    for (const auto& dp : last_device_->peers) live.emplace(dp.public_key, &dp);
  std::set<Key> seen;
  for (const auto& p : plan.wireguard.peers) {
    if (!seen.insert(p.public_key).second) {
      Fail(r, "wireguard",
           "two peers share the public key " + p.public_key.String() + "; the second is skipped");
      continue;
    }
    // DNS endpoints are re-resolved on every reconcile (dynamic DNS).
    wg::WgPeerConfig pc = wg::PeerConfigFromPlan(p, deps_.resolve);
    KeepRoamedEndpoint(&pc, live, now, &written);
    dev.peers.push_back(std::move(pc));
  }
  written_endpoints_ = std::move(written);
  std::erase_if(superseded_endpoints_,
                [this](const auto& kv) { return !written_endpoints_.count(kv.first); });
  // A kg stopped with --clean-up (a rolling update) took its annotations off
  // its node, so every other agent dropped this node's peer and re-creates it
  // without the sessions our device still holds: our packets on those are
  // dropped until WireGuard gives up on them (15 s and more), and a NATed node
  // cannot be reached first. Start afresh too, so that handshakes begin now.
  if (!adopted_device_ && !PublishedKey(self) && last_device_ && !last_device_->peers.empty()) {
    wg::WgDeviceConfig fresh = dev;
    fresh.peers.clear();
    if (auto w = deps_.wg->Apply(opts_.iface, fresh); w.ok()) {
      r->wg_writes += *w;
      Info("peers re-created: this node's annotations had been cleaned up", {});
    } else {
      Fail(r, "wireguard", w.error());
    }
  }
  std::string what;
  if (auto w = deps_.wg->Apply(opts_.iface, dev, &what); w.ok()) {
    r->wg_writes += *w;
    adopted_device_ = true;
    // Kilo logs the difference too ("WireGuard configurations are different").
    if (*w > 0) Info("wireguard changed", {{"what", what}});
  } else {
    Fail(r, "wireguard", w.error());
  }
}

void Agent::ApplyInterface(const HostPlan& plan, ReconcileReport* r) {
  auto link = deps_.nl->FindLink(opts_.iface);
  if (!link.ok() || !link->has_value()) {
    Fail(r, "interface", link.ok() ? "interface " + opts_.iface + " does not exist" : link.error());
    return;
  }
  if (!(*link)->up) {
    if (auto s = deps_.nl->SetLinkUp(opts_.iface, true); !s.ok())
      Fail(r, "interface", s.message());
    else
      ++r->addr_writes;
  }
  if (mtu_ && (*link)->mtu != *mtu_) {
    if (auto s = deps_.nl->SetLinkMTU(opts_.iface, *mtu_); !s.ok())
      Fail(r, "interface", s.message());
    else
      ++r->addr_writes;
  }
  std::vector<IPPrefix> addrs;
  if (plan.interface_address) addrs.push_back(*plan.interface_address);
  if (plan.interface_address6) addrs.push_back(*plan.interface_address6);
  if (auto c = netlink::ConvergeAddresses(*deps_.nl, opts_.iface, addrs); c.ok()) {
    r->addr_writes += c->writes();
  } else {
    Fail(r, "interface", c.error());
  }
}

void Agent::ApplyRouting(const HostPlan& plan, ReconcileReport* r) {
  DevNames dn;
  dn.kilo = opts_.iface;
  dn.priv = deps_.internal_iface;
  dn.tunl = opts_.tunnel_iface;
  if (plan.routing.tunnel_address && opts_.encapsulate != Encapsulation::kNever) {
    if (auto c = netlink::ConvergeAddresses(*deps_.nl, opts_.tunnel_iface,
                                            {*plan.routing.tunnel_address});
        c.ok())
      r->addr_writes += c->writes();
    else
      Fail(r, "interface", c.error());
  }
  std::vector<netlink::Route> routes;
  std::set<std::string> priv_now;
  for (const auto& p : plan.installed_routes) {
    netlink::Route nr = ToNetlinkRoute(p, dn);
    if (p.dev == RouteDev::kPriv) priv_now.insert(nr.String());
    routes.push_back(std::move(nr));
  }
  netlink::RouteOwnership own;
  own.interfaces = {opts_.iface, opts_.tunnel_iface};
  if (auto c = netlink::ConvergeRoutes(*deps_.nl, routes, own); c.ok()) {
    r->route_writes += c->writes();
  } else {
    Fail(r, "routes", c.error());
  }
  // Routes via the private interface are in the main table on a foreign
  // interface: remove the ones we installed earlier and no longer want.
  for (const auto& old : installed_routes_) {
    if (old.dev != dn.priv || priv_now.count(old.String())) continue;
    // A desired route with the same key already replaced it in place.
    bool replaced = std::any_of(routes.begin(), routes.end(),
                                [&](const netlink::Route& n) { return n.SameKey(old); });
    if (replaced) continue;
    if (auto s = deps_.nl->DeleteRoute(old); !s.ok())
      Fail(r, "routes", s.message());
    else
      ++r->route_writes;
  }
  installed_routes_ = routes;
  std::vector<netlink::Rule> rules;
  for (const auto& p : plan.routing.rules) rules.push_back(ToNetlinkRule(p, opts_.iface));
  if (auto c = netlink::ConvergeRules(*deps_.nl, rules, netlink::kKiloTable); c.ok()) {
    r->rule_writes += c->writes();
  } else {
    Fail(r, "rules", c.error());
  }
}

void Agent::ApplyFirewall(const HostPlan& plan, ReconcileReport* r) {
  if (auto w = deps_.firewall->Apply(plan.firewall); w.ok()) {
    r->fw_writes = *w;
  } else {
    Fail(r, "firewall", w.error());
  }
}

void Agent::ApplyCNI(const HostPlan& plan, ReconcileReport* r) {
  if (!plan.cni_conflist) return;
  auto cur = deps_.fs->Read(opts_.cni_path);
  if (!cur.ok()) {
    Fail(r, "cni", cur.error());
  } else if (!cur->has_value() || **cur != *plan.cni_conflist) {
    if (auto s = deps_.fs->WriteAtomic(opts_.cni_path, *plan.cni_conflist, 0644); s.ok())
      ++r->cni_writes;
    else
      Fail(r, "cni", s.message());
  }
}

Status Agent::CleanUp() {
  Status first;
  auto keep = [&](const Status& s) {
    if (!s.ok()) {
      Error("clean-up step failed", {{"err", s.message()}});
      if (first.ok()) first = s;
    }
  };
  netlink::RouteOwnership own;
  own.interfaces = {opts_.iface, opts_.tunnel_iface};
  keep(netlink::ConvergeRoutes(*deps_.nl, {}, own).status());
  for (const auto& old : installed_routes_) {
    if (old.dev == deps_.internal_iface) keep(deps_.nl->DeleteRoute(old));
  }
  installed_routes_.clear();
  keep(netlink::ConvergeRules(*deps_.nl, {}, netlink::kKiloTable).status());
  keep(deps_.firewall->CleanUp());
  std::vector<std::string> owned = OwnedAnnotations();
  if (published_dual_stack_) {
    owned.insert(owned.end(), OwnedDualStackAnnotations().begin(),
                 OwnedDualStackAnnotations().end());
  }
  keep(deps_.backend->RemoveNodeAnnotations(opts_.hostname, owned).status());
  if (opts_.clean_up_tunnel) {
    keep(netlink::ConvergeAddresses(*deps_.nl, opts_.tunnel_iface, {}).status());
    keep(deps_.nl->DeleteLink(opts_.tunnel_iface));
  }
  if (opts_.clean_up_interface) {
    keep(deps_.nl->DeleteLink(opts_.iface));
  } else {
    keep(netlink::ConvergeAddresses(*deps_.nl, opts_.iface, {}).status());
  }
  return first;
}

std::string Agent::Dot() const {
  MutexLock lock(&mu_);
  return dot_;
}

std::vector<std::string> Agent::Warnings() const {
  MutexLock lock(&mu_);
  return warnings_;
}

}  // namespace kilo::agent
