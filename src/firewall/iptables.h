#pragma once
// iptables backend (--firewall=iptables): converges the KILO-* chains with
// iptables-restore --noflush, one call per family when something differs.
//
// Owned state, per family (iptables and ip6tables):
//   nat:    KILO-POSTROUTING (jumped to from POSTROUTING), the plan's nat
//           chains (KILO-NAT);
//   filter: KILO-FORWARD (jumped to from FORWARD), the plan's filter chains,
//           and KILO-INPUT (jumped to from INPUT) when the plan has INPUT
//           rules (the IPIP rules of --compatibility=cilium);
//   plus the single jump rule at the top of POSTROUTING and of FORWARD (at the
//   end of INPUT), with the comment "Kilo: jump to KILO-POSTROUTING chain" /
//   "... KILO-FORWARD ..." / "... KILO-INPUT ...".
// Also treated as Kilo's (and removed): rules in POSTROUTING/FORWARD/INPUT
// whose comment starts with "Kilo: " (placed there directly by the Go Kilo
// agent, which this replaces), duplicates of the jumps, jumps the plan no
// longer uses, and KILO-* chains that are no longer in the plan. Nothing else
// is read for decisions or written.

#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "core/ruleset.h"
#include "core/status.h"
#include "firewall/exec.h"
#include "firewall/firewall.h"

namespace kilo::fw {

struct IptablesOptions {
  std::string iptables_save = "iptables-save";
  std::string iptables_restore = "iptables-restore";
  std::string ip6tables_save = "ip6tables-save";
  std::string ip6tables_restore = "ip6tables-restore";
  // Manage ip6tables too. Turn off on hosts without IPv6 netfilter; IPv6 rules
  // in the plan are then ignored.
  bool ipv6 = true;
};

// Firewall on iptables-restore. Not thread-safe. The kernel state is read with
// iptables-save before each Apply and compared with the rendering of the plan
// (RenderIptablesRules produces iptables-save's canonical form), so an
// unchanged plan costs two reads per family and no write.
class IptablesFirewall : public Firewall {
 public:
  explicit IptablesFirewall(std::unique_ptr<CommandRunner> runner, IptablesOptions opts = {});

  // Returns the number of iptables-restore runs (0, 1 or 2: one per family).
  Result<int> Apply(const RuleSet& desired) override;
  // Removes the jumps, the legacy Kilo rules in POSTROUTING/FORWARD/INPUT and all
  // KILO-* chains of the nat and filter tables, in both families.
  Status CleanUp() override;
  // The Kilo-owned lines of iptables-save, per family and table.
  Result<std::string> Current() override;

  // The Kilo-owned part of one table's iptables-save output.
  struct Owned {
    std::vector<std::string> chains;  // KILO-* chain names, save order
    // "-A KILO-..." lines, save order; a protocol name as its number.
    std::vector<std::string> rules;
    std::vector<std::string> jumps;   // our jump lines in the built-in chains
    std::vector<std::string> legacy;  // other "Kilo: " lines in POSTROUTING/FORWARD/INPUT
    bool empty() const { return chains.empty() && jumps.empty() && legacy.empty(); }
  };
  // Parses iptables-save output of `table`. Exposed for tests.
  static Owned ParseSave(const std::string& save, Table table);

 private:
  Result<Owned> Read(Family f, Table t);
  Result<int> ApplyFamily(const RuleSet& desired, Family f);
  Status Restore(Family f, const std::string& input);

  std::unique_ptr<CommandRunner> runner_;
  IptablesOptions opts_;
};

}  // namespace kilo::fw
