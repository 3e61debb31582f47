#pragma once
// The firewall plan of SPEC section 7, as data (kilo::fw::RuleSet), in the
// order of Kilo's Topology.Rules(). Pure: rendering and applying it is the
// business of src/firewall.

#include <vector>

#include "core/topology.h"
#include "firewall/ruleset.h"

namespace kilo {

struct FirewallPlanOptions {
  bool cni = true;                      // --cni: NAT pod traffic leaving the node
  bool iptables_forward_rules = false;  // --iptables-forward-rules
  std::vector<IPPrefix> service_cidrs;  // --service-cidr
};

fw::RuleSet PlanFirewall(const Topology& t, const FirewallPlanOptions& opts);

}  // namespace kilo
