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

// kOwnAnnotationPrefix (core/model.h) is this project's own annotation prefix
// (SPEC section 11); Go agents never read these keys.
// Written beside kilo.squat.ai/leader by the kg that decided the move: the
// value is "<deciding node> <reason> <unix seconds>". Its presence marks the
// leader annotation as kg's.
inline constexpr const char* kAnnLeaderBy = "kg.kilo.squat.ai/leader-by";
// A kg's health summary of its paths to the other locations (FormatHealth).
inline constexpr const char* kAnnPathHealth = "kg.kilo.squat.ai/path-health";

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
// while the leader does not; the one case a single streak can decide is a
// location with exactly one member: 8e-4 per remote location per hour.
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

// The state of one path (to one remote location), fed one probe result per
// second. A path that never answered is not lost, only unproven: while a
// mesh comes up (or a location is configured wrongly) its probes fail, and
// that must not read as a leader that stopped forwarding.
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

// Returns the time of a kAnnLeaderBy value, nullopt when it has none.
std::optional<int64_t> MarkerTime(std::string_view value);

// Decides for one location. `nodes`: every node of the location (any
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
