#pragma once
// Leader failover (SPEC 11.1), the pure part: the path detector each kg runs
// on its probes, the health summary it publishes on its Node, and the
// decision the kg holding its location's Lease takes from those summaries.
// No clock, no I/O: `now` (unix seconds) and every observation come in as
// arguments; the agent (src/agent/failover_*.cc) probes, publishes, holds
// the Lease and writes what Decide() returns.
//
// Compatibility: Go agents elect with findLeader from kilo.squat.ai/leader
// and heartbeats only. kg moves leadership only by writing
// kilo.squat.ai/leader on the node that should lead, together with its
// marker kAnnLeaderBy, and by removing both from the nodes it marked before.
// A kilo.squat.ai/leader without the marker was set by a person: a pin,
// never removed unless DecideOptions::override_pins.

#include <cstdint>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "core/model.h"

namespace kilo::failover {

// The annotations (core/model.h; kOwnAnnotationPrefix, which Go agents
// never read): kAnnLeaderBy, "<deciding node> <reason> <unix seconds>",
// written beside kilo.squat.ai/leader by the kg that decided the move, and
// kAnnPathHealth, a kg's summary of its paths (FormatHealth).
using kilo::kAnnLeaderBy;
using kilo::kAnnPathHealth;

// Probe cadence and thresholds.
//
// A path (this node -> its leader -> the other location's leader -> a pod
// address behind it, and back) is lost after kLostAfter probes in a row
// failed, at one probe per second. Why 6: with 2 % random loss on every
// link a probe crosses at most 4 lossy links (2 each way), so it is lost
// with p <= 1 - 0.98^4 = 7.8 %. Six in a row: p^6 = 2.2e-7 per probe,
// 3,600 probes an hour: 8e-4 per path per hour for one member. A move
// needs more than half of the location's reporting members to lose the
// same location at once (two members: both, about (2.2e-7)^2 per second)
// while the leader does not; the one case a single member's streaks can
// decide is a location with exactly one member, which must lose every
// location the leader reaches at once (Assess): with two other locations
// (2.2e-7)^2 per second.
// And a real fault (every probe lost) is detected 6 s after it starts, so
// the move lands within the 10 s budget (report ~1 s, decision and
// annotations ~1 s, reconciles ~1 s).
inline constexpr int kLostAfter = 6;
// A lost path is healthy again after this many successes in a row.
inline constexpr int kRecoveredAfter = 2;
// A member's report counts while its node is ready and the report is at
// most this old (members publish on change and with every 30 s heartbeat).
inline constexpr int64_t kMemberReportMaxAge = 45;
// The leader refreshes its report every kLeaderReportPeriod seconds; older
// than kLeaderReportMaxAge, the leader counts as vanished.
inline constexpr int64_t kLeaderReportPeriod = 5;
inline constexpr int64_t kLeaderReportMaxAge = 12;
// At most one move per location per this many seconds.
inline constexpr int64_t kMinMoveInterval = 60;

// A path that never answered since its detector started (this kg's start,
// or its location's leader changed) is lost only after this many probes in
// a row failed: a leader whose forwarding is broken from the moment it
// became leader must be noticed too, while a mesh coming up (a kg starts,
// its routes and its leader's handshakes follow within a few seconds) must
// not read as a leader that stopped forwarding. 30 s is well above a
// start-up (e2e: paths answer 2-8 s after kg starts) and random loss cannot
// produce it (no success in 30 probes at 7.8 %: 9e-34). A path lost this way
// moves a leader only as any lost path does (Assess): the leader must reach
// the location itself, and most members, or a lone member every location,
// must have lost it.
inline constexpr int kUnprovenLostAfter = 30;

// The state of one path (to one remote location), fed one probe result per
// second: lost after kLostAfter failures in a row once it has answered,
// after kUnprovenLostAfter while it never has.
class PathDetector {
 public:
  // Records one probe. Returns true when Lost() changed.
  bool Record(bool ok);
  bool Lost() const { return lost_; }
  bool Proven() const { return proven_; }
  int consecutive_failures() const { return failures_; }

 private:
  bool proven_ = false;
  bool lost_ = false;
  int failures_ = 0;
  int successes_ = 0;
};

// A node's published summary: which other locations it reaches (ok) and
// which it lost, as of `time`.
struct HealthReport {
  int64_t time = 0;
  std::set<std::string> ok;
  std::set<std::string> lost;

  bool operator==(const HealthReport& o) const = default;
};

// "t=<unix> ok=<loc>,<loc> lost=<loc>": locations percent-escaped ('%',
// space, ',', '=' and bytes outside printable ASCII as %XX), lists sorted;
// the location "" is written as a lone "%". Compact (one line, about 20
// bytes per location) so that it fits an annotation and `kubectl get -o
// yaml` shows it readably.
std::string FormatHealth(const HealthReport& r);
// Parses FormatHealth's output; nullopt with `why` when malformed.
std::optional<HealthReport> ParseHealth(std::string_view s, std::string* why);

// One node of the location being decided, as the deciding kg sees it.
struct MemberView {
  std::string name;
  bool ready = false;              // Node::Ready(now)
  bool public_endpoint = false;    // EndpointIsKiloPublic
  bool leader_annotation = false;  // kilo.squat.ai/leader present
  bool marked = false;             // kAnnLeaderBy present (kg's annotation)
  // The time in kAnnLeaderBy ("<node> <reason> <unix seconds>"): when kg
  // moved leadership here. Any decider's move counts for the rate limit.
  std::optional<int64_t> marked_at;
  std::optional<HealthReport> health;  // parsed kAnnPathHealth, if any
};

struct LocationHistory {
  std::optional<int64_t> last_move;      // unix seconds
  std::set<std::string> failed_leaders;  // moved away from, never moved back to by kg
};

struct DecideOptions {
  bool override_pins = false;  // --leader-failover-override-pins
  int64_t min_move_interval = kMinMoveInterval;
};

enum class Verdict {
  kHealthy,        // nothing to do
  kRemoteProblem,  // members lose a location and so does the leader: not ours
  kUnconfirmed,    // a lone member lost some, not every location: not enough
  kMove,           // changes below make `to` the leader
  kPinnedBroken,   // the failing leader is a person's pin: report, leave it
  kRateLimited,    // failing, but the last move was under a minute ago
  kNoCandidate,    // failing, and no other ready node can lead
};
const char* VerdictName(Verdict v);

struct Decision {
  Verdict verdict = Verdict::kHealthy;
  std::string leader;  // the leader Kilo elects now
  std::string to;      // kMove: the new leader
  // "forwarding" (the leader reports the paths its members lost as fine) or
  // "vanished" (it reports nothing recent), or "handover" (HandOver).
  std::string reason;
  std::string detail;  // one line for the log and the Events
  // kMove: node -> annotation key -> value (nullopt: remove). Only
  // kilo.squat.ai/leader and kAnnLeaderBy, only kg-marked ones removed
  // (pins too with override_pins).
  std::map<std::string, std::map<std::string, std::optional<std::string>>> changes;
};

// Whether a location's leader fails, from the health reports alone (no pins,
// no rate limit: Decide adds those; `kgctl graph` shows this).
//
// The rule: a member's report counts while fresh (kMemberReportMaxAge) and
// its node ready; the leader fails when more than half of the reporting
// members lost the same location and the leader either reports that it
// reaches the location itself ("forwarding") or has published nothing for
// kLeaderReportMaxAge ("vanished"). If the leader lost it too, the problem is
// the remote location's (remote_problem). A leader that never published a
// report (a Go agent) is not judged (unconfirmed): its silence is normal, and
// whether it reaches the location is unknown. With exactly one reporting member
// (a location of two nodes) there is no second witness, and that member's own
// fault (its LAN link to the leader, its kg) looks like the leader's: its
// view alone counts for "vanished", and for "forwarding" only when it lost
// every location the leader reaches (a leader that forwards nothing, #489);
// otherwise `unconfirmed`.
struct Assessment {
  std::string leader;  // the leader Kilo elects now ("" when none is ready)
  bool failing = false;
  bool remote_problem = false;
  bool unconfirmed = false;
  std::string reason;  // failing: "forwarding" or "vanished"
  std::string detail;  // one line for the log, the Events and the graph
};
Assessment Assess(const std::vector<MemberView>& nodes, int64_t now);

// Returns the time of a kAnnLeaderBy value, nullopt when it has none.
std::optional<int64_t> MarkerTime(std::string_view value);

// Decides for one location: Assess, then the pin rule, the rate limit and
// the choice of the new leader. `nodes`: every node of the location (any
// order; the not-ready ones are ignored, as findLeader ignores them).
// `self`: the deciding node's name (written into the marker).
Decision Decide(const std::vector<MemberView>& nodes, const std::string& self, int64_t now,
                const LocationHistory& history, const DecideOptions& opts);

// A leader being stopped (SIGTERM) hands its location over: the move that
// makes another ready node lead, with reason "handover" (no rate limit, the
// pin rule still holds). kNoCandidate when it leads alone, kHealthy when
// `self` does not lead.
Decision HandOver(const std::vector<MemberView>& nodes, const std::string& self, int64_t now,
                  const DecideOptions& opts);

}  // namespace kilo::failover
