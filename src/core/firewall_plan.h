#pragma once
// The firewall plan of SPEC section 7, as data (kilo::fw::RuleSet), in the
// order of Kilo's Topology.Rules(). Pure: its text renderings are in
// core/ruleset.h, and applying it is the business of src/firewall.

#include <vector>

#include "core/routes.h"
#include "core/ruleset.h"
#include "core/topology.h"

namespace kilo {

struct FirewallPlanOptions {
  bool cni = true;                      // --cni: NAT pod traffic leaving the node
  bool iptables_forward_rules = false;  // --iptables-forward-rules
  std::vector<IPPrefix> service_cidrs;  // --service-cidr
  // Kilo's encapsulator rules (see IPIPRulesWanted): IPIP is accepted only
  // from the private IPs of the nodes of the host's location, in filter
  // chain KILO-IPIP, and dropped from everywhere else (filter/INPUT). Only
  // when the host has a private IP.
  bool ipip_rules = false;
};

// Whether kg installs the IPIP rules of FirewallPlanOptions::ipip_rules:
// as Kilo, with its IPIP and Cilium encapsulators (not Flannel) when it
// encapsulates and manages --local routes.
bool IPIPRulesWanted(Compatibility c, Encapsulation e, bool local);

fw::RuleSet PlanFirewall(const Topology& t, const FirewallPlanOptions& opts);

}  // namespace kilo
