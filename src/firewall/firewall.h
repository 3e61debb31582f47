#pragma once
// The firewall adapter: one RuleSet in, kernel state converged to it.
//
// Implementations: NftablesFirewall (default, libnftables, nftables.h),
// IptablesFirewall (--firewall=iptables, iptables-restore, iptables.h), and a
// stateful fake for tests (tests/fakes/firewall/fake_firewall.h).

#include <memory>
#include <string>

#include "core/ruleset.h"
#include "core/status.h"

namespace kilo::fw {

// Converges the host's firewall to a desired RuleSet, touching only what Kilo
// owns (the `kilo` nft table, or the KILO-* iptables chains and the jumps into
// them). Not thread-safe: the agent calls it from its single reconcile loop.
class Firewall {
 public:
  virtual ~Firewall() = default;

  // Makes the kernel state equal to `desired`. Idempotent: may be called any
  // number of times with the same RuleSet. Returns the number of writes made to
  // the kernel (0 when the current state already equals the desired one, so
  // the periodic resync costs only a read). A rule removed or changed by hand
  // is restored by the next call. On error the previous state is kept where
  // the backend is transactional (nftables: always; iptables: per family and
  // table, as iptables-restore commits per table).
  virtual Result<int> Apply(const RuleSet& desired) = 0;

  // Removes everything Kilo owns and nothing else. OK when there is nothing to
  // remove. Idempotent.
  virtual Status CleanUp() = 0;

  // Returns a text listing of the state Kilo owns (for logs, debugging and
  // tests); "" when nothing is installed.
  virtual Result<std::string> Current() = 0;
};

enum class Backend { kNftables, kIptables };

struct FirewallOptions {
  Backend backend = Backend::kNftables;
  // nftables: name of the inet table.
  std::string nft_table = "kilo";
};

// Parses the --firewall flag value: "nftables" (or "nft") / "iptables".
Result<Backend> ParseBackend(const std::string& s);

// Returns the real backend selected by `opts`. The nftables backend fails here
// when libnftables cannot create a context.
Result<std::unique_ptr<Firewall>> NewFirewall(const FirewallOptions& opts);

}  // namespace kilo::fw
