#include "agent/failover.h"

#include <prometheus/counter.h>
#include <prometheus/gauge.h>
#include <prometheus/registry.h>

#include <algorithm>
#include <cctype>
#include <cstdio>
#include <ctime>

#include "agent/k8s_backend.h"
#include "agent/log.h"
#include "core/leader.h"
#include "core/translate.h"

namespace kilo::agent {
namespace {

namespace fo = kilo::failover;

// RFC 3339 with microseconds, as client-go writes MicroTime.
std::string MicroTime(int64_t ms) {
  time_t s = static_cast<time_t>(ms / 1000);
  struct tm tm;
  gmtime_r(&s, &tm);
  char buf[96];
  std::snprintf(buf, sizeof buf, "%04d-%02d-%02dT%02d:%02d:%02d.%06dZ", tm.tm_year + 1900,
                tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec,
                static_cast<int>(ms % 1000) * 1000);
  return buf;
}

bool SameRecord(const k8s::LeaseObject& a, const k8s::LeaseObject& b) {
  return a.holder_identity == b.holder_identity && a.renew_time == b.renew_time &&
         a.resource_version == b.resource_version;
}

constexpr int64_t kMemberRefreshMs = 30000;
constexpr int64_t kMinPublishIntervalMs = 1000;

}  // namespace

std::string LeaseNameFor(const std::string& location) {
  std::string clean;
  for (char c : location) {
    char l = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    clean.push_back((std::isalnum(static_cast<unsigned char>(l)) || l == '-') ? l : '-');
  }
  bool exact = clean == location && !location.empty() && location.size() <= 40 &&
               location.front() != '-' && location.back() != '-';
  if (exact) return "kilo-leader-" + location;
  // FNV-1a of the original: distinct locations that sanitise alike differ.
  uint32_t h = 2166136261u;
  for (unsigned char c : location) h = (h ^ c) * 16777619u;
  char hex[9];
  std::snprintf(hex, sizeof hex, "%08x", h);
  if (clean.size() > 40) clean.resize(40);
  while (!clean.empty() && clean.back() == '-') clean.pop_back();
  return "kilo-leader-" + (clean.empty() ? std::string() : clean + "-") + hex;
}

LeaseHolder::LeaseHolder(LeaseStore* store, std::string name, std::string identity,
                         LeaseTiming timing)
    : store_(store), name_(std::move(name)), identity_(std::move(identity)), timing_(timing) {}

bool LeaseHolder::Held(int64_t now_ms) const {
  return renewed_ms_ >= 0 && now_ms - renewed_ms_ < timing_.renew_deadline_ms;
}

bool LeaseHolder::Try(int64_t now_ms, bool defer, std::string* error) {
  if (last_try_ms_ >= 0 && now_ms - last_try_ms_ < timing_.retry_ms) return Held(now_ms);
  last_try_ms_ = now_ms;
  auto fail = [&](const std::string& e) {
    if (error) *error = e;
    return Held(now_ms);
  };
  auto got = store_->Get(name_);
  if (!got.ok()) return fail(got.error());
  k8s::LeaseObject want;
  want.name = name_;
  want.holder_identity = identity_;
  want.lease_duration_seconds = timing_.duration_ms / 1000;
  want.renew_time = MicroTime(now_ms);
  if (!got->has_value()) {
    if (defer) return Held(now_ms);
    want.acquire_time = want.renew_time;
    auto c = store_->Create(want);
    if (!c.ok()) return fail(c.error());
    if (c->has_value()) {
      seen_ = **c;
      seen_changed_ms_ = renewed_ms_ = now_ms;
    }
    return Held(now_ms);
  }
  const k8s::LeaseObject& cur = **got;
  if (!seen_ || !SameRecord(*seen_, cur)) {
    seen_ = cur;
    seen_changed_ms_ = now_ms;
  }
  const bool mine = cur.holder_identity == identity_;
  if (mine && defer) {
    // Another kg can decide: let it, at once (see FailoverController::Tick).
    k8s::LeaseObject l = cur;
    l.holder_identity.clear();
    l.renew_time = want.renew_time;
    auto u = store_->Update(l);
    renewed_ms_ = -1;
    if (!u.ok()) return fail(u.error());
    if (u->has_value()) {
      seen_ = **u;
      seen_changed_ms_ = now_ms;
    }
    return false;
  }
  const int64_t duration_ms =
      cur.lease_duration_seconds > 0 ? cur.lease_duration_seconds * 1000 : timing_.duration_ms;
  const bool free = cur.holder_identity.empty() || now_ms - seen_changed_ms_ >= duration_ms;
  if (!mine && (!free || defer)) {
    renewed_ms_ = -1;
    return false;
  }
  want.resource_version = cur.resource_version;
  want.acquire_time = mine ? cur.acquire_time : want.renew_time;
  want.lease_transitions = cur.lease_transitions + (mine ? 0 : 1);
  auto u = store_->Update(want);
  if (!u.ok()) return fail(u.error());
  if (u->has_value()) {
    seen_ = **u;
    seen_changed_ms_ = renewed_ms_ = now_ms;
  } else {
    renewed_ms_ = -1;  // someone else wrote it first
  }
  return Held(now_ms);
}

void LeaseHolder::Release(int64_t now_ms) {
  if (!Held(now_ms) || !seen_) return;
  k8s::LeaseObject l = *seen_;
  l.holder_identity.clear();
  l.renew_time = MicroTime(now_ms);
  (void)store_->Update(l);
  renewed_ms_ = -1;
}

FailoverMetrics::FailoverMetrics(prometheus::Registry& registry)
    : changes_(&prometheus::BuildCounter()
                    .Name("kilo_leader_changes_total")
                    .Help("Leadership moves kg decided, by location and reason (forwarding, "
                          "vanished, handover).")
                    .Register(registry)),
      healthy_(&prometheus::BuildGauge()
                    .Name("kilo_path_healthy")
                    .Help("1 while this node's probes through the mesh reach the location's "
                          "leader, else 0.")
                    .Register(registry)),
      pinned_broken_(
          &prometheus::BuildGauge()
               .Name("kilo_pinned_leader_broken")
               .Help("1 while the leader of this node's location fails but is pinned by a person "
                     "(kilo.squat.ai/leader without kg's marker), so kg leaves it.")
               .Register(registry)) {}

void FailoverMetrics::PinnedLeaderBroken(const std::string& location, bool broken) {
  pinned_broken_->Add({{"location", location}}).Set(broken ? 1 : 0);
}

void FailoverMetrics::LeaderChanged(const std::string& location, const std::string& reason) {
  changes_->Add({{"location", location}, {"reason", reason}}).Increment();
}

void FailoverMetrics::PathHealthy(const std::string& location, bool healthy) {
  healthy_->Add({{"location", location}}).Set(healthy ? 1 : 0);
}

double FailoverMetrics::LeaderChanges(const std::string& location, const std::string& reason) {
  return changes_->Add({{"location", location}, {"reason", reason}}).Value();
}

struct FailoverController::LocationView {
  std::string segment;                    // this node's segment key
  bool in_location = false;               // a "location:" segment (else no failover)
  std::string leader;                     // elected leader of this node's segment
  std::map<std::string, IPAddr> targets;  // remote segment key -> probe address
  std::vector<fo::MemberView> members;    // every node of this segment
  std::map<std::string, bool> has_wireguard_ip;
};

FailoverController::FailoverController(FailoverOptions opts, FailoverDeps deps)
    : opts_(std::move(opts)), deps_(std::move(deps)) {}

std::optional<FailoverController::LocationView> FailoverController::View(int64_t now_s) {
  // Read in place, once a second: only the Nodes that can be in the mesh (a
  // Node without kg's or Kilo's annotations can neither lead nor report), and
  // of those only what the decision reads.
  struct Entry {  // kg's failover annotations of nodes[i]
    std::optional<std::string> leader_by;
    std::optional<std::string> path_health;
  };
  TranslateOptions to;
  to.topology_label = opts_.topology_label;
  std::vector<Node> nodes;
  std::vector<Entry> entries;
  auto value = [](const NodeObject& o, const char* key) -> std::optional<std::string> {
    auto it = o.annotations.find(key);
    if (it == o.annotations.end()) return std::nullopt;
    return it->second;
  };
  deps_.backend->Visit(
      [&](const NodeObject& o) {
        if (o.name != opts_.hostname && !CanJoinTheMesh(o)) return;
        nodes.push_back(TranslateNode(o, to, nullptr));
        entries.push_back({value(o, fo::kAnnLeaderBy), value(o, fo::kAnnPathHealth)});
      },
      [](const PeerObject&) {});
  const Node* self = nullptr;
  for (const Node& n : nodes)
    if (n.name == opts_.hostname) self = &n;
  if (!self) return std::nullopt;
  LocationView v;
  v.segment = SegmentKeyOf(*self, opts_.granularity);
  v.in_location = v.segment.rfind("location:", 0) == 0;
  auto leaders = ElectLeaders(nodes, now_s, opts_.granularity);
  if (auto it = leaders.find(v.segment); it != leaders.end()) v.leader = it->second;
  for (const auto& [seg, leader] : leaders) {
    if (seg == v.segment) continue;
    for (const Node& n : nodes) {
      if (n.name != leader || !n.subnet) continue;
      // The pod network's gateway (kube-bridge): forwarded, not just routed
      // to the node.
      v.targets[seg] = n.subnet->Network().addr().Next();
    }
  }
  for (size_t i = 0; i < nodes.size(); ++i) {
    const Node& n = nodes[i];
    if (SegmentKeyOf(n, opts_.granularity) != v.segment) continue;
    fo::MemberView m;
    m.name = n.name;
    m.ready = n.Ready(now_s);
    m.public_endpoint = EndpointIsKiloPublic(n.endpoint);
    m.leader_annotation = n.leader;
    if (entries[i].leader_by) {
      m.marked = true;
      m.marked_at = fo::MarkerTime(*entries[i].leader_by);
    }
    if (entries[i].path_health) {
      std::string why;
      m.health = fo::ParseHealth(*entries[i].path_health, &why);
      if (!m.health)
        Debug("ignoring a bad health summary",
              {{"node", n.name}, {"value", *entries[i].path_health}, {"reason", why}});
    }
    v.members.push_back(std::move(m));
    v.has_wireguard_ip[n.name] = n.wireguard_ip.has_value();
  }
  return v;
}

void FailoverController::Publish(const LocationView& v, int64_t now_ms, TickReport* r) {
  fo::HealthReport h;
  h.time = now_ms / 1000;
  for (const auto& [seg, healthy] : r->paths) (healthy ? h.ok : h.lost).insert(seg);
  const bool leader = v.leader == opts_.hostname;
  const bool changed = !published_ || published_->ok != h.ok || published_->lost != h.lost;
  const int64_t age = published_ms_ < 0 ? INT64_MAX : now_ms - published_ms_;
  const int64_t refresh = leader ? fo::kLeaderReportPeriod * 1000 : kMemberRefreshMs;
  if (!(changed && age >= kMinPublishIntervalMs) && age < refresh) return;
  auto res = deps_.backend->PatchNodeAnnotations(opts_.hostname,
                                                 {{fo::kAnnPathHealth, fo::FormatHealth(h)}});
  if (!res.ok()) {
    r->errors.push_back("publish health: " + res.error());
    return;
  }
  if (changed) {
    Info("path health changed", {{"ok", std::to_string(h.ok.size())},
                                 {"lost", std::to_string(h.lost.size())},
                                 {"summary", fo::FormatHealth(h)}});
  }
  published_ = h;
  published_ms_ = now_ms;
  r->published = true;
}

TickReport FailoverController::Tick() {
  TickReport r;
  const int64_t now_ms = deps_.now_ms();
  const int64_t now_s = now_ms / 1000;
  auto v = View(now_s);
  if (!v || !v->in_location || opts_.granularity != Granularity::kLocation) return r;
  r.location = v->segment;
  // Probe every other segment's leader.
  std::vector<IPAddr> addrs;
  for (const auto& [seg, a] : v->targets) addrs.push_back(a);
  auto answers = deps_.prober->Probe(addrs);
  if (paths_leader_ != v->leader) {
    paths_.clear();
    paths_leader_ = v->leader;
  }
  for (auto it = paths_.begin(); it != paths_.end();) {
    auto t = v->targets.find(it->first);
    it = (t != v->targets.end() && t->second == it->second.target) ? std::next(it)
                                                                   : paths_.erase(it);
  }
  for (const auto& [seg, a] : v->targets) {
    auto& path = paths_[seg];
    path.target = a;
    auto& det = path.detector;
    bool ok = answers.count(a) && answers[a];
    if (det.Record(ok)) {
      if (det.Lost()) {
        Warn("path lost", {{"location", seg},
                           {"target", a.String()},
                           {"leader", v->leader},
                           {"failures", std::to_string(det.consecutive_failures())}});
      } else {
        Info("path restored", {{"location", seg}, {"target", a.String()}});
      }
    }
    r.paths[seg] = !det.Lost();
    if (deps_.metrics) deps_.metrics->PathHealthy(seg, !det.Lost());
  }
  if (!deps_.backend->Connected()) return r;  // nothing can be written anyway
  Publish(*v, now_ms, &r);
  // The Lease of this location: the elected leader defers to any other kg
  // of the location (one that publishes reports), so that the decider
  // survives the leader's death and need not wait for its Lease to expire.
  if (!lease_ || lease_location_ != v->segment) {
    lease_location_ = v->segment;
    lease_ = std::make_unique<LeaseHolder>(deps_.leases, LeaseNameFor(v->segment.substr(9)),
                                           opts_.hostname);
    history_ = {};
  }
  bool others = false;
  for (const auto& m : v->members) {
    others |= m.name != opts_.hostname && m.ready && m.health &&
              now_s - m.health->time <= fo::kMemberReportMaxAge;
  }
  std::string err;
  r.lease_held = lease_->Try(now_ms, v->leader == opts_.hostname && others, &err);
  if (!err.empty()) r.errors.push_back("lease " + lease_->name() + ": " + err);
  if (!r.lease_held) return r;
  fo::DecideOptions dopts;
  dopts.override_pins = opts_.override_pins;
  fo::Decision d = fo::Decide(v->members, opts_.hostname, now_s, history_, dopts);
  Apply(d, v->segment, now_s, &r);
  r.decision = std::move(d);
  return r;
}

void FailoverController::Apply(const fo::Decision& d, const std::string& location, int64_t now_s,
                               TickReport* r) {
  if (deps_.metrics)
    deps_.metrics->PinnedLeaderBroken(location, d.verdict == fo::Verdict::kPinnedBroken);
  switch (d.verdict) {
    case fo::Verdict::kHealthy:
    case fo::Verdict::kRemoteProblem:
    case fo::Verdict::kUnconfirmed:
      return;
    case fo::Verdict::kRateLimited:
    case fo::Verdict::kNoCandidate:
    case fo::Verdict::kPinnedBroken:
      if (auto it = last_report_s_.find(d.verdict);
          it != last_report_s_.end() && now_s - it->second < 60)
        return;
      last_report_s_[d.verdict] = now_s;
      Warn("leader failing, not moved", {{"location", location},
                                         {"leader", d.leader},
                                         {"why", fo::VerdictName(d.verdict)},
                                         {"reason", d.reason},
                                         {"detail", d.detail}});
      if (d.verdict == fo::Verdict::kPinnedBroken) {
        (void)deps_.backend->RecordNodeEvent(
            d.leader, "PinnedLeaderBroken",
            d.detail +
                "; kilo.squat.ai/leader was set by a person: kg leaves it (start kg with "
                "--leader-failover-override-pins to let it move)");
      }
      return;
    case fo::Verdict::kMove:
      break;
  }
  // The new leader's annotation first, then the removals: findLeader never
  // sees a location without the intended annotation.
  std::vector<std::string> order;
  for (const auto& [node, _] : d.changes)
    if (node == d.to)
      order.insert(order.begin(), node);
    else
      order.push_back(node);
  for (const auto& node : order) {
    auto res = deps_.backend->PatchNodeAnnotations(node, d.changes.at(node));
    if (!res.ok()) {
      r->errors.push_back("move leadership: " + res.error());
      return;  // retried next tick (Decide sees what was written)
    }
  }
  history_.last_move = now_s;
  history_.failed_leaders.insert(d.leader);
  if (deps_.metrics) deps_.metrics->LeaderChanged(location, d.reason);
  Warn("leadership moved", {{"location", location},
                            {"from", d.leader},
                            {"to", d.to},
                            {"reason", d.reason},
                            {"detail", d.detail}});
  const std::string msg = "leadership of " + location + " moved from " + d.leader + " to " + d.to +
                          " (" + d.reason + "): " + d.detail;
  (void)deps_.backend->RecordNodeEvent(d.leader, "LeaderMovedAway", msg);
  (void)deps_.backend->RecordNodeEvent(d.to, "LeaderMovedHere", msg);
}

std::optional<std::string> FailoverController::HandOver() {
  const int64_t now_ms = deps_.now_ms();
  auto v = View(now_ms / 1000);
  if (!v || !v->in_location || opts_.granularity != Granularity::kLocation) return std::nullopt;
  fo::DecideOptions dopts;
  dopts.override_pins = opts_.override_pins;
  fo::Decision d = fo::HandOver(v->members, opts_.hostname, now_ms / 1000, dopts);
  if (d.verdict != fo::Verdict::kMove) {
    if (d.verdict != fo::Verdict::kHealthy)
      Info("no leadership hand-over",
           {{"location", v->segment}, {"why", fo::VerdictName(d.verdict)}});
    return std::nullopt;
  }
  TickReport r;
  history_ = {};
  Apply(d, v->segment, now_ms / 1000, &r);
  if (!r.errors.empty()) {
    Warn("leadership hand-over failed", {{"error", r.errors.front()}});
    return std::nullopt;
  }
  return d.to;
}

bool FailoverController::LeadsNow(const std::string& node) {
  auto v = View(deps_.now_ms() / 1000);
  if (!v) return false;
  auto it = v->has_wireguard_ip.find(node);
  return v->leader == node && it != v->has_wireguard_ip.end() && it->second;
}

void FailoverController::CleanUp() {
  if (lease_) lease_->Release(deps_.now_ms());
  (void)deps_.backend->RemoveNodeAnnotations(opts_.hostname, {fo::kAnnPathHealth});
}

}  // namespace kilo::agent
