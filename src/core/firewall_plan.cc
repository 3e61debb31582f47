#include "core/firewall_plan.h"

namespace kilo {
namespace {

using fw::Family;
using fw::FamilyOf;
using fw::Rule;
using fw::Table;
using fw::Verdict;

const std::string kNat(fw::kNatChain);
const std::string kPost(fw::kPostroutingChain);
const std::string kFwd(fw::kForwardChain);

Rule Make(const IPPrefix& match, bool is_src, Table table, const std::string& chain,
          const char* comment, Verdict v) {
  Rule r;
  r.family = FamilyOf(match);
  r.table = table;
  r.chain = chain;
  if (is_src)
    r.src = match;
  else
    r.dst = match;
  r.comment = comment;
  r.verdict = v;
  if (v == Verdict::kJump) r.target = kNat;
  return r;
}

// Kilo's Encapsulator.Rules for IPIP: the private IPs of the nodes of the
// host's location may send IPIP; other IPIP is dropped. Rules of both
// families, as Kilo's.
void AddIPIPRules(const Topology& t, fw::RuleSet* rs) {
  const std::string ipip = "KILO-IPIP";
  const std::string input(fw::kInputChain);
  rs->AddChain(Family::kIPv4, Table::kFilter, ipip);
  rs->AddChain(Family::kIPv6, Table::kFilter, ipip);
  auto input_rule = [&](Family f, const char* comment, Verdict v) {
    Rule r;
    r.family = f;
    r.table = Table::kFilter;
    r.chain = input;
    r.protocol = fw::kProtoIPIP;
    r.comment = comment;
    r.verdict = v;
    if (v == Verdict::kJump) r.target = ipip;
    return r;
  };
  for (Family f : {Family::kIPv4, Family::kIPv6})
    rs->AddRule(input_rule(f, "Kilo: jump to IPIP chain", Verdict::kJump));
  // The nodes of the location (Kilo: the segment "location:" + the node's
  // location, so none at full granularity, where every node leads its own).
  const Node* self = t.mesh().FindNode(t.hostname());
  if (self && t.mesh().options().granularity == Granularity::kCross) {
    // Cross: the nodes of the location that it reaches over the LAN, itself
    // included (as location granularity's segment includes it).
    const auto& segs = t.mesh().segments();
    const size_t local = static_cast<size_t>(t.local_segment_index());
    for (size_t si = 0; si < segs.size(); ++si) {
      if (si != local && t.mesh().Tunneled(si, local)) continue;
      for (const auto& ip : segs[si].private_ips) {
        rs->AddRule(Make(IPPrefix::Host(ip), true, Table::kFilter, ipip, "Kilo: allow IPIP traffic",
                         Verdict::kAccept));
      }
    }
  } else if (self) {
    const std::string key = "location:" + self->location;
    for (const Segment& s : t.mesh().segments()) {
      if (s.location != key) continue;
      for (const auto& ip : s.private_ips) {
        Rule r = Make(IPPrefix::Host(ip), true, Table::kFilter, ipip, "Kilo: allow IPIP traffic",
                      Verdict::kAccept);
        rs->AddRule(r);
      }
      break;
    }
  }
  for (Family f : {Family::kIPv4, Family::kIPv6})
    rs->AddRule(input_rule(f, "Kilo: reject other IPIP traffic", Verdict::kDrop));
}

// Dual-stack (SPEC 11.3): the host's other pod CIDRs (IPv6) jump to
// KILO-NAT as its pod CIDR does; with --iptables-forward-rules, forwarded as
// the pod CIDR is (a leader: those of its whole segment).
void AddDualStackPodRules(const Topology& t, const FirewallPlanOptions& opts, fw::RuleSet* rs) {
  for (const auto& c : t.extra_subnets())
    rs->AddRule(Make(c, true, Table::kNat, kPost, "Kilo: jump to KILO-NAT chain", Verdict::kJump));
  if (!opts.iptables_forward_rules) return;
  std::vector<IPPrefix> cidrs = t.extra_subnets();
  if (t.leader()) {
    cidrs.clear();
    for (const Node* n : t.local_segment().nodes)
      cidrs.insert(cidrs.end(), n->extra_subnets.begin(), n->extra_subnets.end());
  }
  for (const auto& c : cidrs) {
    rs->AddRule(Make(c, true, Table::kFilter, kFwd, "Kilo: forward packets from the pod subnet",
                     Verdict::kAccept));
    rs->AddRule(Make(c, false, Table::kFilter, kFwd, "Kilo: forward packets to the pod subnet",
                     Verdict::kAccept));
  }
}

}  // namespace

bool IPIPRulesWanted(Compatibility c, Encapsulation e, bool local) {
  // Kilo's IPIP and Cilium encapsulators both install them (0.6 and 0.7);
  // its Flannel encapsulator has no rules (Flannel's VXLAN carries the traffic).
  return c != Compatibility::kFlannel && e != Encapsulation::kNever && local;
}

fw::RuleSet PlanFirewall(const Topology& t, const FirewallPlanOptions& opts) {
  fw::RuleSet rs;
  rs.AddChain(Family::kIPv4, Table::kNat, kNat);
  rs.AddChain(Family::kIPv6, Table::kNat, kNat);
  const auto& segs = t.mesh().segments();
  if (opts.cni && t.subnet()) {
    rs.AddRule(Make(*t.subnet(), true, Table::kNat, kPost, "Kilo: jump to KILO-NAT chain",
                    Verdict::kJump));
    if (opts.iptables_forward_rules && t.leader()) {
      // A leader forwards for its whole location.
      const Segment& s = t.local_segment();
      for (const auto& c : s.cidrs) {
        rs.AddRule(Make(c, true, Table::kFilter, kFwd, "Kilo: forward packets from the pod subnet",
                        Verdict::kAccept));
        rs.AddRule(Make(c, false, Table::kFilter, kFwd, "Kilo: forward packets to the pod subnet",
                        Verdict::kAccept));
      }
      for (const auto& c : s.allowed_location_ips) {
        rs.AddRule(Make(c, true, Table::kFilter, kFwd,
                        "Kilo: forward packets from allowed location IPs", Verdict::kAccept));
        rs.AddRule(Make(c, false, Table::kFilter, kFwd,
                        "Kilo: forward packets to allowed location IPs", Verdict::kAccept));
      }
      for (const auto& ip : s.private_ips) {
        rs.AddRule(Make(IPPrefix::Host(ip), true, Table::kFilter, kFwd,
                        "Kilo: forward packets from private IPs", Verdict::kAccept));
        rs.AddRule(Make(IPPrefix::Host(ip), false, Table::kFilter, kFwd,
                        "Kilo: forward packets to private IPs", Verdict::kAccept));
      }
    } else if (opts.iptables_forward_rules) {
      rs.AddRule(Make(*t.subnet(), true, Table::kFilter, kFwd,
                      "Kilo: forward packets from the node's pod subnet", Verdict::kAccept));
      rs.AddRule(Make(*t.subnet(), false, Table::kFilter, kFwd,
                      "Kilo: forward packets to the node's pod subnet", Verdict::kAccept));
    }
    AddDualStackPodRules(t, opts, &rs);
  }
  for (size_t i = 0; i < segs.size(); ++i) {
    const Segment& s = segs[i];
    rs.AddRule(Make(IPPrefix::Host(s.wireguard_ip), false, Table::kNat, kNat,
                    "Kilo: do not NAT packets destined for WireGuared IPs", Verdict::kReturn));
    for (const auto& aip : s.allowed_ips) {
      rs.AddRule(Make(aip, false, Table::kNat, kNat,
                      "Kilo: do not NAT packets destined for known IPs", Verdict::kReturn));
    }
    // Dual-stack: IPv6 rules only, so the IPv4 ones keep Kilo's order.
    for (const auto& ip : s.dual_stack_ips) {
      rs.AddRule(Make(ip, false, Table::kNat, kNat,
                      "Kilo: do not NAT packets destined for known IPs", Verdict::kReturn));
    }
    if (static_cast<int>(i) == t.local_segment_index()) {
      for (const auto& alip : s.allowed_location_ips) {
        rs.AddRule(
            Make(alip, false, Table::kNat, kPost, "Kilo: jump to NAT chain", Verdict::kJump));
      }
    }
  }
  for (const Peer& p : t.mesh().peers()) {
    for (const auto& aip : p.allowed_ips) {
      rs.AddRule(Make(aip, true, Table::kNat, kPost, "Kilo: jump to NAT chain", Verdict::kJump));
      rs.AddRule(Make(aip, false, Table::kNat, kNat, "Kilo: do not NAT packets destined for peers",
                      Verdict::kReturn));
    }
  }
  for (const auto& s : opts.service_cidrs) {
    rs.AddRule(Make(s, false, Table::kNat, kNat,
                    "Kilo: do not NAT packets destined for service CIDRs", Verdict::kReturn));
  }
  for (Family f : {Family::kIPv4, Family::kIPv6}) {
    Rule r;
    r.family = f;
    r.table = Table::kNat;
    r.chain = kNat;
    r.comment = "Kilo: NAT remaining packets";
    r.verdict = Verdict::kMasquerade;
    rs.AddRule(r);
  }
  if (opts.ipip_rules && t.private_ip()) AddIPIPRules(t, &rs);
  return rs;
}

}  // namespace kilo
