#pragma once
// Leader failover in kg (SPEC 11.1; the pure rules are core/failover.h):
//   - every second, probe an address behind each other location's leader
//     (the first address of its pod CIDR: the kube-bridge gateway, so the
//     probe crosses the real forwarding path; members' probes go through
//     their own leader by the routes kg installs, the leader's directly);
//   - publish this node's health summary (kAnnPathHealth) when it changes
//     (at most once a second), every kLeaderReportPeriod as leader, and
//     every 30 s otherwise;
//   - hold the location's coordination.k8s.io Lease when possible and, while
//     holding it, apply core::failover::Decide() to the location;
//   - on SIGTERM, as leader, hand the location over (HandOver()).
// Every dependency is injected (fakes in tests/fakes/agent).

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "agent/backend.h"
#include "core/failover.h"
#include "core/ip.h"
#include "core/model.h"
#include "core/status.h"
#include "k8s/lease.h"

namespace prometheus {
class Registry;
template <typename T>
class Family;
class Counter;
class Gauge;
}  // namespace prometheus

namespace kilo::agent {

// Leases as the failover uses them. Real: KubeClient (k8s_backend.h); fake:
// tests/fakes/agent/fake_failover.h. Create/Update return nullopt when
// another writer won (409).
class LeaseStore {
 public:
  virtual ~LeaseStore() = default;
  virtual Result<std::optional<k8s::LeaseObject>> Get(const std::string& name) = 0;
  virtual Result<std::optional<k8s::LeaseObject>> Create(const k8s::LeaseObject& l) = 0;
  virtual Result<std::optional<k8s::LeaseObject>> Update(const k8s::LeaseObject& l) = 0;
};

// Probes addresses. Real: UdpProber (probe.h); fake: a table of reachable
// addresses.
class Prober {
 public:
  virtual ~Prober() = default;
  // One probe to each address at once; true for those that answered within
  // the prober's timeout (< 1 s).
  virtual std::map<IPAddr, bool> Probe(const std::vector<IPAddr>& targets) = 0;
};

// The Lease name of a location: "kilo-leader-<location>" when the location
// is a valid DNS-1123 label part, else "kilo-leader-<sanitised>-<hash>".
std::string LeaseNameFor(const std::string& location);

// client-go's leader election, reduced: holds one Lease. Timing as
// Submariner's gateway: 15 s lease, renew deadline 10 s, retry every 2 s.
// Expiry is judged on this host's clock from when the Lease was last seen
// to change (as client-go does), so clock skew between nodes is harmless.
struct LeaseTiming {
  int64_t duration_ms = 15000;
  int64_t renew_deadline_ms = 10000;
  int64_t retry_ms = 2000;
};
class LeaseHolder {
 public:
  // REQUIRES: store outlives the holder.
  LeaseHolder(LeaseStore* store, std::string name, std::string identity, LeaseTiming timing = {});
  // One attempt, at most every retry_ms (sooner calls return Held()).
  // Renews a Lease this host holds; takes a free or expired one unless
  // `defer` (then it only renews). Returns Held(now_ms); API errors are
  // returned in `error` (may be null) and count as not renewed.
  bool Try(int64_t now_ms, bool defer, std::string* error);
  // True while the last successful renewal is under renew_deadline_ms old.
  bool Held(int64_t now_ms) const;
  // Gives the Lease up (holder emptied) so another kg takes it at once.
  void Release(int64_t now_ms);
  const std::string& name() const { return name_; }

 private:
  LeaseStore* store_;
  std::string name_, identity_;
  LeaseTiming timing_;
  int64_t last_try_ms_ = -1;
  int64_t renewed_ms_ = -1;  // last successful create/update by us
  std::optional<k8s::LeaseObject> seen_;
  int64_t seen_changed_ms_ = 0;  // when seen_ last changed (our clock)
};

// kilo_leader_changes_total{location,reason}, kilo_path_healthy{location}
// and kilo_pinned_leader_broken{location}.
class FailoverMetrics {
 public:
  explicit FailoverMetrics(prometheus::Registry& registry);
  void LeaderChanged(const std::string& location, const std::string& reason);
  void PathHealthy(const std::string& location, bool healthy);
  double LeaderChanges(const std::string& location, const std::string& reason);
  void PinnedLeaderBroken(const std::string& location, bool broken);

 private:
  prometheus::Family<prometheus::Counter>* changes_;
  prometheus::Family<prometheus::Gauge>* healthy_;
  prometheus::Family<prometheus::Gauge>* pinned_broken_;
};

struct FailoverOptions {
  std::string hostname;
  std::string topology_label = kDefaultTopologyLabel;
  Granularity granularity = Granularity::kLocation;
  bool override_pins = false;  // --leader-failover-override-pins
};

struct FailoverDeps {
  MeshBackend* backend = nullptr;
  LeaseStore* leases = nullptr;
  Prober* prober = nullptr;
  FailoverMetrics* metrics = nullptr;  // may be null
  std::function<int64_t()> now_ms;     // wall clock, milliseconds
};

// What one Tick did (for tests and logs).
struct TickReport {
  std::string location;               // this node's segment key; "" when not in a location
  std::map<std::string, bool> paths;  // remote segment key -> healthy
  bool published = false;
  bool lease_held = false;
  std::optional<failover::Decision> decision;  // when holding the Lease
  std::vector<std::string> errors;
};

class FailoverController {
 public:
  FailoverController(FailoverOptions opts, FailoverDeps deps);
  // One second's work: probe, publish, hold the Lease, decide and apply.
  // Never throws; API failures are in the report and retried next tick.
  TickReport Tick();
  // On SIGTERM: when this node leads its location, writes the move to the
  // best other node (reason "handover") and returns its name; nullopt when
  // there is nothing to hand over (or it failed: logged).
  std::optional<std::string> HandOver();
  // True once `node` publishes a WireGuard IP (it configured itself as the
  // leader) in the backend's current snapshot.
  bool LeadsNow(const std::string& node);
  // Removes this node's health annotation and gives the Lease up.
  void CleanUp();

 private:
  struct LocationView;
  std::optional<LocationView> View(int64_t now_s);
  void Publish(const LocationView& v, int64_t now_ms, TickReport* r);
  void Apply(const failover::Decision& d, const std::string& location, int64_t now_s,
             TickReport* r);

  FailoverOptions opts_;
  FailoverDeps deps_;
  // Remote segment key -> its probe address and detector. A detector starts
  // over (unproven) when its address changes (the remote leader moved) or
  // the local leader changes: the seconds a move takes to converge are no
  // evidence against the new leader.
  struct Path {
    IPAddr target;
    failover::PathDetector detector;
  };
  std::map<std::string, Path> paths_;
  std::string paths_leader_;  // the local leader the detectors were fed through
  std::optional<failover::HealthReport> published_;
  int64_t published_ms_ = -1;
  std::string lease_location_;
  std::unique_ptr<LeaseHolder> lease_;
  failover::LocationHistory history_;
  std::map<failover::Verdict, int64_t> last_report_s_;  // verdict -> last logged
};

}  // namespace kilo::agent
