// The nftables and iptables backends against fake runners: convergence
// decisions (write or not), one-transaction writes, what CleanUp touches. The
// kernel-facing behaviour is covered by tests/integration/firewall.

#include <gtest/gtest.h>
#include <netdb.h>

#include <map>
#include <random>

#include "fakes/firewall/fake_firewall.h"
#include "fakes/firewall/fake_runners.h"
#include "fakes/firewall/sample_ruleset.h"
#include "firewall/iptables.h"
#include "firewall/nftables.h"

namespace kilo::fw {
namespace {

using testing::FakeCommands;
using testing::FakeNft;
using testing::SampleRuleSet;

int Writes(const FakeNft::State& s) {
  int n = 0;
  for (const std::string& c : s.commands) n += c.rfind("list ", 0) != 0;
  return n;
}

TEST(NftablesFirewall, ConvergesWithMinimalWrites) {
  FakeNft::State st;
  NftablesFirewall fw(std::make_unique<FakeNft>(&st));
  RuleSet rs = SampleRuleSet();

  Result<int> r = fw.Apply(rs);
  ASSERT_TRUE(r.ok()) << r.error();
  EXPECT_EQ(*r, 1);
  EXPECT_EQ(st.table, RenderNft(rs));
  // The write is one buffer: create, delete, define.
  EXPECT_EQ(Writes(st), 1);

  r = fw.Apply(rs);
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(*r, 0);
  EXPECT_EQ(Writes(st), 1);

  // A fresh agent (no memory) with an identical table installed writes nothing.
  NftablesFirewall fresh(std::make_unique<FakeNft>(&st));
  EXPECT_EQ(*fresh.Apply(rs), 0);

  // Hand-edited table: rewritten.
  st.table.replace(st.table.find("10.96.0.0/12"), 12, "10.97.0.0/16");
  EXPECT_EQ(*fw.Apply(rs), 1);
  EXPECT_EQ(st.table, RenderNft(rs));

  // Changed plan: rewritten.
  RuleSet changed = SampleRuleSet("10.5.0.2/32");
  EXPECT_EQ(*fw.Apply(changed), 1);
  EXPECT_EQ(st.table, RenderNft(changed));

  EXPECT_EQ(*fw.Current(), RenderNft(changed));
  ASSERT_TRUE(fw.CleanUp().ok());
  EXPECT_EQ(st.commands.back(), "table inet kilo {}\ndelete table inet kilo\n");
}

// nft versions format listings differently; the backend must not rewrite the
// table every tick because of it.
TEST(NftablesFirewall, ToleratesForeignListingFormat) {
  struct Reformatting : FakeNft {
    using FakeNft::FakeNft;
    Result<std::string> Run(std::string_view cmd) override {
      Result<std::string> r = FakeNft::Run(cmd);
      if (r.ok() && cmd == "list table inet kilo") {
        std::string s = *r;
        for (size_t p; (p = s.find("priority srcnat")) != std::string::npos;)
          s.replace(p, 15, "priority 100");
        return s;
      }
      return r;
    }
  };
  FakeNft::State st;
  NftablesFirewall fw(std::make_unique<Reformatting>(&st));
  RuleSet rs = SampleRuleSet();
  EXPECT_EQ(*fw.Apply(rs), 1);
  EXPECT_EQ(*fw.Apply(rs), 0);
  EXPECT_EQ(*fw.Apply(SampleRuleSet("10.5.0.9/32")), 1);
}

// Random sequences of plans and hand edits: after every Apply the table is the
// rendering of the last plan, and an immediate second Apply writes nothing.
TEST(NftablesFirewall, ConvergesFromAnyState) {
  const char* peers[] = {"10.5.0.1/32", "10.5.0.2/32", "10.6.0.0/24"};
  std::mt19937 rng(42);
  FakeNft::State st;
  NftablesFirewall fw(std::make_unique<FakeNft>(&st));
  for (int i = 0; i < 200; ++i) {
    switch (rng() % 3) {
      case 0:
        st.table.clear();  // table deleted by hand
        break;
      case 1:
        if (!st.table.empty()) st.table.erase(st.table.find("\t\tip"), 2);  // indentation only
        break;
      case 2:
        if (!st.table.empty()) st.table.insert(st.table.rfind('}'), "\tchain extra {\n\t}\n");
        break;
    }
    RuleSet rs = SampleRuleSet(peers[rng() % 3]);
    Result<int> r = fw.Apply(rs);
    ASSERT_TRUE(r.ok()) << r.error();
    ASSERT_EQ(NormaliseNft(st.table), NormaliseNft(RenderNft(rs))) << "step " << i;
    ASSERT_EQ(*fw.Apply(rs), 0) << "step " << i;
  }
}

TEST(NftablesFirewall, ErrorsCarryContext) {
  FakeNft::State st;
  NftablesFirewall fw(std::make_unique<FakeNft>(&st));
  RuleSet bad;
  bad.AddChain(Family::kIPv4, Table::kNat, "NAT");
  Result<int> r = fw.Apply(bad);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().rfind("apply nftables: chain NAT", 0), 0u) << r.error();
  EXPECT_TRUE(st.commands.empty());

  st.fail = "Error: Could not process rule: Operation not permitted";
  r = fw.Apply(SampleRuleSet());
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error(),
            "apply nftables: nftables: list tables: Error: Could not process rule: Operation not "
            "permitted");
}

std::string SaveOf(const RuleSet& rs, Family f, Table t, bool with_jump) {
  std::string s = "*" + std::string(TableName(t)) + "\n:POSTROUTING ACCEPT [0:0]\n";
  for (const std::string& c : IptablesChains(rs, f, t)) s += ":" + c + " - [0:0]\n";
  s += "-A POSTROUTING -s 10.99.0.0/16 -j MASQUERADE\n";
  if (with_jump) {
    for (const std::string& b : IptablesBuiltins(rs, f, t)) s += "-A " + IptablesJumpRule(b) + "\n";
  }
  for (const std::string& l : RenderIptablesRules(rs, f, t)) s += l + "\n";
  return s + "COMMIT\n";
}

void Install(FakeCommands::State& st, const RuleSet& rs, bool with_jump = true) {
  for (Table t : {Table::kNat, Table::kFilter}) {
    st.save["iptables-save " + std::string(TableName(t))] = SaveOf(rs, Family::kIPv4, t, with_jump);
    st.save["ip6tables-save " + std::string(TableName(t))] =
        SaveOf(rs, Family::kIPv6, t, with_jump);
  }
}

TEST(IptablesFirewall, NoWriteWhenSaveMatches) {
  FakeCommands::State st;
  RuleSet rs = SampleRuleSet();
  Install(st, rs);
  IptablesFirewall fw(std::make_unique<FakeCommands>(&st));
  Result<int> r = fw.Apply(rs);
  ASSERT_TRUE(r.ok()) << r.error();
  EXPECT_EQ(*r, 0);
  EXPECT_TRUE(st.restores.empty());
}

TEST(IptablesFirewall, FreshHostGetsChainsAndJumps) {
  FakeCommands::State st;
  RuleSet rs = SampleRuleSet();
  IptablesFirewall fw(std::make_unique<FakeCommands>(&st));
  EXPECT_EQ(*fw.Apply(rs), 2);
  ASSERT_EQ(st.restores.size(), 2u);
  IptablesRestoreExtras ex;
  ex.insert_jumps = {"POSTROUTING", "FORWARD"};
  EXPECT_EQ(st.restores[0].first, "iptables-restore");
  EXPECT_EQ(st.restores[0].second, RenderIptablesRestore(rs, Family::kIPv4, ex));
  EXPECT_EQ(st.restores[1].first, "ip6tables-restore");
  EXPECT_EQ(st.restores[1].second, RenderIptablesRestore(rs, Family::kIPv6, ex));
}

TEST(IptablesFirewall, RepairsOnlyWhatDiffers) {
  FakeCommands::State st;
  RuleSet rs = SampleRuleSet();
  Install(st, rs);
  // IPv4: a rule deleted by hand, a stale chain, a Go-Kilo rule in POSTROUTING.
  std::string& nat = st.save["iptables-save nat"];
  nat.erase(nat.find("-A KILO-NAT -d 10.96.0.0/12"),
            nat.find("\n", nat.find("-A KILO-NAT -d 10.96.0.0/12")) -
                nat.find("-A KILO-NAT -d 10.96.0.0/12") + 1);
  nat.insert(nat.find("COMMIT"),
             ":KILO-OLD - [0:0]\n-A POSTROUTING -s 10.2.1.0/24 -m comment --comment "
             "\"Kilo: jump to KILO-NAT chain\" -j KILO-NAT\n");
  IptablesFirewall fw(std::make_unique<FakeCommands>(&st));
  EXPECT_EQ(*fw.Apply(rs), 1);
  ASSERT_EQ(st.restores.size(), 1u);
  IptablesRestoreExtras ex;
  ex.delete_chains = {{Table::kNat, "KILO-OLD"}};
  ex.delete_rules = {{Table::kNat,
                      "POSTROUTING -s 10.2.1.0/24 -m comment --comment \"Kilo: jump to KILO-NAT "
                      "chain\" -j KILO-NAT"}};
  EXPECT_EQ(st.restores[0].second, RenderIptablesRestore(rs, Family::kIPv4, ex));
}

TEST(IptablesFirewall, CleanUpTouchesOnlyKilo) {
  FakeCommands::State st;
  RuleSet rs = SampleRuleSet();
  Install(st, rs);
  IptablesFirewall fw(std::make_unique<FakeCommands>(&st), IptablesOptions{.ipv6 = false});
  ASSERT_TRUE(fw.CleanUp().ok());
  ASSERT_EQ(st.restores.size(), 1u);
  EXPECT_EQ(st.restores[0].second,
            "*nat\n"
            ":KILO-NAT - [0:0]\n"
            ":KILO-POSTROUTING - [0:0]\n"
            "-D POSTROUTING -m comment --comment \"Kilo: jump to KILO-POSTROUTING chain\" -j "
            "KILO-POSTROUTING\n"
            "-X KILO-NAT\n"
            "-X KILO-POSTROUTING\n"
            "COMMIT\n"
            "*filter\n"
            ":KILO-FORWARD - [0:0]\n"
            "-D FORWARD -m comment --comment \"Kilo: jump to KILO-FORWARD chain\" -j KILO-FORWARD\n"
            "-X KILO-FORWARD\n"
            "COMMIT\n");
  // Nothing of ours left: no write.
  st.save.clear();
  st.restores.clear();
  ASSERT_TRUE(fw.CleanUp().ok());
  EXPECT_TRUE(st.restores.empty());
  EXPECT_EQ(*fw.Current(), "");
}

TEST(IptablesFirewall, RestoreFailureIsReported) {
  FakeCommands::State st;
  st.restore_exit = 2;
  IptablesFirewall fw(std::make_unique<FakeCommands>(&st));
  Result<int> r = fw.Apply(SampleRuleSet());
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error(),
            "apply iptables: iptables-restore --noflush: exit 2: iptables-restore: line 3 failed");
}

// iptables-save prints protocol 4 by its /etc/protocols name; the rendering
// has the number. Both are the same rule: no write.
TEST(IptablesFirewall, IPIPPlanSavedWithProtocolNamesMatches) {
  if (getprotobyname("ipencap") == nullptr || getprotobyname("ipencap")->p_proto != kProtoIPIP)
    GTEST_SKIP() << "SKIP: this host's /etc/protocols has no \"ipencap 4\"";
  FakeCommands::State st;
  RuleSet rs = testing::IPIPRuleSet();
  Install(st, rs);
  for (auto& [k, save] : st.save) {
    for (size_t at; (at = save.find(" -p 4 ")) != std::string::npos;)
      save.replace(at, 6, " -p ipencap ");
  }
  ASSERT_NE(st.save["iptables-save filter"].find("-A KILO-INPUT -p ipencap "), std::string::npos);
  IptablesFirewall fw(std::make_unique<FakeCommands>(&st));
  Result<int> r = fw.Apply(rs);
  ASSERT_TRUE(r.ok()) << r.error();
  EXPECT_EQ(*r, 0);
  EXPECT_TRUE(st.restores.empty());
}

TEST(IptablesFirewall, IPIPPlanOnAFreshHostAppendsTheInputJump) {
  FakeCommands::State st;
  RuleSet rs = testing::IPIPRuleSet();
  IptablesFirewall fw(std::make_unique<FakeCommands>(&st), IptablesOptions{.ipv6 = false});
  EXPECT_EQ(*fw.Apply(rs), 1);
  ASSERT_EQ(st.restores.size(), 1u);
  IptablesRestoreExtras ex;
  ex.insert_jumps = {"POSTROUTING", "FORWARD", "INPUT"};
  EXPECT_EQ(st.restores[0].second, RenderIptablesRestore(rs, Family::kIPv4, ex));
  EXPECT_NE(st.restores[0].second.find("-A INPUT -m comment --comment \"Kilo: jump to KILO-INPUT "
                                       "chain\" -j KILO-INPUT\n"),
            std::string::npos);
}

// From a plan with IPIP rules to one without (and on clean-up): the INPUT
// jump goes, so KILO-INPUT and KILO-IPIP can be deleted.
TEST(IptablesFirewall, DroppedIPIPRulesTakeTheInputJumpAlong) {
  FakeCommands::State st;
  Install(st, testing::IPIPRuleSet());
  IptablesFirewall fw(std::make_unique<FakeCommands>(&st), IptablesOptions{.ipv6 = false});
  RuleSet rs = SampleRuleSet();
  EXPECT_EQ(*fw.Apply(rs), 1);
  ASSERT_EQ(st.restores.size(), 1u);
  IptablesRestoreExtras ex;
  ex.delete_rules = {{Table::kFilter, IptablesJumpRule("INPUT")}};
  ex.delete_chains = {{Table::kFilter, "KILO-IPIP"}, {Table::kFilter, "KILO-INPUT"}};
  EXPECT_EQ(st.restores[0].second, RenderIptablesRestore(rs, Family::kIPv4, ex));

  st.restores.clear();
  ASSERT_TRUE(fw.CleanUp().ok());
  ASSERT_EQ(st.restores.size(), 1u);
  const std::string& in = st.restores[0].second;
  EXPECT_NE(in.find("-D INPUT -m comment --comment \"Kilo: jump to KILO-INPUT chain\" -j "
                    "KILO-INPUT\n"),
            std::string::npos)
      << in;
  EXPECT_LT(in.find("-D INPUT"), in.find("-X KILO-INPUT")) << in;
  EXPECT_NE(in.find("-X KILO-IPIP\n"), std::string::npos) << in;
}

// The Go agent puts its IPIP rules straight into INPUT: they are Kilo's, and
// go (else KILO-IPIP could never be deleted).
TEST(IptablesFirewall, GoKiloInputRulesAreTakenOver) {
  FakeCommands::State st;
  RuleSet rs = testing::IPIPRuleSet();
  Install(st, rs);
  std::string& filter = st.save["iptables-save filter"];
  const std::string go =
      "INPUT -p ipencap -m comment --comment \"Kilo: jump to IPIP chain\" -j KILO-IPIP";
  filter.insert(filter.find("COMMIT"), "-A " + go + "\n");
  IptablesFirewall fw(std::make_unique<FakeCommands>(&st), IptablesOptions{.ipv6 = false});
  EXPECT_EQ(*fw.Apply(rs), 1);
  IptablesRestoreExtras ex;
  ex.delete_rules = {{Table::kFilter, go}};
  EXPECT_EQ(st.restores[0].second, RenderIptablesRestore(rs, Family::kIPv4, ex));
}

TEST(FakeFirewall, RecordsWrites) {
  FakeFirewall fw;
  RuleSet rs = SampleRuleSet();
  EXPECT_EQ(*fw.Apply(rs), 1);
  EXPECT_EQ(*fw.Apply(rs), 0);
  EXPECT_EQ(fw.writes(), 1);
  EXPECT_EQ(*fw.installed(), rs);
  fw.FailNextApply(Status::Error("boom"));
  EXPECT_EQ(fw.Apply(rs).error(), "boom");
  fw.Tamper();
  EXPECT_EQ(*fw.Apply(rs), 1);
  EXPECT_EQ(*fw.Current(), RenderNft(rs));
  ASSERT_TRUE(fw.CleanUp().ok());
  EXPECT_FALSE(fw.installed().has_value());
  EXPECT_EQ(fw.apply_calls(), 4);
  EXPECT_EQ(fw.writes(), 2);
}

}  // namespace
}  // namespace kilo::fw
