#pragma once
// A RuleSet shaped like the one Kilo's Rules() builds for a CNI-mode leader
// with --iptables-forward-rules, one IPv6 peer and a service CIDR. Shared by
// the firewall unit and integration tests.

#include <string>

#include "core/ruleset.h"

namespace kilo::fw::testing {

inline IPPrefix P(const char* s) { return *IPPrefix::Parse(s); }

inline Rule MakeRule(Table t, std::string chain, std::optional<IPPrefix> src,
                     std::optional<IPPrefix> dst, std::string comment, Verdict v,
                     std::string target = "", Family f = Family::kIPv4) {
  if (src) f = FamilyOf(*src);
  if (dst) f = FamilyOf(*dst);
  return Rule{f, t, std::move(chain), src, dst, std::move(comment), v, std::move(target)};
}

// `peer` is the extra peer allowed IP, so tests can derive a changed plan.
inline RuleSet SampleRuleSet(const char* peer = "10.5.0.1/32") {
  const std::string nat(kNatChain);
  RuleSet rs;
  rs.AddChain(Family::kIPv4, Table::kNat, nat);
  rs.AddChain(Family::kIPv6, Table::kNat, nat);
  rs.AddRule(MakeRule(Table::kNat, "POSTROUTING", P("10.2.1.0/24"), {},
                      "Kilo: jump to KILO-NAT chain", Verdict::kJump, nat));
  rs.AddRule(MakeRule(Table::kFilter, "FORWARD", P("10.2.1.0/24"), {},
                      "Kilo: forward packets from the pod subnet", Verdict::kAccept));
  rs.AddRule(MakeRule(Table::kFilter, "FORWARD", {}, P("10.2.1.0/24"),
                      "Kilo: forward packets to the pod subnet", Verdict::kAccept));
  rs.AddRule(MakeRule(Table::kNat, nat, {}, P("10.4.0.1/32"),
                      "Kilo: do not NAT packets destined for WireGuared IPs", Verdict::kReturn));
  rs.AddRule(MakeRule(Table::kNat, nat, {}, P("10.2.1.0/24"),
                      "Kilo: do not NAT packets destined for known IPs", Verdict::kReturn));
  // Host bits set on purpose: IPPrefix keeps them, the renderings must not.
  rs.AddRule(MakeRule(Table::kNat, nat, {}, P("10.2.2.7/24"),
                      "Kilo: do not NAT packets destined for known IPs", Verdict::kReturn));
  rs.AddRule(MakeRule(Table::kNat, "POSTROUTING", {}, P("192.168.50.0/24"),
                      "Kilo: jump to NAT chain", Verdict::kJump, nat));
  for (const char* p : {peer, "fd00:5::1/128"}) {
    rs.AddRule(MakeRule(Table::kNat, "POSTROUTING", P(p), {}, "Kilo: jump to NAT chain",
                        Verdict::kJump, nat));
    rs.AddRule(MakeRule(Table::kNat, nat, {}, P(p), "Kilo: do not NAT packets destined for peers",
                        Verdict::kReturn));
  }
  rs.AddRule(MakeRule(Table::kNat, nat, {}, P("10.96.0.0/12"),
                      "Kilo: do not NAT packets destined for service CIDRs", Verdict::kReturn));
  rs.AddRule(MakeRule(Table::kNat, nat, {}, {}, "Kilo: NAT remaining packets", Verdict::kMasquerade,
                      "", Family::kIPv4));
  rs.AddRule(MakeRule(Table::kNat, nat, {}, {}, "Kilo: NAT remaining packets", Verdict::kMasquerade,
                      "", Family::kIPv6));
  return rs;
}

// SampleRuleSet() plus the IPIP rules of --compatibility=cilium (Kilo's
// encapsulator rules): a KILO-IPIP chain per family accepting IPIP from the
// location's nodes (`nodes`, one IPv6), jumped to from INPUT, where other IPIP
// is dropped.
inline RuleSet IPIPRuleSet(std::vector<const char*> nodes = {"10.2.0.1/32", "10.2.0.2/32",
                                                             "fd00:2::3/128"}) {
  RuleSet rs = SampleRuleSet();
  const std::string ipip = "KILO-IPIP";
  rs.AddChain(Family::kIPv4, Table::kFilter, ipip);
  rs.AddChain(Family::kIPv6, Table::kFilter, ipip);
  auto input = [&](Family f, const char* comment, Verdict v) {
    Rule r =
        MakeRule(Table::kFilter, "INPUT", {}, {}, comment, v, v == Verdict::kJump ? ipip : "", f);
    r.protocol = kProtoIPIP;
    return r;
  };
  for (Family f : {Family::kIPv4, Family::kIPv6})
    rs.AddRule(input(f, "Kilo: jump to IPIP chain", Verdict::kJump));
  for (const char* n : nodes)
    rs.AddRule(
        MakeRule(Table::kFilter, ipip, P(n), {}, "Kilo: allow IPIP traffic", Verdict::kAccept));
  for (Family f : {Family::kIPv4, Family::kIPv6})
    rs.AddRule(input(f, "Kilo: reject other IPIP traffic", Verdict::kDrop));
  return rs;
}

}  // namespace kilo::fw::testing
