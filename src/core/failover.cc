#include "core/failover.h"

#include <algorithm>
#include <cstdio>

#include "core/leader.h"
#include "core/model.h"

namespace kilo::failover {
namespace {

std::string Escape(const std::string& s) {
  if (s.empty()) return "%";
  std::string out;
  for (unsigned char c : s) {
    if (c <= ' ' || c >= 0x7f || c == '%' || c == ',' || c == '=') {
      char buf[4];
      std::snprintf(buf, sizeof buf, "%%%02X", c);
      out += buf;
    } else {
      out.push_back(static_cast<char>(c));
    }
  }
  return out;
}

int Hex(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  return -1;
}

std::optional<std::string> Unescape(std::string_view s) {
  if (s == "%") return std::string();
  std::string out;
  for (size_t i = 0; i < s.size(); ++i) {
    if (s[i] != '%') {
      out.push_back(s[i]);
      continue;
    }
    if (i + 2 >= s.size()) return std::nullopt;
    int hi = Hex(s[i + 1]), lo = Hex(s[i + 2]);
    if (hi < 0 || lo < 0) return std::nullopt;
    out.push_back(static_cast<char>(hi * 16 + lo));
    i += 2;
  }
  return out;
}

std::string JoinEscaped(const std::set<std::string>& v) {
  std::string out;
  for (const auto& s : v) {
    if (!out.empty()) out += ',';
    out += Escape(s);
  }
  return out;
}

bool SplitEscaped(std::string_view s, std::set<std::string>* out) {
  if (s.empty()) return true;
  size_t start = 0;
  while (true) {
    size_t comma = s.find(',', start);
    auto part = Unescape(
        s.substr(start, comma == std::string_view::npos ? std::string_view::npos : comma - start));
    if (!part) return false;
    out->insert(*part);
    if (comma == std::string_view::npos) return true;
    start = comma + 1;
  }
}

bool Reaches(const HealthReport& r) { return r.lost.empty(); }

}  // namespace

bool PathDetector::Record(bool ok) {
  const bool was = lost_;
  if (ok) {
    proven_ = true;
    failures_ = 0;
    if (lost_ && ++successes_ >= kRecoveredAfter) lost_ = false;
  } else {
    successes_ = 0;
    ++failures_;
    if (failures_ >= (proven_ ? kLostAfter : kUnprovenLostAfter)) lost_ = true;
  }
  if (!lost_) successes_ = 0;
  return was != lost_;
}

std::string FormatHealth(const HealthReport& r) {
  return "t=" + std::to_string(r.time) + " ok=" + JoinEscaped(r.ok) +
         " lost=" + JoinEscaped(r.lost);
}

std::optional<HealthReport> ParseHealth(std::string_view s, std::string* why) {
  auto fail = [&](const std::string& w) -> std::optional<HealthReport> {
    if (why) *why = w + " (want \"t=<unix seconds> ok=<locations> lost=<locations>\")";
    return std::nullopt;
  };
  HealthReport r;
  bool have_t = false, have_ok = false, have_lost = false;
  size_t start = 0;
  while (start <= s.size()) {
    size_t sp = s.find(' ', start);
    std::string_view field =
        s.substr(start, sp == std::string_view::npos ? std::string_view::npos : sp - start);
    size_t eq = field.find('=');
    if (eq == std::string_view::npos)
      return fail("field \"" + std::string(field) + "\" has no '='");
    std::string_view key = field.substr(0, eq), value = field.substr(eq + 1);
    if (key == "t" && !have_t) {
      if (value.empty() || value.size() > 18 ||
          !std::all_of(value.begin(), value.end(), [](char c) { return c >= '0' && c <= '9'; }))
        return fail("t is not unix seconds");
      r.time = std::stoll(std::string(value));
      have_t = true;
    } else if (key == "ok" && !have_ok) {
      if (!SplitEscaped(value, &r.ok)) return fail("bad escape in ok");
      have_ok = true;
    } else if (key == "lost" && !have_lost) {
      if (!SplitEscaped(value, &r.lost)) return fail("bad escape in lost");
      have_lost = true;
    } else {
      return fail("unexpected or repeated field \"" + std::string(key) + "\"");
    }
    if (sp == std::string_view::npos) break;
    start = sp + 1;
  }
  if (!have_t || !have_ok || !have_lost) return fail("missing field");
  return r;
}

std::optional<int64_t> MarkerTime(std::string_view value) {
  size_t sp = value.rfind(' ');
  std::string_view t = sp == std::string_view::npos ? std::string_view() : value.substr(sp + 1);
  if (t.empty() || t.size() > 18 ||
      !std::all_of(t.begin(), t.end(), [](char c) { return c >= '0' && c <= '9'; }))
    return std::nullopt;
  return std::stoll(std::string(t));
}

const char* VerdictName(Verdict v) {
  switch (v) {
    case Verdict::kHealthy:
      return "healthy";
    case Verdict::kRemoteProblem:
      return "remote-problem";
    case Verdict::kUnconfirmed:
      return "unconfirmed";
    case Verdict::kMove:
      return "move";
    case Verdict::kPinnedBroken:
      return "pinned-broken";
    case Verdict::kRateLimited:
      return "rate-limited";
    case Verdict::kNoCandidate:
      return "no-candidate";
  }
  return "?";
}

namespace {

// The leader findLeader elects among the ready nodes with these views.
const MemberView* Elect(const std::vector<const MemberView*>& ready) {
  std::vector<LeaderCandidate> c;
  c.reserve(ready.size());
  for (const MemberView* m : ready)
    c.push_back({m->name, m->leader_annotation, m->public_endpoint});
  int i = FindKiloLeader(c);
  return i < 0 ? nullptr : ready[i];
}

// Fills d->to and d->changes for a move away from `leader`, or sets the
// verdict that says why there is none.
void PlanMove(const std::vector<const MemberView*>& ready, const MemberView& leader,
              const std::string& self, int64_t now, const std::set<std::string>& avoid,
              const DecideOptions& opts, Decision* d) {
  const bool pinned = leader.leader_annotation && !leader.marked;
  if (pinned && !opts.override_pins) {
    d->verdict = Verdict::kPinnedBroken;
    return;
  }
  // Candidates, best first: reaches every other location (fresh report,
  // nothing lost), public endpoint (other locations must reach it), not a
  // leader kg moved away from before, then name.
  std::vector<const MemberView*> cands;
  // Other locations reach a leader at its endpoint: a location led from a
  // public endpoint is never handed to a node without one (behind NAT,
  // nobody could reach it before it sends a packet).
  for (const MemberView* m : ready)
    if (m->name != leader.name && (m->public_endpoint || !leader.public_endpoint))
      cands.push_back(m);
  auto rank = [&](const MemberView* m) {
    int r = 0;
    if (!(m->health && Reaches(*m->health))) r += 4;
    if (!m->public_endpoint) r += 2;
    if (avoid.count(m->name)) r += 1;
    return r;
  };
  std::stable_sort(cands.begin(), cands.end(), [&](const MemberView* a, const MemberView* b) {
    int ra = rank(a), rb = rank(b);
    return ra != rb ? ra < rb : a->name < b->name;
  });
  const std::string marker = self + " " + d->reason + " " + std::to_string(now);
  for (const MemberView* to : cands) {
    // The annotations after the move: kg's own markings elsewhere removed
    // (pins too when overriding), `to` annotated and marked.
    std::vector<MemberView> after;
    after.reserve(ready.size());
    std::map<std::string, std::map<std::string, std::optional<std::string>>> changes;
    for (const MemberView* m : ready) {
      MemberView v = *m;
      if (m->name == to->name) {
        // A person's pin on the new leader stays theirs: not marked.
        if (!(m->leader_annotation && !m->marked)) {
          v.leader_annotation = v.marked = true;
          changes[m->name][kAnnLeader] = "";
          changes[m->name][kAnnLeaderBy] = marker;
        }
      } else if (m->leader_annotation && (m->marked || opts.override_pins)) {
        v.leader_annotation = v.marked = false;
        changes[m->name][kAnnLeader] = std::nullopt;
        if (m->marked) changes[m->name][kAnnLeaderBy] = std::nullopt;
      }
      after.push_back(v);
    }
    std::vector<const MemberView*> after_ptrs;
    for (const auto& v : after) after_ptrs.push_back(&v);
    const MemberView* elected = Elect(after_ptrs);
    if (elected && elected->name == to->name) {
      d->verdict = Verdict::kMove;
      d->to = to->name;
      d->changes = std::move(changes);
      return;
    }
  }
  // Only a pin (not overridden) that outranks every candidate can get here.
  d->verdict = cands.empty() ? Verdict::kNoCandidate : Verdict::kPinnedBroken;
}

std::vector<const MemberView*> ReadySorted(const std::vector<MemberView>& nodes) {
  std::vector<const MemberView*> ready;
  for (const auto& m : nodes)
    if (m.ready) ready.push_back(&m);
  std::stable_sort(ready.begin(), ready.end(),
                   [](const MemberView* a, const MemberView* b) { return a->name < b->name; });
  return ready;
}

}  // namespace

Assessment Assess(const std::vector<MemberView>& nodes, int64_t now) {
  Assessment a;
  std::vector<const MemberView*> ready = ReadySorted(nodes);
  const MemberView* leader = Elect(ready);
  if (!leader) return a;
  a.leader = leader->name;
  // Members with a current report (Go agents and kg without probes have
  // none: they neither count nor vote).
  std::map<std::string, int> lost_by;  // remote location -> members that lost it
  int reporting = 0;
  const HealthReport* lone = nullptr;  // the report when exactly one member reports
  for (const MemberView* m : ready) {
    if (m == leader || !m->health || now - m->health->time > kMemberReportMaxAge) continue;
    ++reporting;
    lone = &*m->health;
    for (const auto& loc : m->health->lost) ++lost_by[loc];
  }
  // The location most members lost (more than half of those reporting).
  std::optional<std::string> lost;
  int lost_count = 0;
  for (const auto& [loc, n] : lost_by) {
    if (2 * n > reporting && n > lost_count) {
      lost = loc;
      lost_count = n;
    }
  }
  if (!lost) return a;
  const std::string& lost_loc = *lost;
  const bool leader_fresh = leader->health && now - leader->health->time <= kLeaderReportMaxAge;
  const std::string where = "location " + (lost_loc.empty() ? std::string("\"\"") : lost_loc);
  if (leader_fresh && leader->health->lost.count(lost_loc)) {
    a.remote_problem = true;
    a.detail = "the leader " + leader->name + " and " + std::to_string(lost_count) + " of " +
               std::to_string(reporting) + " members lost " + where;
    return a;
  }
  // A leader that has never published a report (Kilo's Go agent, or a kg
  // without --leader-failover) can be judged neither way: whether it still
  // reaches the location is unknown, and its silence is its normal state, not
  // a sign that it vanished (kg's leaders refresh theirs every 5 s). Seen in
  // tests/interop: a Go leader that resets a NATed remote leader's endpoint
  // (README) cuts its members off for up to a keepalive, which read as
  // "vanished" and moved the other location's Go leader away. Kilo's own
  // heartbeat (kilo.squat.ai/last-seen) still replaces it if it dies.
  if (!leader->health) {
    a.unconfirmed = true;
    a.detail = std::to_string(lost_count) + " of " + std::to_string(reporting) + " members lost " +
               where + " through the leader " + leader->name +
               ", which publishes no health report (not kg with --leader-failover): not judged";
    return a;
  }
  // A lone member (a location of two nodes) has no second witness: its own
  // fault (its link to the leader, its kg) looks like the leader's. Its view
  // moves the leader only when the leader also looks gone (vanished), or
  // when it lost every location the leader reaches, #489's signature (a
  // leader that forwards nothing); one location lost alone is left.
  if (reporting == 1 && leader_fresh) {
    bool all = !leader->health->ok.empty();
    for (const auto& loc : leader->health->ok) all &= lone->lost.count(loc) > 0;
    if (!all) {
      a.unconfirmed = true;
      a.detail = "the only reporting member lost " + where + " through the leader " + leader->name +
                 ", but not every location the leader reaches: not enough";
      return a;
    }
  }
  a.failing = true;
  a.reason = leader_fresh ? "forwarding" : "vanished";
  a.detail = std::to_string(lost_count) + " of " + std::to_string(reporting) + " members lost " +
             where + " through the leader " + leader->name +
             (leader_fresh ? ", which reaches it itself: it does not forward"
                           : ", which has published no health report for " +
                                 std::to_string(now - leader->health->time) + " s");
  return a;
}

Decision Decide(const std::vector<MemberView>& nodes, const std::string& self, int64_t now,
                const LocationHistory& history, const DecideOptions& opts) {
  Decision d;
  Assessment a = Assess(nodes, now);
  d.leader = a.leader;
  d.detail = a.detail;
  if (a.remote_problem) d.verdict = Verdict::kRemoteProblem;
  if (a.unconfirmed) d.verdict = Verdict::kUnconfirmed;
  if (!a.failing) return d;
  std::vector<const MemberView*> ready = ReadySorted(nodes);
  const MemberView* leader = nullptr;
  for (const MemberView* m : ready)
    if (m->name == a.leader) leader = m;
  d.reason = a.reason;
  if (leader->leader_annotation && !leader->marked && !opts.override_pins) {
    d.verdict = Verdict::kPinnedBroken;  // reported whatever the rate limit
    return d;
  }
  std::optional<int64_t> last_move = history.last_move;
  for (const auto& m : nodes)
    if (m.marked_at && (!last_move || *m.marked_at > *last_move)) last_move = m.marked_at;
  if (last_move && now - *last_move < opts.min_move_interval) {
    d.verdict = Verdict::kRateLimited;
    return d;
  }
  PlanMove(ready, *leader, self, now, history.failed_leaders, opts, &d);
  if (d.verdict == Verdict::kMove) d.detail += "; moving leadership to " + d.to;
  return d;
}

Decision HandOver(const std::vector<MemberView>& nodes, const std::string& self, int64_t now,
                  const DecideOptions& opts) {
  Decision d;
  std::vector<const MemberView*> ready = ReadySorted(nodes);
  const MemberView* leader = Elect(ready);
  if (!leader) return d;
  d.leader = leader->name;
  if (leader->name != self) return d;
  d.reason = "handover";
  d.detail = "the leader " + self + " is stopping";
  PlanMove(ready, *leader, self, now, {}, opts, &d);
  if (d.verdict == Verdict::kMove) d.detail += "; handing leadership to " + d.to;
  return d;
}

}  // namespace kilo::failover
