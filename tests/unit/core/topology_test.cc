// The topology of SPEC section 4: segments, leaders, allowed IPs, WireGuard
// IPs, allowed-location-IP filtering, peer deduplication, NAT endpoints and
// the WireGuard configs built from it.

#include "core/topology.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "test_util.h"

namespace kilo {
namespace {

using testutil::E;
using testutil::Join;
using testutil::K;
using testutil::MakePeer;
using testutil::N;
using testutil::P;

Mesh MustBuild(std::vector<Node> nodes, std::vector<Peer> peers = {},
               Granularity g = Granularity::kLocation, const char* subnet = "10.4.0.0/16",
               std::vector<Warning>* warnings = nullptr) {
  MeshOptions mo;
  mo.granularity = g;
  mo.subnet = P(subnet);
  auto m = Mesh::Build(std::move(nodes), std::move(peers), mo, warnings);
  EXPECT_TRUE(m.ok()) << m.error();
  return std::move(m.value());
}

std::string SegmentKeys(const Mesh& m) {
  std::string out;
  for (const auto& s : m.segments()) {
    out += (out.empty() ? "" : " ") + s.location + "[";
    for (size_t i = 0; i < s.hostnames.size(); ++i) out += (i ? "," : "") + s.hostnames[i];
    out += "]";
  }
  return out;
}

TEST(TopologyTest, Segments) {
  const struct {
    const char* name;
    Granularity g;
    std::vector<Node> nodes;
    const char* want;
  } cases[] = {
      {"grouped by location, sorted by key then name",
       Granularity::kLocation,
       {N("n3", "b", "1.1.1.3:51820", "10.0.0.3/24", "10.244.3.0/24", 3),
        N("n2", "a", "1.1.1.2:51820", "10.0.0.2/24", "10.244.2.0/24", 2),
        N("n1", "a", "1.1.1.1:51820", "10.0.0.1/24", "10.244.1.0/24", 1)},
       "location:a[n1,n2] location:b[n3]"},
      {"node without internal IP forms its own segment",
       Granularity::kLocation,
       {N("n1", "a", "1.1.1.1:51820", "10.0.0.1/24", "10.244.1.0/24", 1),
        N("n0", "a", "1.1.1.9:51820", "", "10.244.9.0/24", 9)},
       "location:a[n1] node:n0[n0]"},
      {"keys sorted bytewise (upper case and empty first)",
       Granularity::kLocation,
       {N("n1", "a", "1.1.1.1:51820", "10.0.0.1/24", "10.244.1.0/24", 1),
        N("n2", "B", "1.1.1.2:51820", "10.0.0.2/24", "10.244.2.0/24", 2),
        N("n3", "", "1.1.1.3:51820", "10.0.0.3/24", "10.244.3.0/24", 3),
        N("n4", "a-b", "1.1.1.4:51820", "10.0.0.4/24", "10.244.4.0/24", 4)},
       "location:[n3] location:B[n2] location:a[n1] location:a-b[n4]"},
      {"full granularity: one segment per node",
       Granularity::kFull,
       {N("b", "x", "1.1.1.1:51820", "10.0.0.1/24", "10.244.1.0/24", 1),
        N("a", "x", "1.1.1.2:51820", "10.0.0.2/24", "10.244.2.0/24", 2),
        N("A", "y", "1.1.1.3:51820", "", "10.244.3.0/24", 3)},
       "node:A[A] node:a[a] node:b[b]"},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(c.name);
    Mesh m = MustBuild(c.nodes, {}, c.g);
    EXPECT_EQ(SegmentKeys(m), c.want);
  }
}

TEST(TopologyTest, AllowedIPsOrderAndIPv6) {
  Mesh m = MustBuild({N("n2", "a", "1.1.1.2:51820", "fd00::2/64", "fd00:244:2::/64", 2),
                      N("n1", "a", "[2001:db8::1]:51820", "10.0.0.1/24", "10.244.1.0/24", 1)},
                     {}, Granularity::kLocation, "fd10:4::/64");
  ASSERT_EQ(m.segments().size(), 1u);
  const Segment& s = m.segments()[0];
  EXPECT_EQ(Join(s.allowed_ips),
            "10.244.1.0/24,10.0.0.1/32,fd00:244:2::/64,fd00::2/128,fd10:4::1/128");
  EXPECT_EQ(s.wireguard_ip.String(), "fd10:4::1");
  EXPECT_EQ(s.hostnames[s.leader], "n1");  // both public: first by name
  EXPECT_EQ(s.endpoint->String(), "[2001:db8::1]:51820");
  EXPECT_EQ(s.key, K(1));
}

struct LeaderCase {
  const char* name;
  std::vector<Node> nodes;
  const char* want;
};

Node L(const char* name, const char* endpoint, bool leader, uint8_t seed) {
  return N(name, "loc", endpoint, std::string("10.0.0.") + std::to_string(seed) + "/24",
           std::string("10.244.") + std::to_string(seed) + ".0/24", seed, leader);
}

TEST(TopologyTest, LeaderElection) {
  const LeaderCase cases[] = {
      {"rule 1: annotated with public IP beats earlier annotated private",
       {L("n1", "10.1.0.1:51820", true, 1), L("n2", "1.1.1.2:51820", true, 2),
        L("n0", "1.1.1.3:51820", false, 3)},
       "n2"},
      {"rule 2: first annotated when no annotated node is public",
       {L("n1", "1.1.1.1:51820", false, 1), L("n3", "10.1.0.3:51820", true, 3),
        L("n2", "192.168.0.2:51820", true, 2)},
       "n2"},
      {"rule 3: first public when none annotated",
       {L("n1", "10.1.0.1:51820", false, 1), L("n3", "1.1.1.3:51820", false, 3),
        L("n2", "1.1.1.2:51820", false, 2)},
       "n2"},
      {"rule 4: first node when none public",
       {L("n2", "10.1.0.2:51820", false, 2), L("n1", "192.168.1.1:51820", false, 1),
        L("n3", "172.16.0.3:51820", false, 3)},
       "n1"},
      {"tie between annotated public nodes: first by name",
       {L("nb", "1.1.1.2:51820", true, 2), L("na", "1.1.1.1:51820", true, 1)},
       "na"},
      {"tie between public nodes: first by name (input order irrelevant)",
       {L("z", "1.1.1.2:51820", false, 2), L("y", "1.1.1.1:51820", false, 1)},
       "y"},
      {"dns endpoint is never public",
       {L("n1", "kilo.example.com:51820", false, 1), L("n2", "1.1.1.2:51820", false, 2)},
       "n2"},
      {"annotated dns loses to annotated public",
       {L("n1", "kilo.example.com:51820", true, 1), L("n2", "1.1.1.2:51820", true, 2)},
       "n2"},
      {"annotated dns beats unannotated public (rule 2)",
       {L("n2", "kilo.example.com:51820", true, 2), L("n1", "1.1.1.1:51820", false, 1)},
       "n2"},
      {"172.20 is private for Kilo, 172.5 public",
       {L("n1", "172.20.0.1:51820", false, 1), L("n2", "172.5.0.2:51820", false, 2)},
       "n2"},
      // Go kgctl (Kilo 0.7) elects n1 here: 172.32/11 is public.
      {"172.32 is public for Kilo",
       {L("n1", "172.32.0.1:51820", false, 1), L("n2", "8.8.8.8:51820", false, 2)},
       "n1"},
      {"fd00::/16 private, fd12::1 public",
       {L("n1", "[fd00::1]:51820", false, 1), L("n2", "[fd12::1]:51820", false, 2)},
       "n2"},
      {"single node", {L("only", "10.1.0.1:51820", false, 1)}, "only"},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(c.name);
    Mesh m = MustBuild(c.nodes);
    ASSERT_EQ(m.segments().size(), 1u);
    const Segment& s = m.segments()[0];
    EXPECT_EQ(s.hostnames[s.leader], c.want);
    // The segment's endpoint and key are the leader's.
    const Node* leader = m.FindNode(c.want);
    ASSERT_NE(leader, nullptr);
    EXPECT_EQ(s.key, leader->key);
    EXPECT_EQ(s.endpoint, leader->endpoint);
    // Exactly the leader sees itself as leader.
    for (const auto& h : s.hostnames) {
      auto t = Topology::ForHost(m, h);
      ASSERT_TRUE(t.has_value());
      EXPECT_EQ(t->leader(), h == c.want) << h;
    }
  }
}

std::vector<Node> Segments(int n) {
  std::vector<Node> out;
  for (int i = 0; i < n; ++i) {
    out.push_back(N("n" + std::to_string(i), "loc" + std::to_string(i),
                    "1.1.1." + std::to_string(i + 1) + ":51820",
                    "10.0." + std::to_string(i) + ".1/24", "10.244." + std::to_string(i) + ".0/24",
                    static_cast<uint8_t>(i + 1)));
  }
  return out;
}

TEST(TopologyTest, WireGuardIPAllocation) {
  const struct {
    const char* name;
    const char* subnet;
    int segments;
    const char* want;  // space-separated IPs, or nullptr = ran out
  } cases[] = {
      {"default subnet", "10.4.0.0/16", 3, "10.4.0.1 10.4.0.2 10.4.0.3"},
      {"subnet with host bits starts after the network", "10.4.0.77/16", 2, "10.4.0.1 10.4.0.2"},
      {"ipv6 subnet", "fd10:4::/64", 2, "fd10:4::1 fd10:4::2"},
      {"/30 fits 3 (up to and including the last address)", "10.4.0.0/30", 3,
       "10.4.0.1 10.4.0.2 10.4.0.3"},
      {"/30 with 4 segments runs out (difference 3)", "10.4.0.0/30", 4, nullptr},
      {"/31 fits 1", "10.4.0.0/31", 1, "10.4.0.1"},
      {"/31 with 2 runs out", "10.4.0.0/31", 2, nullptr},
      {"/32 fits none", "10.4.0.0/32", 1, nullptr},
      {"/24 fits 255", "10.4.0.0/24", 255, nullptr /* checked below */},
      {"ipv6 /126 fits 3", "fd10:4::/126", 3, "fd10:4::1 fd10:4::2 fd10:4::3"},
      {"ipv6 /126 with 4 runs out", "fd10:4::/126", 4, nullptr},
      {"ipv6 /128 fits none", "fd10:4::/128", 1, nullptr},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(c.name);
    MeshOptions mo;
    mo.subnet = P(c.subnet);
    auto m = Mesh::Build(Segments(c.segments), {}, mo, nullptr);
    if (std::string(c.name) == "/24 fits 255") {
      ASSERT_TRUE(m.ok()) << m.error();
      EXPECT_EQ(m->segments().back().wireguard_ip.String(), "10.4.0.255");
      auto over = Mesh::Build(Segments(256), {}, mo, nullptr);
      EXPECT_FALSE(over.ok());
      continue;
    }
    if (!c.want) {
      ASSERT_FALSE(m.ok());
      EXPECT_EQ(m.error(), "failed to allocate an IP address; ran out of IP addresses");
      continue;
    }
    ASSERT_TRUE(m.ok()) << m.error();
    std::string got;
    for (const auto& s : m->segments()) got += (got.empty() ? "" : " ") + s.wireguard_ip.String();
    EXPECT_EQ(got, c.want);
    // The WireGuard IP is the last allowed IP of each segment.
    for (const auto& s : m->segments())
      EXPECT_EQ(s.allowed_ips.back(), IPPrefix::Host(s.wireguard_ip));
  }
}

TEST(TopologyTest, HostView) {
  Mesh m = MustBuild({N("a1", "a", "1.1.1.1:51820", "10.0.1.1/24", "10.244.1.0/24", 1),
                      N("a2", "a", "10.0.1.2:51820", "10.0.1.2/24", "10.244.2.0/24", 2),
                      N("b1", "b", "2.2.2.2:51820", "10.0.2.1/24", "10.244.3.0/24", 3)});
  auto a1 = Topology::ForHost(m, "a1");
  auto a2 = Topology::ForHost(m, "a2");
  auto b1 = Topology::ForHost(m, "b1");
  ASSERT_TRUE(a1 && a2 && b1);
  EXPECT_FALSE(Topology::ForHost(m, "nope").has_value());
  EXPECT_TRUE(a1->leader());
  EXPECT_FALSE(a2->leader());
  EXPECT_TRUE(b1->leader());
  EXPECT_EQ(a1->wireguard_cidr().String(), "10.4.0.1/16");
  EXPECT_EQ(b1->wireguard_cidr().String(), "10.4.0.2/16");
  EXPECT_EQ(a2->wireguard_cidr().String(), "10.4.0.0/16");
  EXPECT_EQ(a2->private_ip()->String(), "10.0.1.2/24");
  EXPECT_EQ(a2->subnet()->String(), "10.244.2.0/24");
  EXPECT_EQ(a1->local_segment().location, "location:a");
}

struct AlipCase {
  const char* name;
  std::vector<Node> nodes;
  std::vector<Peer> peers;
  const char* want;  // per segment: "location:x=cidr,cidr;..."
  std::vector<std::pair<std::string, std::string>> warnings;  // (node, cidr)
};

Node WithAlips(Node n, std::vector<std::string> alips) {
  for (const auto& a : alips) n.allowed_location_ips.push_back(P(a));
  return n;
}

TEST(TopologyTest, AllowedLocationIPs) {
  const AlipCase cases[] = {
      {"kept, deduplicated and sorted as strings",
       {WithAlips(N("a1", "a", "1.1.1.1:51820", "10.0.1.1/24", "10.244.1.0/24", 1),
                  {"192.168.9.0/24", "192.168.10.0/24"}),
        WithAlips(N("a2", "a", "1.1.1.2:51820", "10.0.1.2/24", "10.244.2.0/24", 2),
                  {"192.168.9.0/24"}),
        N("b1", "b", "2.2.2.2:51820", "10.0.2.1/24", "10.244.3.0/24", 3)},
       {},
       "location:a=192.168.10.0/24,192.168.9.0/24;location:b=",
       {}},
      {"shared with another segment: the later segment keeps it",
       {WithAlips(N("a1", "a", "1.1.1.1:51820", "10.0.1.1/24", "10.244.1.0/24", 1),
                  {"192.168.50.0/24"}),
        WithAlips(N("b1", "b", "2.2.2.2:51820", "10.0.2.1/24", "10.244.3.0/24", 3),
                  {"192.168.50.128/25"})},
       {},
       "location:a=;location:b=192.168.50.128/25",
       {{"a1", "192.168.50.0/24"}}},
      {"overlapping another segment's allowed IPs (pod subnet)",
       {WithAlips(N("a1", "a", "1.1.1.1:51820", "10.0.1.1/24", "10.244.1.0/24", 1),
                  {"10.244.3.0/25", "192.168.7.0/24"}),
        N("b1", "b", "2.2.2.2:51820", "10.0.2.1/24", "10.244.3.0/24", 3)},
       {},
       "location:a=192.168.7.0/24;location:b=",
       {{"a1", "10.244.3.0/25"}}},
      // Kilo 0.7 (#404): an entry that contains allowed or private IPs is kept;
      // only an allowed IP containing the entry's address drops it.
      {"containing another segment's private IP: kept",
       {N("a1", "a", "1.1.1.1:51820", "10.0.1.1/24", "10.244.1.0/24", 1),
        WithAlips(N("b1", "b", "2.2.2.2:51820", "10.0.2.1/24", "10.244.3.0/24", 3),
                  {"10.0.1.0/24"})},
       {},
       "location:a=;location:b=10.0.1.0/24",
       {}},
      {"a location announcing its own LAN (node at 10.1.12.200): kept",
       {WithAlips(N("a1", "a", "1.1.1.1:51820", "10.1.12.200/24", "10.244.1.0/24", 1),
                  {"10.1.12.0/24"}),
        N("b1", "b", "2.2.2.2:51820", "10.0.2.1/24", "10.244.3.0/24", 3)},
       {},
       "location:a=10.1.12.0/24;location:b=",
       {}},
      {"wider than another segment's pod CIDR: kept",
       {WithAlips(N("a1", "a", "1.1.1.1:51820", "10.0.1.1/24", "10.244.1.0/24", 1),
                  {"10.240.0.0/12"}),
        N("b1", "b", "2.2.2.2:51820", "10.0.2.1/24", "10.244.3.0/24", 3)},
       {},
       "location:a=10.240.0.0/12;location:b=",
       {}},
      {"its address inside a later segment's pod CIDR: dropped",
       {WithAlips(N("a1", "a", "1.1.1.1:51820", "10.0.1.1/24", "10.244.1.0/24", 1),
                  {"10.244.3.128/25"}),
        N("b1", "b", "2.2.2.2:51820", "10.0.2.1/24", "10.244.3.0/24", 3)},
       {},
       "location:a=;location:b=",
       {{"a1", "10.244.3.128/25"}}},
      {"equal to another node's private IP /32: dropped",
       {N("a1", "a", "1.1.1.1:51820", "10.0.1.1/24", "10.244.1.0/24", 1),
        WithAlips(N("b1", "b", "2.2.2.2:51820", "10.0.2.1/24", "10.244.3.0/24", 3),
                  {"10.0.1.1/32"})},
       {},
       "location:a=;location:b=",
       {{"b1", "10.0.1.1/32"}}},
      {"containing the WireGuard IPs: kept",
       {WithAlips(N("a1", "a", "1.1.1.1:51820", "10.0.1.1/24", "10.244.1.0/24", 1),
                  {"10.4.0.0/24"})},
       {},
       "location:a=10.4.0.0/24",
       {}},
      {"equal to its segment's WireGuard IP: dropped",
       {WithAlips(N("a1", "a", "1.1.1.1:51820", "10.0.1.1/24", "10.244.1.0/24", 1),
                  {"10.4.0.1/32"})},
       {},
       "location:a=",
       {{"a1", "10.4.0.1/32"}}},
      {"overlapping a peer's allowed IP",
       {WithAlips(N("a1", "a", "1.1.1.1:51820", "10.0.1.1/24", "10.244.1.0/24", 1),
                  {"192.168.60.0/24", "192.168.61.0/24"})},
       {MakePeer("p", {"192.168.60.5/32"}, 40)},
       "location:a=192.168.61.0/24",
       {{"a1", "192.168.60.0/24"}}},
      {"declared by two nodes: one warning per declaring node",
       {WithAlips(N("a1", "a", "1.1.1.1:51820", "10.0.1.1/24", "10.244.1.0/24", 1),
                  {"10.244.3.0/24"}),
        WithAlips(N("a2", "a", "1.1.1.2:51820", "10.0.1.2/24", "10.244.2.0/24", 2),
                  {"10.244.3.0/24"}),
        N("b1", "b", "2.2.2.2:51820", "10.0.2.1/24", "10.244.3.0/24", 3)},
       {},
       "location:a=;location:b=",
       {{"a1", "10.244.3.0/24"}, {"a2", "10.244.3.0/24"}}},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(c.name);
    std::vector<Warning> w;
    Mesh m = MustBuild(c.nodes, c.peers, Granularity::kLocation, "10.4.0.0/16", &w);
    std::string got;
    for (const auto& s : m.segments())
      got += (got.empty() ? "" : ";") + s.location + "=" + Join(s.allowed_location_ips);
    EXPECT_EQ(got, c.want);
    ASSERT_EQ(w.size(), c.warnings.size());
    for (size_t i = 0; i < w.size(); ++i) {
      EXPECT_EQ(w[i].kind, "node");
      EXPECT_EQ(w[i].name, c.warnings[i].first);
      EXPECT_EQ(w[i].field, kAnnAllowedLocationIPs);
      EXPECT_EQ(w[i].value, c.warnings[i].second);
      EXPECT_FALSE(w[i].reason.empty());
    }
  }
}

TEST(TopologyTest, PeerAllowedIPDeduplication) {
  std::vector<Warning> w;
  Mesh m = MustBuild(
      {N("a1", "a", "1.1.1.1:51820", "10.0.1.1/24", "10.244.1.0/24", 1)},
      {MakePeer("zeta", {"10.5.0.1/32", "10.5.0.2/32"}, 41),
       MakePeer("alpha", {"10.5.0.2/32", "10.5.0.3/32"}, 42), MakePeer("mid", {"10.5.0.3/32"}, 43)},
      Granularity::kLocation, "10.4.0.0/16", &w);
  ASSERT_EQ(m.peers().size(), 3u);
  EXPECT_EQ(m.peers()[0].name, "alpha");
  EXPECT_EQ(Join(m.peers()[0].allowed_ips), "10.5.0.2/32,10.5.0.3/32");
  EXPECT_EQ(m.peers()[1].name, "mid");
  EXPECT_EQ(Join(m.peers()[1].allowed_ips), "");
  EXPECT_EQ(m.peers()[2].name, "zeta");
  EXPECT_EQ(Join(m.peers()[2].allowed_ips), "10.5.0.1/32");
  ASSERT_EQ(w.size(), 2u);
  EXPECT_EQ(w[0].name, "mid");
  EXPECT_EQ(w[0].value, "10.5.0.3/32");
  EXPECT_EQ(w[1].name, "zeta");
  EXPECT_EQ(w[1].value, "10.5.0.2/32");
}

// Conflicting objects (cloned key, duplicated podCIDR, a Peer claiming pod
// addresses) are warned about and otherwise left as Kilo computes them.
TEST(TopologyTest, ConflictsAreWarnedNotActedOn) {
  std::vector<Warning> w;
  Mesh m = MustBuild({N("c1", "c", "3.3.3.3:51820", "10.0.3.1/24", "10.244.1.0/24", 1),
                      N("a1", "a", "1.1.1.1:51820", "10.0.1.1/24", "10.244.1.0/24", 1),
                      N("b1", "b", "2.2.2.2:51820", "10.0.2.1/24", "10.244.2.0/24", 2)},
                     {MakePeer("p1", {"10.244.2.128/25", "10.5.0.1/32"}, 40),
                      MakePeer("p2", {"10.0.1.0/24"}, 2), MakePeer("p3", {"10.6.0.1/32"}, 43)},
                     Granularity::kLocation, "10.4.0.0/16", &w);
  EXPECT_EQ(SegmentKeys(m), "location:a[a1] location:b[b1] location:c[c1]");
  ASSERT_EQ(m.peers().size(), 3u);
  EXPECT_EQ(Join(m.peers()[0].allowed_ips), "10.244.2.128/25,10.5.0.1/32");
  std::vector<std::string> got;
  for (const auto& x : w) got.push_back(x.String());
  const std::vector<std::string> want = {
      "node \"c1\": annotation kilo.squat.ai/key=\"" + K(1).String() +
          "\": same public key as node a1; WireGuard cannot tell them apart",
      "node \"c1\": field spec.podCIDR=\"10.244.1.0/24\": overlaps the pod CIDR "
      "10.244.1.0/24 of node a1",
      "peer \"p1\": field spec.allowedIPs=\"10.244.2.128/25\": overlaps the pod CIDR "
      "10.244.2.0/24 of node b1",
      "peer \"p2\": field spec.publicKey=\"" + K(2).String() + "\": same public key as node b1",
      "peer \"p2\": field spec.allowedIPs=\"10.0.1.0/24\": overlaps the internal IP 10.0.1.1 of "
      "node a1",
  };
  EXPECT_EQ(got, want);
}

// Nested pod CIDRs that are not next to each other in address order are
// still found (the sweep keeps every open containing prefix); disjoint ones,
// IPv6 ones and host bits do not confuse it.
TEST(TopologyTest, NestedPodCIDRsFoundAcrossTheAddressOrder) {
  std::vector<Warning> w;
  MustBuild({N("e", "e", "5.5.5.5:51820", "10.0.5.1/24", "10.244.0.0/16", 5),
             N("b", "b", "2.2.2.2:51820", "10.0.2.1/24", "10.244.1.0/24", 2),
             N("c", "c", "3.3.3.3:51820", "10.0.3.1/24", "10.245.0.0/24", 3),
             N("d", "d", "4.4.4.4:51820", "10.0.4.1/24", "10.244.200.7/24", 4),
             N("a", "a", "1.1.1.1:51820", "10.0.1.1/24", "fd00:244::/64", 1),
             N("f", "f", "6.6.6.6:51820", "10.0.6.1/24", "fd00:244::/56", 6),
             N("g", "g", "7.7.7.7:51820", "10.0.7.1/24", "10.246.0.0/24", 7)},
            {}, Granularity::kLocation, "10.4.0.0/16", &w);
  std::vector<std::string> got;
  for (const auto& x : w) got.push_back(x.name + " " + x.value + ": " + x.reason);
  const std::vector<std::string> want = {
      "e 10.244.0.0/16: overlaps the pod CIDR 10.244.1.0/24 of node b",
      "f fd00:244::/56: overlaps the pod CIDR fd00:244::/64 of node a",
  };
  EXPECT_EQ(got, want);
}

// NAT: a remote with a non-zero keepalive is reached at its discovered
// endpoint; the host's own discovered-endpoints take precedence.
TEST(TopologyTest, DiscoveredEndpoints) {
  Node a1 = N("a1", "a", "1.1.1.1:51820", "10.0.1.1/24", "10.244.1.0/24", 1);
  Node b1 = N("b1", "b", "10.9.0.2:51820", "10.0.2.1/24", "10.244.2.0/24", 2);
  b1.persistent_keepalive = 25;  // behind NAT
  Node c1 = N("c1", "c", "3.3.3.3:51820", "10.0.3.1/24", "10.244.3.0/24", 3);
  Node d1 = N("d1", "d", "4.4.4.4:51820", "10.0.4.1/24", "10.244.4.0/24", 4);
  Peer p = MakePeer("p", {"10.5.0.1/32"}, 40, "5.5.5.5:51820", 10);
  a1.discovered_endpoints[K(2).String()] = E("9.9.9.9:1000");
  a1.discovered_endpoints[K(3).String()] = E("9.9.9.8:1000");  // c1 has keepalive 0
  a1.discovered_endpoints[K(40).String()] = E("7.7.7.7:7");
  c1.discovered_endpoints[K(2).String()] = E("8.8.8.8:2000");
  Mesh m = MustBuild({a1, b1, c1, d1}, {p});

  auto endpoint_of = [&](const std::string& host, const Key& key) -> std::string {
    auto t = Topology::ForHost(m, host);
    EXPECT_TRUE(t.has_value());
    std::string got = "-";
    t->ForEachConfPeer([&](const Topology::PeerView& v) {
      if (*v.public_key == key) got = v.endpoint ? v.endpoint->String() : "";
    });
    return got;
  };
  const struct {
    const char* name;
    const char* host;
    Key remote;
    const char* want;
  } cases[] = {
      {"host's own discovery", "a1", K(2), "9.9.9.9:1000"},
      {"own discovery beats earlier segment's", "c1", K(2), "8.8.8.8:2000"},
      {"others' discovery, earliest segment first", "d1", K(2), "9.9.9.9:1000"},
      {"keepalive 0 keeps the declared endpoint", "d1", K(3), "3.3.3.3:51820"},
      {"keepalive 0 keeps declared even for the discovering host", "a1", K(3), "3.3.3.3:51820"},
      {"peer with keepalive uses discovery", "d1", K(40), "7.7.7.7:7"},
      {"nothing discovered for the remote", "b1", K(4), "4.4.4.4:51820"},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(c.name);
    EXPECT_EQ(endpoint_of(c.host, c.remote), c.want);
  }
}

TEST(TopologyTest, ConfAsPeerAndPeerConf) {
  Node a1 = N("a1", "a", "1.1.1.1:51820", "10.0.1.1/24", "10.244.1.0/24", 1);
  a1.persistent_keepalive = 15;
  Node a2 = N("a2", "a", "10.0.1.2:51820", "10.0.1.2/24", "10.244.2.0/24", 2);
  Node b1 = WithAlips(N("b1", "b", "b.example.com:51820", "10.0.2.1/24", "10.244.3.0/24", 3),
                      {"192.168.8.0/24"});
  Peer p1 = MakePeer("p1", {"10.5.0.1/32"}, 40, "", 5);
  p1.preshared_key = K(60);
  Peer p2 = MakePeer("p2", {"10.5.0.2/32"}, 41, "[2001:db8::5]:51821", 0);
  Mesh m = MustBuild({a1, a2, b1}, {p2, p1});

  HostOptions ho;
  ho.port = 51999;
  ho.private_key = K(100);
  auto t = Topology::ForHost(m, "a1", ho);
  ASSERT_TRUE(t.has_value());
  EXPECT_EQ(t->persistent_keepalive(), 15);
  const std::string want_conf =
      "[Interface]\n"
      "PrivateKey = " +
      K(100).String() +
      "\n"
      "ListenPort = 51999\n"
      "\n[Peer]\n"
      "AllowedIPs = 10.244.3.0/24, 10.0.2.1/32, 10.4.0.2/32, 192.168.8.0/24\n"
      "Endpoint = b.example.com:51820\n"
      "PersistentKeepalive = 15\n"
      "PublicKey = " +
      K(3).String() +
      "\n"
      "\n[Peer]\n"
      "AllowedIPs = 10.5.0.1/32\n"
      "PersistentKeepalive = 15\n"
      "PresharedKey = " +
      K(60).String() +
      "\n"
      "PublicKey = " +
      K(40).String() +
      "\n"
      "\n[Peer]\n"
      "AllowedIPs = 10.5.0.2/32\n"
      "Endpoint = [2001:db8::5]:51821\n"
      "PersistentKeepalive = 15\n"
      "PublicKey = " +
      K(41).String() + "\n";
  EXPECT_EQ(t->Conf().Render(), want_conf);
  // The streamed rendering (kgctl showconf node) is the same bytes.
  std::string streamed;
  int pieces = 0;
  t->RenderConf([&](std::string_view piece) {
    streamed += piece;
    ++pieces;
  });
  EXPECT_EQ(streamed, want_conf);
  EXPECT_EQ(pieces, 1);

  auto as_peer = t->AsPeer();
  ASSERT_TRUE(as_peer.has_value());
  EXPECT_EQ(as_peer->public_key, K(1));
  EXPECT_EQ(as_peer->endpoint->String(), "1.1.1.1:51820");
  EXPECT_EQ(Join(as_peer->allowed_ips),
            "10.244.1.0/24,10.0.1.1/32,10.244.2.0/24,10.0.1.2/32,10.4.0.1/32");
  EXPECT_EQ(as_peer->persistent_keepalive, 0);
  EXPECT_FALSE(as_peer->preshared_key.has_value());
  // A non-leader's --as-peer view is its segment's.
  auto a2t = Topology::ForHost(m, "a2", ho);
  EXPECT_EQ(a2t->AsPeer()->public_key, K(1));

  const std::string want_peer_conf =
      "[Peer]\n"
      "AllowedIPs = 10.244.1.0/24, 10.0.1.1/32, 10.244.2.0/24, 10.0.1.2/32, 10.4.0.1/32\n"
      "Endpoint = 1.1.1.1:51820\n"
      "PersistentKeepalive = 5\n"
      "PresharedKey = " +
      K(60).String() +
      "\n"
      "PublicKey = " +
      K(1).String() +
      "\n"
      "\n[Peer]\n"
      "AllowedIPs = 10.244.3.0/24, 10.0.2.1/32, 10.4.0.2/32, 192.168.8.0/24\n"
      "Endpoint = b.example.com:51820\n"
      "PersistentKeepalive = 5\n"
      "PresharedKey = " +
      K(60).String() +
      "\n"
      "PublicKey = " +
      K(3).String() +
      "\n"
      "\n[Peer]\n"
      "AllowedIPs = 10.5.0.2/32\n"
      "Endpoint = [2001:db8::5]:51821\n"
      "PersistentKeepalive = 5\n"
      "PublicKey = " +
      K(41).String() + "\n";
  EXPECT_EQ(t->PeerConf("p1").Render(), want_peer_conf);
}

}  // namespace
// The graph's quadratic part (leaders pairwise, leaders to Peers) is written
// from fixed-width slots of 16, 32, 48, 64 bytes or, for longer names, of a
// width known at run time. Names of every length class give the lines a
// plain rendering gives, in order, streamed in bounded pieces.
TEST(TopologyTest, DotEdgesForNamesOfEveryLength) {
  const size_t lengths[] = {1, 9, 10, 17, 26, 33, 40, 49, 58, 65, 120, 253};
  std::vector<Node> nodes;
  std::vector<Peer> peers;
  std::vector<std::string> names, peer_names;
  for (size_t i = 0; i < std::size(lengths); ++i) {
    std::string name = std::string(lengths[i] - 1, static_cast<char>('a' + i)) + "x";
    names.push_back(name);
    nodes.push_back(N(name, "", "1.1.1." + std::to_string(i + 1) + ":51820", "",
                      "10.244." + std::to_string(i) + ".0/24", static_cast<uint8_t>(i + 1)));
    std::string peer = "p" + std::string(lengths[i] - 1, static_cast<char>('a' + i));
    peer_names.push_back(peer);
    peers.push_back(
        MakePeer(peer, {"10.5." + std::to_string(i) + ".1/32"}, static_cast<uint8_t>(100 + i)));
  }
  Mesh m = MustBuild(nodes, peers, Granularity::kFull);
  auto t = Topology::ForHost(m, names[0]);
  ASSERT_TRUE(t.has_value());
  // The leader order is the segment order.
  std::vector<std::string> leaders;
  for (const auto& s : m.segments()) leaders.push_back(s.hostnames[s.leader]);
  ASSERT_EQ(leaders.size(), names.size());
  std::string want;
  for (size_t i = 0; i < leaders.size(); ++i)
    for (size_t j = i + 1; j < leaders.size(); ++j)
      want += "\t\"" + leaders[i] + "\"->\"" + leaders[j] + "\"[ dir=both ];\n";
  for (const auto& l : leaders)
    for (const auto& p : m.peers())
      want += "\t\"" + l + "\"->\"" + p.name + "\"[ dir=both, style=dashed ];\n";
  std::string dot = t->Dot();
  size_t start = dot.find("\t\"" + leaders[0] + "\"->");
  ASSERT_NE(start, std::string::npos) << dot;
  EXPECT_EQ(dot.substr(start, want.size()), want);
  EXPECT_EQ(dot.compare(start + want.size(), 10, "\tsubgraph "), 0);

  // Streamed: the same text, and pieces of bounded size.
  std::string streamed;
  size_t pieces = 0;
  t->Dot([&](std::string_view piece) {
    EXPECT_LE(piece.size(), (64u << 10) + 1024u);
    streamed.append(piece);
    ++pieces;
  });
  EXPECT_EQ(streamed, dot);
  EXPECT_GE(pieces, 2u);
}

}  // namespace kilo

namespace kilo {
namespace {

// Cross granularity (SPEC 11.2):
//
//   location a                         location b
//   a1 (10.0.1.1)   a2 (10.0.1.2)      b1 (10.0.2.1)
//   a3 (no private IP)
//
// Segments and WireGuard IPs as full: a1 .1, a2 .2, a3 .3, b1 .4.
Mesh CrossMesh(std::vector<Warning>* warnings = nullptr) {
  return MustBuild({N("b1", "b", "2.2.2.1:51820", "10.0.2.1/24", "10.10.4.0/24", 4),
                    N("a3", "a", "1.1.1.3:51820", "", "10.10.3.0/24", 3),
                    N("a2", "a", "1.1.1.2:51820", "10.0.1.2/24", "10.10.2.0/24", 2),
                    N("a1", "a", "1.1.1.1:51820", "10.0.1.1/24", "10.10.1.0/24", 1)},
                   {MakePeer("p", {"10.5.0.1/32"}, 40)}, Granularity::kCross, "10.4.0.0/16",
                   warnings);
}

std::string ConfPeerKeys(const Topology& t) {
  std::string out;
  t.ForEachConfPeer([&](const Topology::PeerView& v) {
    std::string ips;
    for (const auto& ip : *v.allowed_ips) ips += (ips.empty() ? "" : ",") + ip.String();
    out += (out.empty() ? "" : " ") + v.public_key->String().substr(0, 4) + "[" + ips + "]";
  });
  return out;
}

TEST(CrossGranularity, SegmentsLeadersAndWireGuardIPsAreThoseOfFull) {
  Mesh cross = CrossMesh();
  Mesh full = MustBuild({N("b1", "b", "2.2.2.1:51820", "10.0.2.1/24", "10.10.4.0/24", 4),
                         N("a3", "a", "1.1.1.3:51820", "", "10.10.3.0/24", 3),
                         N("a2", "a", "1.1.1.2:51820", "10.0.1.2/24", "10.10.2.0/24", 2),
                         N("a1", "a", "1.1.1.1:51820", "10.0.1.1/24", "10.10.1.0/24", 1)},
                        {MakePeer("p", {"10.5.0.1/32"}, 40)}, Granularity::kFull);
  EXPECT_EQ(SegmentKeys(cross), "node:a1[a1] node:a2[a2] node:a3[a3] node:b1[b1]");
  EXPECT_EQ(SegmentKeys(cross), SegmentKeys(full));
  for (size_t i = 0; i < cross.segments().size(); ++i) {
    EXPECT_EQ(cross.segments()[i].wireguard_ip, full.segments()[i].wireguard_ip);
    EXPECT_EQ(Join(cross.segments()[i].allowed_ips), Join(full.segments()[i].allowed_ips));
    EXPECT_EQ(cross.LocationOf(i), i < 3 ? "a" : "b");
  }
  for (const char* host : {"a1", "a2", "a3", "b1"}) {
    auto t = Topology::ForHost(cross, host);
    ASSERT_TRUE(t.has_value());
    EXPECT_TRUE(t->leader()) << host;
  }
}

TEST(CrossGranularity, PeersAreTheNodesOfOtherLocationsAndThoseWithoutAPrivateIP) {
  Mesh m = CrossMesh();
  const std::string a1 = K(1).String().substr(0, 4), a2 = K(2).String().substr(0, 4),
                    a3 = K(3).String().substr(0, 4), b1 = K(4).String().substr(0, 4),
                    p = K(40).String().substr(0, 4);
  const std::string a1_ips = "[10.10.1.0/24,10.0.1.1/32,10.4.0.1/32]";
  const std::string a2_ips = "[10.10.2.0/24,10.0.1.2/32,10.4.0.2/32]";
  const std::string a3_ips = "[10.10.3.0/24,10.4.0.3/32]";
  const std::string b1_ips = "[10.10.4.0/24,10.0.2.1/32,10.4.0.4/32]";
  const std::string peer = p + "[10.5.0.1/32]";
  // a1 and a2 share their LAN: no tunnel between them; a3 has no private IP
  // and is tunneled to everyone, as in full.
  EXPECT_EQ(ConfPeerKeys(*Topology::ForHost(m, "a1")),
            a3 + a3_ips + " " + b1 + b1_ips + " " + peer);
  EXPECT_EQ(ConfPeerKeys(*Topology::ForHost(m, "a2")),
            a3 + a3_ips + " " + b1 + b1_ips + " " + peer);
  EXPECT_EQ(ConfPeerKeys(*Topology::ForHost(m, "a3")),
            a1 + a1_ips + " " + a2 + a2_ips + " " + b1 + b1_ips + " " + peer);
  EXPECT_EQ(ConfPeerKeys(*Topology::ForHost(m, "b1")),
            a1 + a1_ips + " " + a2 + a2_ips + " " + a3 + a3_ips + " " + peer);
  // Symmetric: whoever has the other as a peer is its peer.
  for (size_t i = 0; i < m.segments().size(); ++i)
    for (size_t j = 0; j < m.segments().size(); ++j) EXPECT_EQ(m.Tunneled(i, j), m.Tunneled(j, i));
}

TEST(CrossGranularity, ANodeWithoutAPrivateIPIsWarnedAbout) {
  std::vector<Warning> warnings;
  CrossMesh(&warnings);
  ASSERT_EQ(warnings.size(), 1u);
  EXPECT_EQ(warnings[0].name, "a3");
  EXPECT_NE(warnings[0].reason.find("reach it through WireGuard"), std::string::npos)
      << warnings[0].reason;
  // Not in full: nothing changes there.
  std::vector<Warning> full;
  MustBuild({N("a3", "a", "1.1.1.3:51820", "", "10.10.3.0/24", 3)}, {}, Granularity::kFull,
            "10.4.0.0/16", &full);
  EXPECT_TRUE(full.empty());
}

TEST(CrossGranularity, MismatchedGranularityAnnotationsAreFound) {
  std::vector<Node> nodes = {N("n1", "a", "1.1.1.1:51820", "10.0.1.1/24", "10.10.1.0/24", 1),
                             N("n2", "a", "1.1.1.2:51820", "10.0.1.2/24", "10.10.2.0/24", 2),
                             N("n3", "b", "1.1.1.3:51820", "10.0.1.3/24", "10.10.3.0/24", 3),
                             N("n0", "b", "1.1.1.4:51820", "10.0.1.4/24", "10.10.4.0/24", 4)};
  nodes[0].granularity = Granularity::kCross;
  nodes[1].granularity = Granularity::kFull;
  nodes[3].granularity = Granularity::kLocation;  // n3: no annotation, not counted
  auto found = CrossGranularityMismatches(nodes, Granularity::kCross);
  ASSERT_EQ(found.size(), 2u);
  EXPECT_EQ(found[0].node + "=" + found[0].granularity, "n0=location");
  EXPECT_EQ(found[1].node + "=" + found[1].granularity, "n2=full");
  EXPECT_TRUE(CrossGranularityMismatches(nodes, Granularity::kFull).empty());
  EXPECT_EQ(ParseGranularity("cross"), Granularity::kCross);
  EXPECT_STREQ(GranularityName(Granularity::kCross), "cross");
}

}  // namespace
}  // namespace kilo
