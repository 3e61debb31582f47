// The reconcile loop in Cilium mode (--compatibility=cilium) against the
// stateful fakes:
//
//   location a                                              location b
//   n1 leader 10.10.0.1/24  pods 10.42.1.0/24  cilium_host 10.42.1.77
//   n2        10.10.0.2/24  pods 10.42.2.0/24  cni-compatibility-ip 10.42.2.77/32
//   n4        10.10.0.4/24  pods 10.42.4.0/24  no cni-compatibility-ip
//                                                           n3 10.20.0.1/24 pods 10.42.3.0/24
//
// kg publishes its cilium_host address, routes to its location's nodes via
// theirs (else via their pod network address), uses Cilium's cilium_tunl and
// leaves it alone on clean-up, and accepts IPIP only from its location.

#include <gtest/gtest.h>

#include <algorithm>
#include <map>

#include "agent_env.h"

namespace kilo::agent {
namespace {

IPPrefix P(const char* s) { return *IPPrefix::Parse(s); }

Key KeyFor(const std::string& name) { return fixture::KeyFor(name, 0x17); }

NodeObject Node(const std::string& name, const std::string& location, const std::string& internal,
                const std::string& endpoint, const std::string& pod, const std::string& cni = "") {
  NodeObject n = fixture::AnnotatedNode(name, location, internal, endpoint, pod, 0x17);
  if (!cni.empty()) n.annotations[kAnnCNICompatibilityIP] = cni;
  return n;
}

struct CiliumEnv : fixture::AgentEnv {
  // `host` is n1 (the leader) or n2; `tunnel` the interface SetUpTunnel chose.
  explicit CiliumEnv(const std::string& host = "n1", const std::string& tunnel = "cilium_tunl",
                     Compatibility compat = Compatibility::kCilium) {
    backend.SetNode(
        Node("n1", "a", "10.10.0.1/24", "198.51.100.1:51820", "10.42.1.0/24", "10.42.1.77/32"));
    backend.SetNode(
        Node("n2", "a", "10.10.0.2/24", "10.10.0.2:51820", "10.42.2.0/24", "10.42.2.77/32"));
    backend.SetNode(Node("n3", "b", "10.20.0.1/24", "203.0.113.3:51820", "10.42.3.0/24"));
    backend.SetNode(Node("n4", "a", "10.10.0.4/24", "10.10.0.4:51820", "10.42.4.0/24"));
    wg.AddDevice("kilo0");
    nl.AddLinkNow({0, "kilo0", "wireguard", 1420, true, false});
    nl.AddLinkNow({0, "eth0", "veth", 1500, true, false});
    nl.AddAddressNow("eth0", P(host == "n1" ? "10.10.0.1/24" : "10.10.0.2/24"));
    nl.AddLinkNow({0, tunnel, "ipip", 1480, true, false});
    nl.AddLinkNow({0, "cilium_host", "veth", 1500, true, false});
    nl.AddAddressNow("cilium_host", P("fd00:10::77/128"));  // IPv6 first: skipped
    nl.AddAddressNow("cilium_host", P(host == "n1" ? "10.42.1.77/32" : "10.42.2.77/32"));
    opts.hostname = host;
    opts.compatibility = compat;
    opts.encapsulate = Encapsulation::kAlways;
    opts.tunnel_iface = tunnel;
    opts.clean_up_tunnel = tunnel == "tunl0" && compat == Compatibility::kCilium;
    opts.mtu = 1420;
    deps.private_key = KeyFor(host);
    deps.internal_ip = P(host == "n1" ? "10.10.0.1/24" : "10.10.0.2/24");
    deps.internal_iface = "eth0";
    deps.external_ip = *IPAddr::Parse(host == "n1" ? "198.51.100.1" : "10.10.0.2");
    Rebuild();
  }
  std::string Published() {
    return backend.Find(opts.hostname)->annotations.at(kAnnCNICompatibilityIP);
  }
};

TEST(AgentCilium, PublishesTheCiliumHostAddress) {
  CiliumEnv e;
  e.backend.Find("n1")->annotations.erase(kAnnCNICompatibilityIP);
  ReconcileReport r = e.agent->Reconcile();
  ASSERT_TRUE(r.applied) << r.skipped_reason;
  EXPECT_EQ(e.Published(), "10.42.1.77/32");
  // Unchanged: no write.
  int patches = e.backend.patches();
  e.now += 2;
  e.agent->Reconcile();
  EXPECT_EQ(e.backend.patches(), patches);
  // Cilium gives cilium_host another address: published again.
  auto host = *e.nl.FindLink("cilium_host");
  ASSERT_TRUE(e.nl.DeleteAddress(host->index, P("10.42.1.77/32")).ok());
  e.nl.AddAddressNow("cilium_host", P("10.42.1.88/32"));
  e.now += 2;
  e.agent->Reconcile();
  EXPECT_EQ(e.Published(), "10.42.1.88/32");
  EXPECT_EQ(e.backend.patches(), patches + 1);
  // cilium_host gone: "".
  ASSERT_TRUE(e.nl.DeleteLink("cilium_host").ok());
  e.now += 2;
  e.agent->Reconcile();
  EXPECT_EQ(e.Published(), "");
}

// Outside Cilium mode kg writes "" as Go agents do, whatever the host has, so
// that the annotation does not flip-flop in a mixed cluster; and without a
// private IP (Kilo's encapsulator is then a no-op) "" too.
TEST(AgentCilium, PublishesEmptyOutsideCiliumModeOrWithoutPrivateIP) {
  for (Compatibility c : {Compatibility::kNone, Compatibility::kFlannel}) {
    SCOPED_TRACE(CompatibilityName(c));
    CiliumEnv e("n1", "tunl0", c);
    e.agent->Reconcile();
    EXPECT_EQ(e.Published(), "");
  }
  CiliumEnv e;
  e.deps.internal_ip.reset();
  e.Rebuild();
  e.agent->Reconcile();
  EXPECT_EQ(e.Published(), "");
}

TEST(AgentCilium, LeaderRoutesViaTheNodesCNICompatibilityIPsThroughCiliumTunl) {
  CiliumEnv e;
  ReconcileReport r = e.agent->Reconcile();
  ASSERT_TRUE(r.applied) << r.skipped_reason;
  ASSERT_TRUE(r.errors.empty()) << r.errors.front();
  EXPECT_EQ(e.Routes(),
            "route 10.10.0.2/32 via 10.42.2.77 src 10.10.0.1 dev cilium_tunl table 1107 onlink\n"
            "route 10.10.0.4/32 via 10.42.4.0 src 10.10.0.1 dev cilium_tunl table 1107 onlink\n"
            "route 10.20.0.1/32 via 10.4.0.2 src 10.10.0.1 dev kilo0 onlink\n"
            "route 10.42.2.0/24 via 10.42.2.77 src 10.10.0.1 dev cilium_tunl onlink\n"
            "route 10.42.3.0/24 via 10.4.0.2 src 10.10.0.1 dev kilo0 onlink\n"
            "route 10.42.4.0/24 via 10.42.4.0 src 10.10.0.1 dev cilium_tunl onlink\n");
  EXPECT_EQ(e.Addresses("cilium_tunl"), "10.42.1.1/32\n");
  // n2's value changes: the routes follow.
  e.backend.Find("n2")->annotations[kAnnCNICompatibilityIP] = "10.42.2.99/32";
  e.agent->Reconcile();
  EXPECT_NE(
      e.Routes().find("route 10.42.2.0/24 via 10.42.2.99 src 10.10.0.1 dev cilium_tunl onlink\n"),
      std::string::npos)
      << e.Routes();
  // A bare IP is no value: the pod network address, and a warning.
  e.backend.Find("n2")->annotations[kAnnCNICompatibilityIP] = "10.42.2.99";
  e.agent->Reconcile();
  EXPECT_NE(
      e.Routes().find("route 10.42.2.0/24 via 10.42.2.0 src 10.10.0.1 dev cilium_tunl onlink\n"),
      std::string::npos)
      << e.Routes();
  auto w = e.agent->Warnings();
  ASSERT_EQ(w.size(), 1u);
  EXPECT_NE(w[0].find("kilo.squat.ai/cni-compatibility-ip=\"10.42.2.99\""), std::string::npos)
      << w[0];
}

TEST(AgentCilium, NonLeaderRoutesViaTheLeadersCNICompatibilityIP) {
  CiliumEnv e("n2");
  ReconcileReport r = e.agent->Reconcile();
  ASSERT_TRUE(r.applied) << r.skipped_reason;
  EXPECT_FALSE(r.leader);
  EXPECT_EQ(e.Routes(),
            "route 10.10.0.1/32 via 10.42.1.77 src 10.10.0.2 dev cilium_tunl table 1107 onlink\n"
            "route 10.10.0.4/32 via 10.42.4.0 src 10.10.0.2 dev cilium_tunl table 1107 onlink\n"
            "route 10.20.0.1/32 via 10.42.1.77 src 10.10.0.2 dev cilium_tunl onlink\n"
            "route 10.4.0.1/32 via 10.42.1.77 src 10.10.0.2 dev cilium_tunl onlink\n"
            "route 10.4.0.2/32 via 10.42.1.77 src 10.10.0.2 dev cilium_tunl onlink\n"
            "route 10.42.1.0/24 via 10.42.1.77 src 10.10.0.2 dev cilium_tunl onlink\n"
            "route 10.42.3.0/24 via 10.42.1.77 src 10.10.0.2 dev cilium_tunl onlink\n"
            "route 10.42.4.0/24 via 10.42.4.0 src 10.10.0.2 dev cilium_tunl onlink\n");
  EXPECT_EQ(e.Published(), "10.42.2.77/32");
}

TEST(AgentCilium, AcceptsIPIPOnlyFromTheNodesOfItsLocation) {
  CiliumEnv e;
  e.agent->Reconcile();
  ASSERT_TRUE(e.fw.installed().has_value());
  std::string nft = fw::RenderNft(*e.fw.installed());
  EXPECT_NE(nft.find("\tchain KILO-IPIP {\n"
                     "\t\tip saddr 10.10.0.1 accept comment \"Kilo: allow IPIP traffic\"\n"
                     "\t\tip saddr 10.10.0.2 accept comment \"Kilo: allow IPIP traffic\"\n"
                     "\t\tip saddr 10.10.0.4 accept comment \"Kilo: allow IPIP traffic\"\n"
                     "\t}\n"),
            std::string::npos)
      << nft;
  EXPECT_EQ(nft.find("saddr 10.20.0.1"), std::string::npos) << nft;  // n3 is elsewhere
  EXPECT_NE(nft.find("\t\tip protocol 4 drop comment \"Kilo: reject other IPIP traffic\"\n"),
            std::string::npos)
      << nft;
  // A node joins the location: it may send IPIP too.
  e.backend.SetNode(Node("n5", "a", "10.10.0.5/24", "10.10.0.5:51820", "10.42.5.0/24"));
  e.agent->Reconcile();
  nft = fw::RenderNft(*e.fw.installed());
  EXPECT_NE(nft.find("ip saddr 10.10.0.5 accept"), std::string::npos) << nft;
  // Kilo's plain IPIP encapsulator has the same rules; its Flannel one none.
  CiliumEnv plain("n1", "tunl0", Compatibility::kNone);
  plain.agent->Reconcile();
  ASSERT_TRUE(plain.fw.installed().has_value());
  EXPECT_NE(fw::RenderNft(*plain.fw.installed()).find("ip saddr 10.10.0.2 accept"),
            std::string::npos);
  CiliumEnv flannel("n1", "tunl0", Compatibility::kFlannel);
  flannel.agent->Reconcile();
  ASSERT_TRUE(flannel.fw.installed().has_value());
  EXPECT_EQ(fw::RenderNft(*flannel.fw.installed()).find("IPIP"), std::string::npos);
}

TEST(AgentCilium, CleanUpLeavesCiliumTunlAlone) {
  CiliumEnv e;
  e.agent->Reconcile();
  e.nl.ClearWrites();
  ASSERT_TRUE(e.agent->CleanUp().ok());
  // kg's routes through it are gone; the device and its address stay.
  EXPECT_EQ(e.Routes(), "");
  EXPECT_EQ(e.Addresses("cilium_tunl"), "10.42.1.1/32\n");
  for (const auto& w : e.nl.writes()) {
    EXPECT_EQ(w.find("del link"), std::string::npos) << w;
    if (w.rfind("del address", 0) == 0) {
      EXPECT_EQ(w.find("cilium_tunl"), std::string::npos) << w;
    }
  }
  EXPECT_EQ(e.fw.cleanups(), 1);
  // Its annotations go, cni-compatibility-ip included.
  EXPECT_EQ(e.backend.Find("n1")->annotations.count(kAnnCNICompatibilityIP), 0u);
  EXPECT_EQ(e.backend.Find("n1")->annotations.count(kAnnKey), 0u);
}

TEST(AgentCilium, CleanUpRemovesTheTunl0ItCreated) {
  CiliumEnv e("n1", "tunl0");
  e.agent->Reconcile();
  EXPECT_EQ(e.Addresses("tunl0"), "10.42.1.1/32\n");
  e.nl.ClearWrites();
  ASSERT_TRUE(e.agent->CleanUp().ok());
  EXPECT_EQ(e.Addresses("tunl0"), "<no link>");
  std::vector<std::string> tunnel_writes;
  for (const auto& w : e.nl.writes())
    if (w.find("tunl0") != std::string::npos && w.rfind("del route", 0) != 0)
      tunnel_writes.push_back(w);
  EXPECT_EQ(tunnel_writes,
            (std::vector<std::string>{"del address 10.42.1.1/32 dev tunl0", "del link tunl0"}));
}

}  // namespace
}  // namespace kilo::agent
