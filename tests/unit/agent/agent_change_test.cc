// Work in proportion to the change: a watch event (Trigger::kChange)
// translates only the objects that changed, and a heartbeat of a node that
// stays ready builds no mesh and touches no part of the data plane; the
// readiness deadline, a relevant change and the resync still do their work.

#include <gtest/gtest.h>

#include <algorithm>

#include "agent/agent.h"
#include "agent/k8s_backend.h"
#include "agent_env.h"

namespace kilo::agent {
namespace {

using fixture::kNow;

constexpr uint8_t kSalt = 0x17;

Key KeyOf(const std::string& name) { return fixture::KeyFor(name, kSalt); }

// A Node as fixture::AnnotatedNode, with its heartbeat at `last_seen`.
NodeObject MakeNode(const std::string& name, const std::string& location,
                    const std::string& internal, const std::string& endpoint,
                    const std::string& pod, int64_t last_seen) {
  NodeObject n = fixture::AnnotatedNode(name, location, internal, endpoint, pod, kSalt);
  n.annotations[kAnnLastSeen] = std::to_string(last_seen);
  return n;
}

// n1 (this host, location a) leads; n2 shares its location; n3 is in b.
struct Cluster : fixture::AgentEnv {
  Cluster() {
    backend.SetNode(
        MakeNode("n1", "a", "10.10.0.1/24", "198.51.100.1:51820", "10.42.1.0/24", kNow));
    backend.SetNode(
        MakeNode("n2", "a", "10.10.0.2/24", "10.10.0.2:51820", "10.42.2.0/24", kNow - 5));
    backend.SetNode(
        MakeNode("n3", "b", "10.20.0.1/24", "203.0.113.3:51820", "10.42.3.0/24", kNow - 5));
    wg.AddDevice("kilo0");
    nl.AddLinkNow({0, "kilo0", "wireguard", 1420, false, false});
    nl.AddLinkNow({0, "eth0", "veth", 1500, true, false});
    nl.AddAddressNow("eth0", *IPPrefix::Parse("10.10.0.1/24"));
    opts.hostname = "n1";
    opts.encapsulate = Encapsulation::kNever;
    opts.mtu = 1420;
    deps.private_key = KeyOf("n1");
    deps.internal_ip = *IPPrefix::Parse("10.10.0.1/24");
    deps.internal_iface = "eth0";
    deps.external_ip = *IPAddr::Parse("198.51.100.1");
    Rebuild();
  }
  // The first pass, and the resync after it that sees what it published:
  // from then on, nothing changes.
  void Settle() {
    ASSERT_TRUE(agent->Reconcile().applied);
    ASSERT_TRUE(agent->Reconcile().applied);
  }
  // What the other nodes' agents do every check-in period.
  void Heartbeat(const std::string& name) {
    backend.Find(name)->annotations[kAnnLastSeen] = std::to_string(now);
  }
  // Every write any adapter recorded (the data plane and the API).
  int64_t Writes() {
    return static_cast<int64_t>(wg.writes().size() + nl.writes().size()) + fw.writes() + fs.writes +
           backend.patch_calls();
  }
};

TEST(AgentChange, HeartbeatOfANodeThatStaysReadyBuildsNoMeshAndWritesNothing) {
  Cluster c;
  c.Settle();
  const Agent::Stats before = c.agent->stats();
  const int64_t writes = c.Writes();
  for (int i = 0; i < 10; ++i) {
    c.now += 2;  // within this node's own check-in period
    c.Heartbeat(i % 2 ? "n2" : "n3");
    ReconcileReport r = c.agent->Reconcile(Trigger::kChange);
    EXPECT_TRUE(r.unchanged) << "heartbeat " << i;
    EXPECT_TRUE(r.errors.empty());
  }
  const Agent::Stats after = c.agent->stats();
  EXPECT_EQ(after.topology_builds, before.topology_builds);
  EXPECT_EQ(after.applies, before.applies);
  EXPECT_EQ(c.Writes(), writes);
  // Only the node that heartbeat was translated again, once per heartbeat.
  EXPECT_EQ(after.node_translations - before.node_translations, 10);
}

TEST(AgentChange, AHealthReportOfAReadyNodeBuildsNoMesh) {
  Cluster c;
  c.Settle();
  const Agent::Stats before = c.agent->stats();
  c.backend.Find("n3")->annotations["kg.kilo.squat.ai/path-health"] = "{\"ok\":true}";
  c.backend.Find("n1")->annotations["kg.kilo.squat.ai/path-health"] = "{\"ok\":true}";
  EXPECT_TRUE(c.agent->Reconcile(Trigger::kChange).unchanged);
  EXPECT_EQ(c.agent->stats().topology_builds, before.topology_builds);
}

TEST(AgentChange, UnchangedObjectsAreNotTranslatedAgainOnResync) {
  Cluster c;
  c.Settle();
  const Agent::Stats before = c.agent->stats();
  c.now += 2;
  ReconcileReport r = c.agent->Reconcile(Trigger::kResync);
  EXPECT_TRUE(r.applied);
  EXPECT_FALSE(r.unchanged);
  EXPECT_EQ(c.agent->stats().node_translations, before.node_translations);
  EXPECT_EQ(c.agent->stats().topology_builds, before.topology_builds + 1);
}

TEST(AgentChange, ANodeThatStopsHeartbeatingDropsOutWhenItsDeadlineFires) {
  Cluster c;
  c.agent->Reconcile();
  ASSERT_NE(c.Peers(), "");
  // n2 and n3 last heartbeat at kNow - 5: ready until kNow + 55.
  ASSERT_EQ(c.agent->NextReadinessDeadline(), kNow + 55);
  c.now = kNow + 54;
  EXPECT_TRUE(c.agent->Reconcile(Trigger::kChange).unchanged);
  c.now = kNow + 55;
  ReconcileReport r = c.agent->Reconcile(Trigger::kChange);
  EXPECT_FALSE(r.unchanged);
  EXPECT_TRUE(r.applied);
  EXPECT_EQ(r.nodes, 1);
  EXPECT_EQ(c.Peers(), "");
  // Nobody else is ready: no deadline left.
  EXPECT_EQ(c.agent->NextReadinessDeadline(), std::nullopt);
}

TEST(AgentChange, AHeartbeatMovesTheDeadline) {
  Cluster c;
  c.agent->Reconcile();
  c.now = kNow + 20;
  c.Heartbeat("n2");
  c.Heartbeat("n3");
  EXPECT_TRUE(c.agent->Reconcile(Trigger::kChange).unchanged);
  EXPECT_EQ(c.agent->NextReadinessDeadline(), kNow + 80);
}

TEST(AgentChange, AStaleNodeThatHeartbeatsAgainRejoins) {
  Cluster c;
  c.now = kNow + 100;  // n2 and n3 are stale from the start
  c.Heartbeat("n1");
  ReconcileReport r = c.agent->Reconcile();
  ASSERT_EQ(r.nodes, 1);
  c.Heartbeat("n3");
  r = c.agent->Reconcile(Trigger::kChange);
  EXPECT_FALSE(r.unchanged);
  EXPECT_EQ(r.nodes, 2);
  EXPECT_NE(c.Peers(), "");
}

TEST(AgentChange, ARelevantChangeIsAppliedByAChangePass) {
  Cluster c;
  c.agent->Reconcile();
  const std::string peers = c.Peers();
  c.now += 3;
  c.backend.Find("n3")->annotations[kAnnEndpoint] = "203.0.113.33:51820";
  ReconcileReport r = c.agent->Reconcile(Trigger::kChange);
  EXPECT_FALSE(r.unchanged);
  EXPECT_TRUE(r.applied);
  EXPECT_EQ(r.wg_writes, 1);
  EXPECT_NE(c.Peers().find("@203.0.113.33:51820"), std::string::npos) << c.Peers();
  EXPECT_EQ(c.Peers().find("@203.0.113.3:51820"), std::string::npos) << c.Peers();
}

TEST(AgentChange, ANewPeerIsAppliedByAChangePass) {
  Cluster c;
  c.agent->Reconcile();
  PeerObject p;
  p.name = "laptop";
  p.allowed_ips = {"10.5.0.1/32"};
  p.public_key = KeyOf("laptop").Public().String();
  c.backend.SetPeer(p);
  ReconcileReport r = c.agent->Reconcile(Trigger::kChange);
  EXPECT_FALSE(r.unchanged);
  EXPECT_EQ(r.peers, 1);
  EXPECT_NE(c.Peers().find(KeyOf("laptop").Public().String()), std::string::npos);
}

TEST(AgentChange, AnAnnotationRemovedFromThisNodeIsPublishedAgainAtOnce) {
  Cluster c;
  c.agent->Reconcile();
  ASSERT_TRUE(c.backend.Find("n1")->annotations.count(kAnnKey));
  c.backend.Find("n1")->annotations.erase(kAnnKey);
  ReconcileReport r = c.agent->Reconcile(Trigger::kChange);
  EXPECT_FALSE(r.unchanged);
  EXPECT_EQ(r.annotation_writes, 1);
  EXPECT_EQ(c.backend.Find("n1")->annotations.at(kAnnKey), KeyOf("n1").Public().String());
}

TEST(AgentChange, TheResyncRepairsDriftThatChangePassesLeave) {
  Cluster c;
  c.agent->Reconcile();
  const std::string peers = c.Peers();
  ASSERT_NE(peers, "");
  c.wg.Device("kilo0")->peers.clear();  // someone ran `wg set kilo0 peer ... remove`
  c.now += 3;
  c.Heartbeat("n3");
  EXPECT_TRUE(c.agent->Reconcile(Trigger::kChange).unchanged);
  EXPECT_EQ(c.Peers(), "");
  ReconcileReport r = c.agent->Reconcile(Trigger::kResync);
  EXPECT_TRUE(r.applied);
  EXPECT_EQ(c.Peers(), peers);
}

TEST(AgentChange, APassThatFailedIsNotSkippedAfter) {
  Cluster c;
  c.wg.RemoveDevice("kilo0");  // the device cannot be read or written
  ReconcileReport r = c.agent->Reconcile();
  ASSERT_FALSE(r.errors.empty());
  c.wg.AddDevice("kilo0");
  c.now += 3;
  c.Heartbeat("n3");
  r = c.agent->Reconcile(Trigger::kChange);
  EXPECT_FALSE(r.unchanged);
  EXPECT_TRUE(r.errors.empty()) << r.errors.front();
  EXPECT_NE(c.Peers(), "");
}

TEST(AgentChange, ADeletedNodeLeavesTheCacheAndTheMesh) {
  Cluster c;
  c.agent->Reconcile();
  c.backend.DeleteNode("n3");
  ReconcileReport r = c.agent->Reconcile(Trigger::kChange);
  EXPECT_FALSE(r.unchanged);
  EXPECT_EQ(r.nodes, 2);
  EXPECT_EQ(c.Peers(), "");
  // Back with the same content: translated again, not served from a stale entry.
  const int64_t translations = c.agent->stats().node_translations;
  c.backend.SetNode(
      MakeNode("n3", "b", "10.20.0.1/24", "203.0.113.3:51820", "10.42.3.0/24", c.now));
  r = c.agent->Reconcile(Trigger::kChange);
  EXPECT_EQ(r.nodes, 3);
  EXPECT_EQ(c.agent->stats().node_translations, translations + 1);
}

TEST(AgentChange, TheInformerKeepsOnlyKiloAnnotationsAndTheTopologyLabel) {
  NodeObject n = MakeNode("n1", "a", "10.10.0.1/24", "198.51.100.1:51820", "10.42.1.0/24", kNow);
  n.labels["kubernetes.io/hostname"] = "n1";
  n.labels["node.kubernetes.io/instance-type"] = "m5.large";
  n.annotations["node.alpha.kubernetes.io/ttl"] = "0";
  n.annotations["volumes.kubernetes.io/controller-managed-attach-detach"] = "true";
  n.annotations["kg.kilo.squat.ai/path-health"] = "{}";  // kg's failover reads it
  NodeObject want = MakeNode("n1", "a", "10.10.0.1/24", "198.51.100.1:51820", "10.42.1.0/24", kNow);
  want.annotations["kg.kilo.squat.ai/path-health"] = "{}";
  TrimNode("topology.kubernetes.io/region", &n);
  EXPECT_EQ(n.labels, want.labels);
  EXPECT_EQ(n.annotations, want.annotations);
  EXPECT_EQ(n.pod_cidr, "10.42.1.0/24");
  // Another --topology-label keeps that one instead.
  n.labels["example.com/site"] = "x";
  TrimNode("example.com/site", &n);
  EXPECT_EQ(n.labels, (std::map<std::string, std::string>{{"example.com/site", "x"}}));
}

TEST(AgentChange, AnUpdateOfOnlyWhatTheInformerDropsWakesNobody) {
  NodeObject o = MakeNode("n2", "a", "10.10.0.2/24", "10.10.0.2:51820", "10.42.2.0/24", kNow);
  o.resource_version = "100";
  NodeObject n = o;
  n.resource_version = "101";  // a kubelet status update, trimmed
  EXPECT_FALSE(NodeUpdateMatters(o, n));
  n.annotations[kAnnLastSeen] = std::to_string(kNow + 30);
  EXPECT_TRUE(NodeUpdateMatters(o, n));  // a heartbeat: the agent decides
  n = o;
  n.pod_cidr = "10.42.9.0/24";
  EXPECT_TRUE(NodeUpdateMatters(o, n));
}

TEST(AgentChange, SameContentButHeartbeatIgnoresOnlyLastSeen) {
  NodeObject a = MakeNode("n2", "a", "10.10.0.2/24", "10.10.0.2:51820", "10.42.2.0/24", kNow);
  NodeObject b = a;
  b.annotations[kAnnLastSeen] = "1";
  EXPECT_TRUE(SameContentButHeartbeat(a, b));
  EXPECT_FALSE(SameContent(a, b));
  b.annotations.erase(kAnnLastSeen);
  EXPECT_TRUE(SameContentButHeartbeat(a, b));
  // kg's failover health report is not read by the mesh either.
  b.annotations["kg.kilo.squat.ai/path-health"] = "{}";
  EXPECT_TRUE(SameContentButHeartbeat(a, b));
  EXPECT_EQ(ContentDigest(a, true), ContentDigest(b, true));
  EXPECT_NE(ContentDigest(a, false), ContentDigest(b, false));
  b.annotations[kAnnLeader] = "true";
  EXPECT_FALSE(SameContentButHeartbeat(a, b));
  b = a;
  b.annotations[kAnnEndpoint] = "10.10.0.2:51821";
  EXPECT_FALSE(SameContentButHeartbeat(a, b));
  b = a;
  b.labels["topology.kubernetes.io/region"] = "z";
  EXPECT_FALSE(SameContentButHeartbeat(a, b));
}

TEST(AgentChange, OnlyNodesThatCanBeReadyAreMeshCandidates) {
  NodeObject n = MakeNode("n2", "a", "10.10.0.2/24", "10.10.0.2:51820", "10.42.2.0/24", kNow);
  EXPECT_TRUE(CanJoinTheMesh(n));
  for (const char* k : {kAnnKey, kAnnLastSeen, kAnnEndpoint}) {
    NodeObject m = n;
    m.annotations.erase(k);
    EXPECT_FALSE(CanJoinTheMesh(m)) << k;
  }
  NodeObject forced = n;
  forced.annotations.erase(kAnnEndpoint);
  forced.annotations[kAnnForceEndpoint] = "203.0.113.9:51820";
  EXPECT_TRUE(CanJoinTheMesh(forced));
  NodeObject no_cidr = n;
  no_cidr.pod_cidr.clear();
  EXPECT_FALSE(CanJoinTheMesh(no_cidr));
  // What the informer drops makes no difference.
  NodeObject trimmed = n;
  trimmed.annotations["other.example.com/x"] = "1";
  TrimNode("topology.kubernetes.io/region", &trimmed);
  EXPECT_TRUE(CanJoinTheMesh(trimmed));
}

TEST(AgentChange, ContentDigestsTellTheSameChangesAsTheComparisons) {
  NodeObject a = MakeNode("n2", "a", "10.10.0.2/24", "10.10.0.2:51820", "10.42.2.0/24", kNow);
  std::vector<NodeObject> variants(7, a);
  variants[1].resource_version = "7";                         // same content
  variants[2].annotations[kAnnLastSeen] = "1";                // a heartbeat
  variants[3].annotations[kAnnEndpoint] = "10.10.0.2:51821";  // a change
  variants[4].labels["topology.kubernetes.io/region"] = "b";
  variants[5].pod_cidr = "10.42.9.0/24";
  // Moving a character from a key to its value is a change too.
  variants[6].annotations.erase(kAnnKey);
  variants[6].annotations["kilo.squat.ai/ke"] = "y" + a.annotations.at(kAnnKey);
  for (const auto& v : variants) {
    EXPECT_EQ(ContentDigest(a, false) == ContentDigest(v, false), SameContent(a, v));
    EXPECT_EQ(ContentDigest(a, true) == ContentDigest(v, true), SameContentButHeartbeat(a, v));
  }
}

}  // namespace
}  // namespace kilo::agent
