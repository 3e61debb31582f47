// kg's leader failover (agent/failover.h) against the fakes: the Lease
// holder, and three controllers of one location deciding together from
// their probes, on one shared fake API server and an injected clock.
//
//   location eu: a (leader: first public), b, c    location us: d    location ap: e
//   probes: eu nodes -> 10.42.4.1 (d's pod gateway), 10.42.5.1 (e's)

#include "agent/failover.h"

#include <gtest/gtest.h>

#include <array>
#include <random>

#include "core/failover.h"
#include "core/key.h"
#include "fakes/agent/fake_backend.h"
#include "fakes/agent/fake_failover.h"

namespace kilo::agent {
namespace {

namespace fo = kilo::failover;

constexpr int64_t kStartMs = 1767225600000;

TEST(LeaseName, IsTheLocationWhenItIsAValidNameElseSanitisedWithAHash) {
  EXPECT_EQ(LeaseNameFor("eu"), "kilo-leader-eu");
  EXPECT_EQ(LeaseNameFor("us-east-1"), "kilo-leader-us-east-1");
  std::string a = LeaseNameFor("EU West"), b = LeaseNameFor("eu-west");
  EXPECT_EQ(a.rfind("kilo-leader-eu-west-", 0), 0u) << a;
  EXPECT_NE(a, b);
  EXPECT_EQ(LeaseNameFor("").rfind("kilo-leader-", 0), 0u);
  EXPECT_LE(LeaseNameFor(std::string(300, 'x')).size(), 63u);
}

TEST(LeaseHolder, OneHolderAtATimeAndTakeOverOnlyAfterTheLeaseRanOutOnTheObserversClock) {
  FakeLeaseStore store;
  LeaseHolder a(&store, "kilo-leader-eu", "a"), b(&store, "kilo-leader-eu", "b");
  int64_t t = kStartMs;
  EXPECT_TRUE(a.Try(t, false, nullptr));
  EXPECT_FALSE(b.Try(t, false, nullptr));
  EXPECT_EQ(store.Holder("kilo-leader-eu"), "a");
  // a renews every 2 s; b never gets it.
  for (int i = 1; i <= 20; ++i) {
    t += 1000;
    EXPECT_TRUE(a.Try(t, false, nullptr));
    EXPECT_FALSE(b.Try(t, false, nullptr));
  }
  // a stops (its kg died). b first sees the last record at t; 15 s later on
  // b's clock it takes the Lease over.
  int64_t stopped = t;
  while (!b.Try(t, false, nullptr)) t += 1000;
  EXPECT_GE(t - stopped, 15000);
  EXPECT_LE(t - stopped, 17000);
  EXPECT_EQ(store.Holder("kilo-leader-eu"), "b");
  // a comes back: it no longer holds it, and knows it once the renew
  // deadline passed without a renewal of its own.
  EXPECT_FALSE(a.Try(t + 2000, false, nullptr));
  EXPECT_FALSE(a.Held(t + 2000));
}

TEST(LeaseHolder, ADeferringHolderGivesTheLeaseUpAtOnceAndReleaseFreesIt) {
  FakeLeaseStore store;
  LeaseHolder a(&store, "l", "a"), b(&store, "l", "b");
  int64_t t = kStartMs;
  ASSERT_TRUE(a.Try(t, false, nullptr));
  EXPECT_FALSE(a.Try(t + 2000, true, nullptr));  // defer: gives it up
  EXPECT_EQ(store.Holder("l"), "");
  EXPECT_TRUE(b.Try(t + 2000, false, nullptr));  // free at once
  b.Release(t + 3000);
  EXPECT_EQ(store.Holder("l"), "");
  EXPECT_TRUE(a.Try(t + 4000, false, nullptr));
}

TEST(LeaseHolder, AnUnreachableAPIServerEndsHoldingAfterTheRenewDeadline) {
  FakeLeaseStore store;
  LeaseHolder a(&store, "l", "a");
  int64_t t = kStartMs;
  ASSERT_TRUE(a.Try(t, false, nullptr));
  store.SetUnreachable(true);
  std::string err;
  EXPECT_TRUE(a.Try(t + 2000, false, &err));
  EXPECT_NE(err.find("connection refused"), std::string::npos);
  EXPECT_TRUE(a.Held(t + 9999));
  EXPECT_FALSE(a.Try(t + 10000, false, nullptr));
}

NodeObject MakeNode(const std::string& name, const std::string& location,
                    const std::string& endpoint, int n, int64_t now_s) {
  NodeObject o;
  o.name = name;
  o.labels[kDefaultTopologyLabel] = location;
  o.pod_cidr = "10.42." + std::to_string(n) + ".0/24";
  std::array<uint8_t, Key::kLen> b{};
  b.fill(static_cast<uint8_t>(n));
  o.annotations[kAnnKey] = Key(b).String();
  o.annotations[kAnnEndpoint] = endpoint;
  o.annotations[kAnnInternalIP] = "192.168." + std::to_string(n) + ".10/24";
  o.annotations[kAnnLastSeen] = std::to_string(now_s);
  return o;
}

class FailoverTest : public ::testing::Test {
 protected:
  void SetUp() override {
    int64_t s = now_ms_ / 1000;
    backend_.SetNode(MakeNode("a", "eu", "198.51.100.1:51820", 1, s));
    backend_.SetNode(MakeNode("b", "eu", "198.51.100.2:51820", 2, s));
    backend_.SetNode(MakeNode("c", "eu", "198.51.100.3:51820", 3, s));
    backend_.SetNode(MakeNode("d", "us", "203.0.113.4:51820", 4, s));
    backend_.SetNode(MakeNode("e", "ap", "203.0.113.5:51820", 5, s));
    for (const char* n : {"a", "b", "c"}) {
      FailoverOptions o;
      o.hostname = n;
      FailoverDeps d;
      d.backend = &backend_;
      d.leases = &leases_;
      d.prober = &probers_[n];
      d.metrics = nullptr;
      d.now_ms = [this] { return now_ms_; };
      controllers_.emplace(n, std::make_unique<FailoverController>(o, d));
    }
  }
  // One second: every controller ticks once; heartbeats stay fresh.
  void Second() {
    now_ms_ += 1000;
    for (auto& n : {"a", "b", "c", "d", "e"})
      backend_.Find(n)->annotations[kAnnLastSeen] = std::to_string(now_ms_ / 1000);
    for (auto& [n, c] : controllers_) reports_[n] = c->Tick();
  }
  std::string Ann(const std::string& node, const std::string& key) {
    auto& a = backend_.Find(node)->annotations;
    auto it = a.find(key);
    return it == a.end() ? "<absent>" : it->second;
  }
  // Forwarding broken on a: its members' probes through it die, its own
  // (sent by itself, not forwarded) go on.
  void BreakForwardingOnA() {
    for (const char* m : {"b", "c"}) probers_[m].SetDown(true);
  }

  int64_t now_ms_ = kStartMs;
  FakeBackend backend_;
  FakeLeaseStore leases_;
  std::map<std::string, FakeProber> probers_;
  std::map<std::string, std::unique_ptr<FailoverController>> controllers_;
  std::map<std::string, TickReport> reports_;
};

TEST_F(FailoverTest, HealthyPathsArePublishedAndNothingMoves) {
  for (int i = 0; i < 30; ++i) Second();
  EXPECT_EQ(reports_["b"].location, "location:eu");
  EXPECT_EQ(reports_["b"].paths,
            (std::map<std::string, bool>{{"location:ap", true}, {"location:us", true}}));
  EXPECT_EQ(Ann("b", fo::kAnnPathHealth).substr(Ann("b", fo::kAnnPathHealth).find(' ')),
            " ok=location:ap,location:us lost=");
  for (const char* n : {"a", "b", "c"}) EXPECT_EQ(Ann(n, kAnnLeader), "<absent>") << n;
  // Exactly one decider, and not the leader while members run kg.
  int holders = 0;
  for (auto& [n, r] : reports_) holders += r.lease_held;
  EXPECT_EQ(holders, 1);
  EXPECT_FALSE(reports_["a"].lease_held);
  EXPECT_TRUE(backend_.events().empty());
}

TEST_F(FailoverTest, ForwardingBrokenOnTheLeaderMovesLeadershipWithinTenSeconds) {
  for (int i = 0; i < 5; ++i) Second();
  BreakForwardingOnA();
  int seconds = 0;
  while (Ann("b", kAnnLeader) == "<absent>" && seconds < 30) {
    Second();
    ++seconds;
  }
  EXPECT_LE(seconds, 8);  // 6 lost probes, a report, a decision
  EXPECT_EQ(Ann("b", kAnnLeader), "");
  std::string by = Ann("b", fo::kAnnLeaderBy);
  EXPECT_NE(by.find(" forwarding "), std::string::npos) << by;
  EXPECT_EQ(Ann("a", kAnnLeader), "<absent>");
  ASSERT_EQ(backend_.events().size(), 2u);
  EXPECT_EQ(backend_.events()[0].rfind(
                "a LeaderMovedAway leadership of location:eu moved from a to b (forwarding)", 0),
            0u)
      << backend_.events()[0];
  EXPECT_EQ(backend_.events()[1].rfind("b LeaderMovedHere ", 0), 0u);
  // No move back, and at most one move a minute: a recovers, b and c go on
  // losing (say the fault is elsewhere now): nothing moves for a minute.
  for (int i = 0; i < 50; ++i) Second();
  EXPECT_EQ(Ann("b", kAnnLeader), "");
  EXPECT_EQ(Ann("a", kAnnLeader), "<absent>");
}

TEST_F(FailoverTest, APersonsPinIsNeverRemovedButReported) {
  backend_.Find("a")->annotations[kAnnLeader] = "true";
  for (int i = 0; i < 5; ++i) Second();
  BreakForwardingOnA();
  for (int i = 0; i < 120; ++i) Second();
  EXPECT_EQ(Ann("a", kAnnLeader), "true");
  EXPECT_EQ(Ann("b", kAnnLeader), "<absent>");
  EXPECT_EQ(Ann("c", kAnnLeader), "<absent>");
  ASSERT_FALSE(backend_.events().empty());
  EXPECT_EQ(backend_.events()[0].rfind("a PinnedLeaderBroken ", 0), 0u) << backend_.events()[0];
  EXPECT_LE(backend_.events().size(), 2u);  // at most one report a minute
}

TEST_F(FailoverTest, TheLeaderBeingStoppedHandsOverToAnotherNode) {
  for (int i = 0; i < 5; ++i) Second();
  auto to = controllers_["a"]->HandOver();
  ASSERT_TRUE(to.has_value());
  EXPECT_EQ(*to, "b");
  EXPECT_EQ(Ann("b", kAnnLeader), "");
  EXPECT_NE(Ann("b", fo::kAnnLeaderBy).find(" handover "), std::string::npos);
  EXPECT_FALSE(controllers_["a"]->LeadsNow("b"));  // b has not configured itself yet
  backend_.Find("b")->annotations[kAnnWireGuardIP] = "10.4.0.1/16";
  EXPECT_TRUE(controllers_["a"]->LeadsNow("b"));
  controllers_["a"]->CleanUp();
  EXPECT_EQ(Ann("a", fo::kAnnPathHealth), "<absent>");
  EXPECT_FALSE(controllers_["c"]->HandOver().has_value());  // c does not lead: nothing to hand over
}

TEST_F(FailoverTest, RandomLossOfTwoPercentPerLinkNeverMovesALeaderInAnHour) {
  std::mt19937_64 rng(2026);
  std::bernoulli_distribution lost(1 - 0.98 * 0.98 * 0.98 * 0.98);
  for (int i = 0; i < 3600; ++i) {
    for (const char* n : {"a", "b", "c"}) {
      probers_[n].SetUnreachable(IPAddr::V4(10, 42, 4, 1), lost(rng));
      probers_[n].SetUnreachable(IPAddr::V4(10, 42, 5, 1), lost(rng));
    }
    Second();
  }
  for (const char* n : {"a", "b", "c"}) EXPECT_EQ(Ann(n, kAnnLeader), "<absent>") << n;
  EXPECT_TRUE(backend_.events().empty());
}

}  // namespace
}  // namespace kilo::agent
