// Kernel-facing tests of the nftables and iptables backends. They must run as
// root inside a throw-away network namespace: run_in_netns.sh creates it and
// sets KILO_FW_NETNS; without it every test skips (they flush the namespace's
// whole ruleset, which must never happen on a real host).

#include <gtest/gtest.h>
#include <unistd.h>

#include <cstdlib>
#include <regex>

#include "fakes/firewall/sample_ruleset.h"
#include "firewall/exec.h"
#include "firewall/iptables.h"
#include "firewall/nftables.h"

namespace kilo::fw {
namespace {

using testing::IPIPRuleSet;
using testing::SampleRuleSet;

std::string Sh(const std::string& cmd, int* exit_code = nullptr) {
  SystemCommandRunner r;
  Result<CommandOutput> out = r.Run({"sh", "-c", cmd}, "");
  if (!out.ok()) {
    ADD_FAILURE() << cmd << ": " << out.error();
    return "";
  }
  if (exit_code) {
    *exit_code = out->exit_code;
  } else {
    EXPECT_EQ(out->exit_code, 0) << cmd << ": " << out->err;
  }
  return out->out;
}

// Skips unless we are inside the namespace the wrapper made for us.
bool InTestNetns(std::string* why) {
  const char* ns = std::getenv("KILO_FW_NETNS");
  if (ns == nullptr) {
    *why = "KILO_FW_NETNS unset: run through run_in_netns.sh";
    return false;
  }
  if (geteuid() != 0) {
    *why = "not root";
    return false;
  }
  int rc;
  std::string id = Sh("ip netns identify", &rc);
  while (!id.empty() && id.back() == '\n') id.pop_back();
  if (id != ns) {
    *why = "not inside network namespace " + std::string(ns) + " (identify: '" + id + "')";
    return false;
  }
  return true;
}

class NetnsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string why;
    if (!InTestNetns(&why)) GTEST_SKIP() << "SKIP: " << why;
    Sh("nft flush ruleset");
  }
};

// ---------------------------------------------------------------- nftables

class NftTest : public NetnsTest {
 protected:
  std::unique_ptr<NftablesFirewall> New() {
    Result<std::unique_ptr<LibNftRunner>> r = LibNftRunner::Create();
    EXPECT_TRUE(r.ok()) << r.error();
    return std::make_unique<NftablesFirewall>(std::move(r).value());
  }
  static std::string Listing() { return NormaliseNft(Sh("nft list table inet kilo")); }
};

TEST_F(NftTest, ApplyShowsRulesAndIsIdempotent) {
  auto fw = New();
  RuleSet rs = SampleRuleSet();
  Result<int> r = fw->Apply(rs);
  ASSERT_TRUE(r.ok()) << r.error();
  EXPECT_EQ(*r, 1);
  std::string listing = Listing();
  EXPECT_NE(
      listing.find("ip saddr 10.2.1.0/24 jump KILO-NAT comment \"Kilo: jump to KILO-NAT chain\""),
      std::string::npos)
      << listing;
  EXPECT_NE(listing.find("meta nfproto ipv6 masquerade comment \"Kilo: NAT remaining packets\""),
            std::string::npos);
  // The rendering is what nft lists, line for line.
  EXPECT_EQ(listing, NormaliseNft(RenderNft(rs)));

  EXPECT_EQ(*fw->Apply(rs), 0);
  // A new process (no cached listing) also sees nothing to do.
  EXPECT_EQ(*New()->Apply(rs), 0);
  EXPECT_EQ(NormaliseNft(*fw->Current()), listing);
}

// The IPIP rules of Cilium mode: nft lists them exactly as rendered (protocol
// numbers), so a resync writes nothing, even from a new process.
TEST_F(NftTest, IPIPRulesListAsRenderedAndAreIdempotent) {
  auto fw = New();
  RuleSet rs = IPIPRuleSet();
  Result<int> r = fw->Apply(rs);
  ASSERT_TRUE(r.ok()) << r.error();
  EXPECT_EQ(*r, 1);
  // nft(8) prints the /etc/protocols name ("ip protocol ipencap"); the
  // backend lists numerically.
  EXPECT_EQ(NormaliseNft(*fw->Current()), NormaliseNft(RenderNft(rs)));
  EXPECT_EQ(*fw->Apply(rs), 0);
  EXPECT_EQ(*New()->Apply(rs), 0);
  // Back to a plan without them: the input chain goes.
  ASSERT_EQ(*fw->Apply(SampleRuleSet()), 1);
  EXPECT_EQ(Listing().find("input"), std::string::npos) << Listing();
}

TEST_F(NftTest, ChangedSetReplacesTheTable) {
  auto fw = New();
  ASSERT_EQ(*fw->Apply(SampleRuleSet()), 1);
  RuleSet changed = SampleRuleSet("10.5.0.2/32");
  Result<int> r = fw->Apply(changed);
  ASSERT_TRUE(r.ok()) << r.error();
  EXPECT_EQ(*r, 1);
  EXPECT_EQ(Listing(), NormaliseNft(RenderNft(changed)));
  EXPECT_EQ(Listing().find("10.5.0.1"), std::string::npos);
  EXPECT_EQ(*fw->Apply(changed), 0);
}

// The replace is one transaction: if any part of the batch fails, the kernel
// keeps the old table whole (never an empty or half-built one).
TEST_F(NftTest, FailedReplaceKeepsOldTable) {
  struct Poisoned : NftRunner {
    std::unique_ptr<NftRunner> real;
    Result<std::string> Run(std::string_view cmd) override {
      if (cmd.rfind("list ", 0) == 0) return real->Run(cmd);
      return real->Run(std::string(cmd) + "add rule inet kilo no-such-chain accept\n");
    }
  };
  ASSERT_EQ(*New()->Apply(SampleRuleSet()), 1);
  std::string before = Listing();
  auto poisoned = std::make_unique<Poisoned>();
  poisoned->real = std::move(LibNftRunner::Create()).value();
  NftablesFirewall fw(std::move(poisoned));
  Result<int> r = fw.Apply(SampleRuleSet("10.5.0.2/32"));
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.error().find("apply nftables: replace table inet kilo"), std::string::npos)
      << r.error();
  EXPECT_EQ(Listing(), before);
}

TEST_F(NftTest, ForeignTablesUntouched) {
  Sh("nft add table ip foreign && "
     "nft add chain ip foreign post '{ type nat hook postrouting priority 100; }' && "
     "nft add rule ip foreign post ip saddr 10.99.0.0/16 masquerade && "
     "nft add table inet other && nft add chain inet other fw1 '{ type filter hook forward "
     "priority 0; }' && "
     "nft add rule inet other fw1 ip daddr 10.98.0.0/16 drop");
  std::string foreign = Sh("nft list table ip foreign") + Sh("nft list table inet other");
  auto fw = New();
  ASSERT_EQ(*fw->Apply(SampleRuleSet()), 1);
  ASSERT_EQ(*fw->Apply(SampleRuleSet("10.5.0.3/32")), 1);
  EXPECT_EQ(Sh("nft list table ip foreign") + Sh("nft list table inet other"), foreign);
  ASSERT_TRUE(fw->CleanUp().ok());
  EXPECT_EQ(Sh("nft list table ip foreign") + Sh("nft list table inet other"), foreign);
  int rc;
  Sh("nft list table inet kilo", &rc);
  EXPECT_NE(rc, 0) << "kilo table still present after CleanUp";
  EXPECT_EQ(*fw->Current(), "");
  // CleanUp with nothing to remove is fine.
  EXPECT_TRUE(fw->CleanUp().ok());
}

TEST_F(NftTest, RuleDeletedByHandIsRestored) {
  auto fw = New();
  RuleSet rs = SampleRuleSet();
  ASSERT_EQ(*fw->Apply(rs), 1);
  std::string chain = Sh("nft -a list chain inet kilo KILO-NAT");
  std::smatch m;
  ASSERT_TRUE(std::regex_search(chain, m, std::regex("10\\.96\\.0\\.0/12 .* # handle ([0-9]+)")))
      << chain;
  Sh("nft delete rule inet kilo KILO-NAT handle " + m[1].str());
  EXPECT_EQ(Listing().find("10.96.0.0/12"), std::string::npos);
  EXPECT_EQ(*fw->Apply(rs), 1);
  EXPECT_EQ(Listing(), NormaliseNft(RenderNft(rs)));
  // And a table deleted by hand comes back too.
  Sh("nft delete table inet kilo");
  EXPECT_EQ(*fw->Apply(rs), 1);
  EXPECT_EQ(Listing(), NormaliseNft(RenderNft(rs)));
}

// ---------------------------------------------------------------- iptables

class IptTest : public NetnsTest {
 protected:
  static std::unique_ptr<IptablesFirewall> New() {
    return std::make_unique<IptablesFirewall>(std::make_unique<SystemCommandRunner>());
  }
  static std::string Save(const char* bin, const char* table) {
    return Sh(std::string(bin) + " -t " + table + " | grep -v '^#'");
  }
  static bool Has(const std::string& save, const std::string& line) {
    return ("\n" + save).find("\n" + line + "\n") != std::string::npos;
  }
};

constexpr char kForeignRule[] = "-A POSTROUTING -s 10.99.0.0/16 -j MASQUERADE";

TEST_F(IptTest, ApplyCleanUpAndForeignRules) {
  Sh("iptables -w -t nat -A POSTROUTING -s 10.99.0.0/16 -j MASQUERADE");
  Sh("iptables -w -t nat -N FOREIGN && iptables -w -t nat -A FOREIGN -d 10.98.0.0/16 -j RETURN");
  auto fw = New();
  RuleSet rs = SampleRuleSet();
  Result<int> r = fw->Apply(rs);
  ASSERT_TRUE(r.ok()) << r.error();
  EXPECT_EQ(*r, 2);  // one iptables-restore per family

  std::string nat = Save("iptables-save", "nat");
  for (const std::string& l : RenderIptablesRules(rs, Family::kIPv4, Table::kNat))
    EXPECT_TRUE(Has(nat, l)) << l;
  EXPECT_TRUE(Has(nat, "-A " + IptablesJumpRule("POSTROUTING"))) << nat;
  EXPECT_TRUE(Has(nat, kForeignRule)) << nat;
  EXPECT_TRUE(Has(nat, "-A FOREIGN -d 10.98.0.0/16 -j RETURN")) << nat;
  std::string filter = Save("iptables-save", "filter");
  EXPECT_TRUE(Has(filter, "-A " + IptablesJumpRule("FORWARD"))) << filter;
  for (const std::string& l : RenderIptablesRules(rs, Family::kIPv4, Table::kFilter))
    EXPECT_TRUE(Has(filter, l)) << l;
  std::string nat6 = Save("ip6tables-save", "nat");
  for (const std::string& l : RenderIptablesRules(rs, Family::kIPv6, Table::kNat))
    EXPECT_TRUE(Has(nat6, l)) << l;

  // Idempotent: the saved state equals the rendering, nothing is written.
  EXPECT_EQ(*fw->Apply(rs), 0);
  EXPECT_EQ(*New()->Apply(rs), 0);

  // Changed IPv4 plan: only the IPv4 side is rewritten; KILO chains are
  // flushed and refilled, the jump is not duplicated.
  RuleSet changed = SampleRuleSet("10.5.0.2/32");
  EXPECT_EQ(*fw->Apply(changed), 1);
  nat = Save("iptables-save", "nat");
  EXPECT_EQ(nat.find("10.5.0.1/32"), std::string::npos) << nat;
  EXPECT_NE(nat.find("-A KILO-NAT -d 10.5.0.2/32"), std::string::npos) << nat;
  EXPECT_EQ(nat.find("-j KILO-POSTROUTING"), nat.rfind("-j KILO-POSTROUTING"))
      << "jump duplicated:\n"
      << nat;
  EXPECT_EQ(*fw->Apply(changed), 0);

  ASSERT_TRUE(fw->CleanUp().ok());
  for (const char* bin : {"iptables-save", "ip6tables-save"}) {
    for (const char* t : {"nat", "filter"}) {
      std::string s = Save(bin, t);
      EXPECT_EQ(s.find("KILO"), std::string::npos) << bin << " " << t << ":\n" << s;
    }
  }
  nat = Save("iptables-save", "nat");
  EXPECT_TRUE(Has(nat, kForeignRule)) << nat;
  EXPECT_TRUE(Has(nat, "-A FOREIGN -d 10.98.0.0/16 -j RETURN")) << nat;
  EXPECT_TRUE(fw->CleanUp().ok());
  EXPECT_EQ(*fw->Current(), "");
}

TEST_F(IptTest, HandEditsAreRepaired) {
  auto fw = New();
  RuleSet rs = SampleRuleSet();
  ASSERT_EQ(*fw->Apply(rs), 2);
  Sh("iptables -w -t nat -D KILO-NAT -d 10.96.0.0/12 -m comment "
     "--comment 'Kilo: do not NAT packets destined for service CIDRs' -j RETURN");
  Sh("ip6tables -w -t nat -D POSTROUTING -m comment --comment 'Kilo: jump to KILO-POSTROUTING "
     "chain' "
     "-j KILO-POSTROUTING");
  Sh("iptables -w -t nat -A KILO-NAT -d 10.97.0.0/16 -j RETURN");  // an extra rule in our chain
  EXPECT_EQ(*fw->Apply(rs), 2);
  std::string nat = Save("iptables-save", "nat");
  EXPECT_TRUE(Has(
      nat,
      "-A KILO-NAT -d 10.96.0.0/12 -m comment --comment \"Kilo: do not NAT packets destined for "
      "service CIDRs\" -j RETURN"))
      << nat;
  EXPECT_EQ(nat.find("10.97.0.0/16"), std::string::npos) << nat;
  EXPECT_TRUE(Has(Save("ip6tables-save", "nat"), "-A " + IptablesJumpRule("POSTROUTING")));
  EXPECT_EQ(*fw->Apply(rs), 0);
  ASSERT_TRUE(fw->CleanUp().ok());
}

// The IPIP rules of Cilium mode through iptables: iptables-save prints the
// protocol by name, which still compares equal; the INPUT jump is appended
// after the rules already there and removed with the plan.
TEST_F(IptTest, IPIPRulesAreIdempotentAndRemoved) {
  Sh("iptables -w -A INPUT -i lo -j ACCEPT");
  auto fw = New();
  RuleSet rs = IPIPRuleSet();
  ASSERT_EQ(*fw->Apply(rs), 2);
  std::string filter = Save("iptables-save", "filter");
  EXPECT_NE(filter.find("-A INPUT -i lo -j ACCEPT\n-A " + IptablesJumpRule("INPUT") + "\n"),
            std::string::npos)
      << filter;
  EXPECT_NE(filter.find("-A KILO-IPIP -s 10.2.0.1/32"), std::string::npos) << filter;
  EXPECT_TRUE(Has(Save("ip6tables-save", "filter"), "-A " + IptablesJumpRule("INPUT")));
  EXPECT_EQ(*fw->Apply(rs), 0);
  EXPECT_EQ(*New()->Apply(rs), 0);
  // Without them: jump and chains gone, the foreign INPUT rule kept.
  ASSERT_EQ(*fw->Apply(SampleRuleSet()), 2);
  filter = Save("iptables-save", "filter");
  EXPECT_EQ(filter.find("KILO-INPUT"), std::string::npos) << filter;
  EXPECT_EQ(filter.find("KILO-IPIP"), std::string::npos) << filter;
  EXPECT_TRUE(Has(filter, "-A INPUT -i lo -j ACCEPT")) << filter;
  ASSERT_EQ(*fw->Apply(rs), 2);
  ASSERT_TRUE(fw->CleanUp().ok());
  for (const char* bin : {"iptables-save", "ip6tables-save"}) {
    std::string s = Save(bin, "filter");
    EXPECT_EQ(s.find("KILO"), std::string::npos) << bin << ":\n" << s;
  }
}

// State left by the Go agent (rules straight in POSTROUTING jumping to
// KILO-NAT) is taken over: without this, CleanUp could not delete KILO-NAT.
TEST_F(IptTest, TakesOverGoKiloRules) {
  Sh("iptables -w -t nat -N KILO-NAT && iptables -w -t nat -A KILO-NAT -j MASQUERADE && "
     "iptables -w -t nat -I POSTROUTING -s 10.2.1.0/24 -m comment --comment 'Kilo: jump to "
     "KILO-NAT chain' -j KILO-NAT && "
     "iptables -w -t nat -A POSTROUTING -s 10.99.0.0/16 -j MASQUERADE");
  auto fw = New();
  ASSERT_EQ(*fw->Apply(SampleRuleSet()), 2);
  std::string nat = Save("iptables-save", "nat");
  EXPECT_EQ(nat.find("-A POSTROUTING -s 10.2.1.0/24"), std::string::npos) << nat;
  ASSERT_TRUE(fw->CleanUp().ok());
  nat = Save("iptables-save", "nat");
  EXPECT_EQ(nat.find("KILO"), std::string::npos) << nat;
  EXPECT_TRUE(Has(nat, kForeignRule)) << nat;
}

}  // namespace
}  // namespace kilo::fw
