// Rendering of a RuleSet to nft and iptables-restore text, validation and
// comment sanitising.

#include "core/ruleset.h"

#include <gtest/gtest.h>

#include "fakes/firewall/sample_ruleset.h"

namespace kilo::fw {
namespace {

using testing::IPIPRuleSet;
using testing::MakeRule;
using testing::P;
using testing::SampleRuleSet;

constexpr char kSampleNft[] = R"(table inet kilo {
	chain KILO-NAT {
		ip daddr 10.4.0.1 return comment "Kilo: do not NAT packets destined for WireGuared IPs"
		ip daddr 10.2.1.0/24 return comment "Kilo: do not NAT packets destined for known IPs"
		ip daddr 10.2.2.0/24 return comment "Kilo: do not NAT packets destined for known IPs"
		ip daddr 10.5.0.1 return comment "Kilo: do not NAT packets destined for peers"
		ip6 daddr fd00:5::1 return comment "Kilo: do not NAT packets destined for peers"
		ip daddr 10.96.0.0/12 return comment "Kilo: do not NAT packets destined for service CIDRs"
		meta nfproto ipv4 masquerade comment "Kilo: NAT remaining packets"
		meta nfproto ipv6 masquerade comment "Kilo: NAT remaining packets"
	}

	chain postrouting {
		type nat hook postrouting priority srcnat; policy accept;
		ip saddr 10.2.1.0/24 jump KILO-NAT comment "Kilo: jump to KILO-NAT chain"
		ip daddr 192.168.50.0/24 jump KILO-NAT comment "Kilo: jump to NAT chain"
		ip saddr 10.5.0.1 jump KILO-NAT comment "Kilo: jump to NAT chain"
		ip6 saddr fd00:5::1 jump KILO-NAT comment "Kilo: jump to NAT chain"
	}

	chain forward {
		type filter hook forward priority filter; policy accept;
		ip saddr 10.2.1.0/24 accept comment "Kilo: forward packets from the pod subnet"
		ip daddr 10.2.1.0/24 accept comment "Kilo: forward packets to the pod subnet"
	}
}
)";

constexpr char kSampleIptables4[] = R"(*nat
:KILO-NAT - [0:0]
:KILO-POSTROUTING - [0:0]
-A KILO-POSTROUTING -s 10.2.1.0/24 -m comment --comment "Kilo: jump to KILO-NAT chain" -j KILO-NAT
-A KILO-NAT -d 10.4.0.1/32 -m comment --comment "Kilo: do not NAT packets destined for WireGuared IPs" -j RETURN
-A KILO-NAT -d 10.2.1.0/24 -m comment --comment "Kilo: do not NAT packets destined for known IPs" -j RETURN
-A KILO-NAT -d 10.2.2.0/24 -m comment --comment "Kilo: do not NAT packets destined for known IPs" -j RETURN
-A KILO-POSTROUTING -d 192.168.50.0/24 -m comment --comment "Kilo: jump to NAT chain" -j KILO-NAT
-A KILO-POSTROUTING -s 10.5.0.1/32 -m comment --comment "Kilo: jump to NAT chain" -j KILO-NAT
-A KILO-NAT -d 10.5.0.1/32 -m comment --comment "Kilo: do not NAT packets destined for peers" -j RETURN
-A KILO-NAT -d 10.96.0.0/12 -m comment --comment "Kilo: do not NAT packets destined for service CIDRs" -j RETURN
-A KILO-NAT -m comment --comment "Kilo: NAT remaining packets" -j MASQUERADE
COMMIT
*filter
:KILO-FORWARD - [0:0]
-A KILO-FORWARD -s 10.2.1.0/24 -m comment --comment "Kilo: forward packets from the pod subnet" -j ACCEPT
-A KILO-FORWARD -d 10.2.1.0/24 -m comment --comment "Kilo: forward packets to the pod subnet" -j ACCEPT
COMMIT
)";

constexpr char kSampleIptables6[] = R"(*nat
:KILO-NAT - [0:0]
:KILO-POSTROUTING - [0:0]
-A KILO-POSTROUTING -s fd00:5::1/128 -m comment --comment "Kilo: jump to NAT chain" -j KILO-NAT
-A KILO-NAT -d fd00:5::1/128 -m comment --comment "Kilo: do not NAT packets destined for peers" -j RETURN
-A KILO-NAT -m comment --comment "Kilo: NAT remaining packets" -j MASQUERADE
COMMIT
*filter
:KILO-FORWARD - [0:0]
COMMIT
)";

TEST(RenderNft, Sample) {
  RuleSet rs = SampleRuleSet();
  ASSERT_TRUE(Validate(rs).ok()) << Validate(rs).message();
  EXPECT_EQ(RenderNft(rs), kSampleNft);
}

TEST(RenderNft, TableNameAndEmptyPlan) {
  EXPECT_EQ(RenderNft(RuleSet{}, "t1"),
            "table inet t1 {\n"
            "\tchain postrouting {\n"
            "\t\ttype nat hook postrouting priority srcnat; policy accept;\n"
            "\t}\n\n"
            "\tchain forward {\n"
            "\t\ttype filter hook forward priority filter; policy accept;\n"
            "\t}\n"
            "}\n");
}

TEST(RenderNft, ReplaceIsOneScriptThatCreatesThenDeletes) {
  RuleSet rs = SampleRuleSet();
  EXPECT_EQ(RenderNftReplace(rs),
            std::string("table inet kilo {}\ndelete table inet kilo\n") + kSampleNft);
}

// The IPIP rules (Cilium mode): protocols as numbers, as nft lists them with
// NFT_CTX_OUTPUT_NUMERIC_PROTO; the input base chain only when used.
TEST(RenderNft, IPIPRules) {
  std::string nft = RenderNft(IPIPRuleSet());
  EXPECT_NE(nft.find("\tchain KILO-IPIP {\n"
                     "\t\tip saddr 10.2.0.1 accept comment \"Kilo: allow IPIP traffic\"\n"
                     "\t\tip saddr 10.2.0.2 accept comment \"Kilo: allow IPIP traffic\"\n"
                     "\t\tip6 saddr fd00:2::3 accept comment \"Kilo: allow IPIP traffic\"\n"
                     "\t}\n"),
            std::string::npos)
      << nft;
  EXPECT_TRUE(nft.ends_with(
      "\tchain input {\n"
      "\t\ttype filter hook input priority filter; policy accept;\n"
      "\t\tip protocol 4 jump KILO-IPIP comment \"Kilo: jump to IPIP chain\"\n"
      "\t\tmeta nfproto ipv6 meta l4proto 4 jump KILO-IPIP comment \"Kilo: jump to IPIP chain\"\n"
      "\t\tip protocol 4 drop comment \"Kilo: reject other IPIP traffic\"\n"
      "\t\tmeta nfproto ipv6 meta l4proto 4 drop comment \"Kilo: reject other IPIP traffic\"\n"
      "\t}\n"
      "}\n"))
      << nft;
  // Without INPUT rules the table is as it always was.
  EXPECT_EQ(RenderNft(SampleRuleSet()), kSampleNft);
}

TEST(RenderIptablesRestore, IPIPRules) {
  RuleSet rs = IPIPRuleSet();
  std::string v4 = RenderIptablesRestore(rs, Family::kIPv4);
  EXPECT_NE(
      v4.find("*filter\n"
              ":KILO-IPIP - [0:0]\n"
              ":KILO-FORWARD - [0:0]\n"
              ":KILO-INPUT - [0:0]\n"
              "-A KILO-FORWARD -s 10.2.1.0/24 -m comment --comment \"Kilo: forward packets "
              "from the pod subnet\" -j ACCEPT\n"
              "-A KILO-FORWARD -d 10.2.1.0/24 -m comment --comment \"Kilo: forward packets to "
              "the pod subnet\" -j ACCEPT\n"
              "-A KILO-INPUT -p 4 -m comment --comment \"Kilo: jump to IPIP chain\" -j "
              "KILO-IPIP\n"
              "-A KILO-IPIP -s 10.2.0.1/32 -m comment --comment \"Kilo: allow IPIP traffic\" "
              "-j ACCEPT\n"
              "-A KILO-IPIP -s 10.2.0.2/32 -m comment --comment \"Kilo: allow IPIP traffic\" "
              "-j ACCEPT\n"
              "-A KILO-INPUT -p 4 -m comment --comment \"Kilo: reject other IPIP traffic\" -j "
              "DROP\n"
              "COMMIT\n"),
      std::string::npos)
      << v4;
  std::string v6 = RenderIptablesRestore(rs, Family::kIPv6);
  EXPECT_NE(v6.find("-A KILO-IPIP -s fd00:2::3/128 -m comment --comment \"Kilo: allow IPIP "
                    "traffic\" -j ACCEPT\n"),
            std::string::npos)
      << v6;
  EXPECT_NE(v6.find("-A KILO-INPUT -p 4 -m comment --comment \"Kilo: reject other IPIP traffic\" "
                    "-j DROP\n"),
            std::string::npos)
      << v6;
  EXPECT_EQ(IptablesBuiltins(rs, Family::kIPv4, Table::kFilter),
            (std::vector<std::string>{"FORWARD", "INPUT"}));
  EXPECT_EQ(IptablesBuiltins(SampleRuleSet(), Family::kIPv4, Table::kFilter),
            (std::vector<std::string>{"FORWARD"}));
  EXPECT_EQ(IptablesBuiltins(rs, Family::kIPv4, Table::kNat),
            (std::vector<std::string>{"POSTROUTING"}));
  // A missing INPUT jump is appended (Kilo appends to INPUT), the others
  // inserted at the top.
  IptablesRestoreExtras ex;
  ex.insert_jumps = {"POSTROUTING", "FORWARD", "INPUT"};
  std::string with_jumps = RenderIptablesRestore(rs, Family::kIPv4, ex);
  EXPECT_NE(with_jumps.find("-I FORWARD -m comment --comment \"Kilo: jump to KILO-FORWARD chain\" "
                            "-j KILO-FORWARD\n"
                            "-A INPUT -m comment --comment \"Kilo: jump to KILO-INPUT chain\" -j "
                            "KILO-INPUT\n"
                            "COMMIT\n"),
            std::string::npos)
      << with_jumps;
}

TEST(NormaliseNft, DropsIndentAndBlankLines) {
  EXPECT_EQ(NormaliseNft("table inet kilo {\n\tchain a {\n\t}\n\n  \n}\n"),
            "table inet kilo {\nchain a {\n}\n}");
}

TEST(RenderIptablesRestore, SplitsFamilies) {
  RuleSet rs = SampleRuleSet();
  EXPECT_EQ(RenderIptablesRestore(rs, Family::kIPv4), kSampleIptables4);
  EXPECT_EQ(RenderIptablesRestore(rs, Family::kIPv6), kSampleIptables6);
}

TEST(RenderIptablesRestore, Extras) {
  RuleSet rs;
  rs.AddChain(Family::kIPv4, Table::kNat, "KILO-NAT");
  IptablesRestoreExtras ex;
  ex.insert_jumps = {"POSTROUTING", "FORWARD"};
  ex.delete_rules = {
      {Table::kNat, "POSTROUTING -s 10.0.0.0/8 -m comment --comment \"Kilo: old\" -j KILO-NAT"}};
  ex.delete_chains = {{Table::kFilter, "KILO-OLD"}};
  EXPECT_EQ(RenderIptablesRestore(rs, Family::kIPv4, ex),
            "*nat\n"
            ":KILO-NAT - [0:0]\n"
            ":KILO-POSTROUTING - [0:0]\n"
            "-D POSTROUTING -s 10.0.0.0/8 -m comment --comment \"Kilo: old\" -j KILO-NAT\n"
            "-I POSTROUTING -m comment --comment \"Kilo: jump to KILO-POSTROUTING chain\" -j "
            "KILO-POSTROUTING\n"
            "COMMIT\n"
            "*filter\n"
            ":KILO-FORWARD - [0:0]\n"
            ":KILO-OLD - [0:0]\n"
            "-I FORWARD -m comment --comment \"Kilo: jump to KILO-FORWARD chain\" -j KILO-FORWARD\n"
            "-X KILO-OLD\n"
            "COMMIT\n");
}

struct CommentCase {
  const char* name;
  std::string in;
  std::string sanitized;
  std::string nft_suffix;  // end of the nft rule line
  std::string ipt_suffix;  // end of the iptables rule line
};

TEST(Comments, QuotingTable) {
  const std::string long_in(200, 'x');
  const std::string long_out(kMaxCommentLen, 'x');
  const CommentCase cases[] = {
      {"plain", "Kilo: NAT remaining packets", "Kilo: NAT remaining packets",
       "return comment \"Kilo: NAT remaining packets\"",
       "-m comment --comment \"Kilo: NAT remaining packets\" -j RETURN"},
      // iptables-save leaves a word of [A-Za-z0-9_-] unquoted; so must we.
      {"bare_word", "kilo_nat-1", "kilo_nat-1", "return comment \"kilo_nat-1\"",
       "-m comment --comment kilo_nat-1 -j RETURN"},
      {"quotes_and_backslash", "say \"hi\" it's a\\b", "say _hi_ it_s a_b",
       "return comment \"say _hi_ it_s a_b\"",
       "-m comment --comment \"say _hi_ it_s a_b\" -j RETURN"},
      {"control_chars", "a\nb\tc", "a b c", "return comment \"a b c\"",
       "-m comment --comment \"a b c\" -j RETURN"},
      {"too_long", long_in, long_out, "return comment \"" + long_out + "\"",
       "-m comment --comment " + long_out + " -j RETURN"},
      {"empty", "", "", "ip daddr 10.0.0.0/8 return", "-A KILO-NAT -d 10.0.0.0/8 -j RETURN"},
  };
  for (const CommentCase& c : cases) {
    SCOPED_TRACE(c.name);
    EXPECT_EQ(SanitizeComment(c.in), c.sanitized);
    RuleSet rs;
    rs.AddChain(Family::kIPv4, Table::kNat, "KILO-NAT");
    rs.AddRule(MakeRule(Table::kNat, "KILO-NAT", {}, P("10.0.0.0/8"), c.in, Verdict::kReturn));
    ASSERT_TRUE(Validate(rs).ok());
    std::string nft = RenderNft(rs);
    std::string line = nft.substr(nft.find("\t\tip daddr") + 2);
    line = line.substr(0, line.find('\n'));
    EXPECT_TRUE(line.ends_with(c.nft_suffix)) << line;
    std::vector<std::string> ipt = RenderIptablesRules(rs, Family::kIPv4, Table::kNat);
    ASSERT_EQ(ipt.size(), 1u);
    EXPECT_TRUE(ipt[0].ends_with(c.ipt_suffix)) << ipt[0];
  }
}

TEST(Validate, Table) {
  struct Case {
    const char* name;
    RuleSet rs;
    const char* error_substr;  // nullptr: valid
  };
  auto with_nat = [](std::vector<Rule> rules) {
    RuleSet rs;
    rs.AddChain(Family::kIPv4, Table::kNat, "KILO-NAT");
    for (Rule& r : rules) rs.AddRule(std::move(r));
    return rs;
  };
  RuleSet unprefixed;
  unprefixed.AddChain(Family::kIPv4, Table::kNat, "NAT");
  RuleSet dup = with_nat({});
  dup.AddChain(Family::kIPv4, Table::kNat, "KILO-NAT");
  RuleSet both_tables = with_nat({});
  both_tables.AddChain(Family::kIPv4, Table::kFilter, "KILO-NAT");
  Rule mixed = MakeRule(Table::kNat, "KILO-NAT", P("10.0.0.0/8"), {}, "", Verdict::kReturn);
  mixed.dst = P("fd00::/64");
  Rule masq_filter = MakeRule(Table::kFilter, "FORWARD", {}, {}, "", Verdict::kMasquerade);
  Rule drop_nat = MakeRule(Table::kNat, "POSTROUTING", {}, {}, "", Verdict::kDrop);
  const Case cases[] = {
      {"sample", SampleRuleSet(), nullptr},
      {"empty", RuleSet{}, nullptr},
      {"unprefixed_chain", unprefixed, "must start with KILO-"},
      {"reserved_chain",
       [] {
         RuleSet r;
         r.AddChain(Family::kIPv4, Table::kNat, "KILO-POSTROUTING");
         return r;
       }(),
       "reserved"},
      {"duplicate_chain", dup, "declared twice"},
      {"chain_in_two_tables", both_tables, "both nat and filter"},
      {"undeclared_chain",
       with_nat({MakeRule(Table::kNat, "KILO-X", {}, {}, "", Verdict::kReturn)}),
       "neither built-in"},
      {"forward_in_nat", with_nat({MakeRule(Table::kNat, "FORWARD", {}, {}, "", Verdict::kAccept)}),
       "neither built-in"},
      {"v6_chain_undeclared",
       with_nat({MakeRule(Table::kNat, "KILO-NAT", {}, P("fd00::/64"), "", Verdict::kReturn)}),
       "neither built-in"},
      {"mixed_families", with_nat({mixed}), "family differs"},
      {"missing_jump_target",
       with_nat({MakeRule(Table::kNat, "POSTROUTING", {}, {}, "", Verdict::kJump, "KILO-Y")}),
       "jump target KILO-Y"},
      {"target_on_return",
       with_nat({MakeRule(Table::kNat, "KILO-NAT", {}, {}, "", Verdict::kReturn, "KILO-NAT")}),
       "non-jump"},
      {"masquerade_in_filter", with_nat({masq_filter}), "MASQUERADE outside nat"},
      {"ipip", IPIPRuleSet(), nullptr},
      {"drop_in_nat", with_nat({drop_nat}), "DROP outside filter"},
      {"input_in_nat", with_nat({MakeRule(Table::kNat, "INPUT", {}, {}, "", Verdict::kAccept)}),
       "neither built-in"},
      {"reserved_input_chain",
       [] {
         RuleSet r;
         r.AddChain(Family::kIPv4, Table::kFilter, "KILO-INPUT");
         return r;
       }(),
       "reserved"},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.name);
    Status s = Validate(c.rs);
    if (c.error_substr == nullptr) {
      EXPECT_TRUE(s.ok()) << s.message();
    } else {
      EXPECT_FALSE(s.ok());
      EXPECT_NE(s.message().find(c.error_substr), std::string::npos) << s.message();
    }
  }
}

TEST(IptablesJumpRule, Form) {
  EXPECT_EQ(IptablesJumpRule("POSTROUTING"),
            "POSTROUTING -m comment --comment \"Kilo: jump to KILO-POSTROUTING chain\" -j "
            "KILO-POSTROUTING");
  EXPECT_EQ(IptablesJumpRule("FORWARD"),
            "FORWARD -m comment --comment \"Kilo: jump to KILO-FORWARD chain\" -j KILO-FORWARD");
  EXPECT_EQ(IptablesJumpRule("INPUT"),
            "INPUT -m comment --comment \"Kilo: jump to KILO-INPUT chain\" -j KILO-INPUT");
}

}  // namespace
}  // namespace kilo::fw
