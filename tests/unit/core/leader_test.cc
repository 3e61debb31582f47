// Property test: kg elects the leaders Kilo's findLeader elects (SPEC 4.2),
// on random clusters. Each random node is generated from its *meaning*
// (ready or not and why, location, private IP or not, leader annotation,
// endpoint kind), rendered as the annotations a cluster would carry, and
// translated by kg; the expected leaders are computed from the meaning alone
// by a model of Kilo's rules written here (not from kg's parsed fields), and
// compared with both kg election paths: ElectLeaders (leader.h, what the
// failover planner uses) and Mesh::Build (topology.h, what every host
// configures).
//
// It found one divergence: kg counted 172.32.0.0-172.255.255.255 as private
// (a misreading of Go's `ip4[1]&0xf0 == 0x10`, where & binds tighter than
// ==); Go kgctl elects a 172.32.0.1 endpoint over a later 8.8.8.8 one.

#include "core/leader.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <map>
#include <random>
#include <set>
#include <string>
#include <vector>

#include "core/objects.h"
#include "core/topology.h"
#include "core/translate.h"
#include "test_util.h"

namespace kilo {
namespace {

using testutil::K;
using testutil::kNow;

enum class EpKind { kPublic4, kPrivate4, kPublic6, kPrivate6, kDns, kInvalid, kNone };

struct Truth {
  std::string name;
  std::string location;  // effective
  bool has_private_ip = false;
  bool leader = false;
  EpKind ep = EpKind::kNone;
  bool ready = false;
};

// A model of Kilo's election from the meaning of each node.
std::map<std::string, std::string> ModelLeaders(std::vector<Truth> nodes, bool full) {
  std::sort(nodes.begin(), nodes.end(),
            [](const Truth& a, const Truth& b) { return a.name < b.name; });
  std::map<std::string, std::vector<const Truth*>> segs;
  for (const Truth& t : nodes) {
    if (!t.ready) continue;
    std::string key = (!full && t.has_private_ip) ? "location:" + t.location : "node:" + t.name;
    segs[key].push_back(&t);
  }
  auto pub = [](const Truth* t) { return t->ep == EpKind::kPublic4 || t->ep == EpKind::kPublic6; };
  std::map<std::string, std::string> out;
  for (const auto& [key, ms] : segs) {
    const Truth* pick = nullptr;
    for (const Truth* t : ms)
      if (!pick && t->leader && pub(t)) pick = t;
    for (const Truth* t : ms)
      if (!pick && t->leader) pick = t;
    for (const Truth* t : ms)
      if (!pick && pub(t)) pick = t;
    if (!pick) pick = ms.front();
    out[key] = pick->name;
  }
  return out;
}

struct RandomCluster {
  std::vector<NodeObject> objects;
  std::vector<Truth> truth;
};

RandomCluster MakeCluster(std::mt19937* rng) {
  auto pick = [&](int n) { return static_cast<int>((*rng)() % static_cast<unsigned>(n)); };
  RandomCluster c;
  const char* kLetters = "abz0-.";
  const std::vector<std::string> kLocations = {"", "eu", "us", "us-east", "ap"};
  int count = 1 + pick(12);
  std::set<std::string> names;
  while (static_cast<int>(names.size()) < count) {
    // Short names from a small alphabet: shared prefixes, '-' and '.' that
    // sort before letters, digits before letters.
    std::string s(1, "abn"[pick(3)]);
    for (int i = pick(4); i > 0; --i) s += kLetters[pick(6)];
    if (s.back() == '-' || s.back() == '.') s += 'x';
    names.insert(s);
  }
  std::vector<std::string> order(names.begin(), names.end());
  std::shuffle(order.begin(), order.end(), *rng);  // the API's order is not kg's concern
  int i = 0;
  for (const std::string& name : order) {
    ++i;
    NodeObject o;
    Truth t;
    o.name = t.name = name;
    auto& ann = o.annotations;
    // Location: annotation, else the topology label, else "".
    std::string loc = kLocations[pick(kLocations.size())];
    switch (pick(3)) {
      case 0:
        ann[kAnnLocation] = loc;
        break;
      case 1:
        o.labels[kDefaultTopologyLabel] = loc;
        break;
      default:
        loc = "";
        if (pick(2)) o.labels["other/label"] = "eu";
    }
    t.location = loc;
    // Private IP: internal-ip, overridden by force-internal-ip ("-" = none).
    switch (pick(4)) {
      case 0:
        break;
      case 1:
        ann[kAnnInternalIP] = "10.0." + std::to_string(i) + ".1/24";
        t.has_private_ip = true;
        break;
      case 2:
        ann[kAnnInternalIP] = "10.0." + std::to_string(i) + ".1/24";
        ann[kAnnForceInternalIP] = "-";
        break;
      default:
        ann[kAnnForceInternalIP] = "192.168." + std::to_string(i) + ".9/24";
        t.has_private_ip = true;
    }
    // The leader annotation: presence counts, whatever its value.
    if (pick(2) == 0) {
      ann[kAnnLeader] = pick(2) ? "" : "true";
      t.leader = true;
    }
    // Endpoint, possibly overridden by force-endpoint; a bad force-endpoint
    // falls back to endpoint.
    auto render = [&](EpKind k) -> std::string {
      std::string n = std::to_string(i);
      switch (k) {
        case EpKind::kPublic4:
          return std::vector<std::string>{"1.2.3." + n, "172.32.0." + n, "11.0.0." + n,
                                          "192.169.1." + n}[pick(4)] +
                 ":51820";
        case EpKind::kPrivate4:
          return std::vector<std::string>{"10.9.9." + n, "172.16.0." + n, "172.31.5." + n,
                                          "192.168.7." + n}[pick(4)] +
                 ":51820";
        case EpKind::kPublic6:
          return std::vector<std::string>{"[2001:db8::" + n + "]", "[fd12::" + n + "]",
                                          "[fe00::" + n + "]"}[pick(3)] +
                 ":51820";
        case EpKind::kPrivate6:
          return "[fd00::" + n + "]:51820";
        case EpKind::kDns:
          return "node" + n + ".example.com:51820";
        case EpKind::kInvalid:
          return std::vector<std::string>{"1.2.3.4", "nonsense", "1.2.3.4:0", ":51820"}[pick(4)];
        case EpKind::kNone:
          return "";
      }
      return "";
    };
    EpKind declared = static_cast<EpKind>(pick(7));
    t.ep = declared == EpKind::kInvalid ? EpKind::kNone : declared;
    if (declared != EpKind::kNone) ann[kAnnEndpoint] = render(declared);
    if (pick(3) == 0) {
      EpKind forced = static_cast<EpKind>(pick(6));  // not kNone
      ann[kAnnForceEndpoint] = render(forced);
      if (forced != EpKind::kInvalid) t.ep = forced;
    }
    // Key, pod CIDR, heartbeat age: each may make the node not ready.
    bool key_ok = pick(8) != 0;
    ann[kAnnKey] = key_ok ? K(static_cast<uint8_t>(i)).String() : "not-a-key";
    bool cidr_ok = pick(8) != 0;
    if (cidr_ok) o.pod_cidr = "10.244." + std::to_string(i) + ".0/24";
    bool fresh = false;
    switch (pick(5)) {
      case 0:
        ann[kAnnLastSeen] = "yesterday";
        break;
      case 1: {
        // Around the 60 s boundary: 59 is fresh, 60 is stale.
        int age = 58 + pick(4);
        ann[kAnnLastSeen] = std::to_string(kNow - age);
        fresh = age < 60;
        break;
      }
      case 2:
        break;  // no heartbeat
      default: {
        int age = pick(120) - 5;  // a clock a little ahead counts as fresh
        ann[kAnnLastSeen] = std::to_string(kNow - age);
        fresh = age < 60;
      }
    }
    t.ready = key_ok && cidr_ok && fresh && t.ep != EpKind::kNone;
    c.objects.push_back(std::move(o));
    c.truth.push_back(t);
  }
  return c;
}

std::string Show(const std::map<std::string, std::string>& m) {
  std::string s;
  for (const auto& [k, v] : m) s += "  " + k + " -> " + v + "\n";
  return s;
}

std::string ShowCluster(const RandomCluster& c) {
  std::string s;
  for (const NodeObject& o : c.objects) {
    s += "  node " + o.name + " podCIDR=" + o.pod_cidr;
    for (const auto& [k, v] : o.labels) s += " label:" + k + "=" + v;
    for (const auto& [k, v] : o.annotations)
      if (k != kAnnKey) s += " " + k.substr(k.find('/') + 1) + "=" + v;
    s += "\n";
  }
  return s;
}

void CheckRandomClusters(Granularity g, uint32_t seed, int rounds) {
  std::mt19937 rng(seed);
  int with_leaders = 0, annotated_but_not_elected = 0;
  for (int round = 0; round < rounds; ++round) {
    RandomCluster c = MakeCluster(&rng);
    std::vector<Node> nodes;
    for (const NodeObject& o : c.objects) nodes.push_back(TranslateNode(o, {}, nullptr));
    auto want = ModelLeaders(c.truth, g == Granularity::kFull);
    auto got = ElectLeaders(nodes, kNow, g);
    ASSERT_EQ(Show(want), Show(got)) << "ElectLeaders, seed " << seed << " round " << round << "\n"
                                     << ShowCluster(c);
    std::vector<Node> ready;
    for (const Node& n : nodes)
      if (n.Ready(kNow)) ready.push_back(n);
    MeshOptions opts;
    opts.granularity = g;
    auto mesh = Mesh::Build(ready, {}, opts, nullptr);
    ASSERT_TRUE(mesh.ok()) << mesh.status().message();
    std::map<std::string, std::string> built;
    for (const Segment& s : mesh->segments()) built[s.location] = s.leader_name();
    ASSERT_EQ(Show(want), Show(built)) << "Mesh::Build, seed " << seed << " round " << round << "\n"
                                       << ShowCluster(c);
    with_leaders += !want.empty();
    for (const Truth& t : c.truth) {
      if (!t.ready || !t.leader) continue;
      bool elected = false;
      for (const auto& [k, v] : want) elected |= v == t.name;
      annotated_but_not_elected += !elected;
    }
  }
  // The generator must reach the interesting cases, or the property says
  // little: clusters with leaders, and annotated ready nodes that lose to an
  // earlier annotated public one.
  EXPECT_GT(with_leaders, rounds / 2);
  if (g == Granularity::kLocation) {
    EXPECT_GT(annotated_but_not_elected, rounds / 100);
  }
}

TEST(LeaderElection, EqualsKilosFindLeaderOnRandomClustersInLocationGranularity) {
  CheckRandomClusters(Granularity::kLocation, 20261204, 3000);
}

TEST(LeaderElection, EqualsKilosFindLeaderOnRandomClustersInFullGranularity) {
  CheckRandomClusters(Granularity::kFull, 7, 1000);
}

struct FindCase {
  const char* name;
  std::vector<LeaderCandidate> nodes;
  int want;
};

TEST(LeaderElection, FindKiloLeaderFollowsKilosOrderOfPreference) {
  std::vector<FindCase> cases = {
      {"empty", {}, -1},
      {"no marks: the first", {{"a", false, false}, {"b", false, false}}, 0},
      {"first public", {{"a", false, false}, {"b", false, true}, {"c", false, true}}, 1},
      {"annotated beats public", {{"a", false, true}, {"b", true, false}}, 1},
      {"annotated public beats earlier annotated",
       {{"a", true, false}, {"b", false, true}, {"c", true, true}},
       2},
      {"first of two annotated public", {{"a", true, true}, {"b", true, true}}, 0},
      {"first annotated when none public",
       {{"a", false, false}, {"b", true, false}, {"c", true, false}},
       1},
  };
  for (const auto& c : cases) EXPECT_EQ(FindKiloLeader(c.nodes), c.want) << c.name;
}

}  // namespace
}  // namespace kilo
