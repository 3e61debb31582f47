#include "firewall/firewall.h"

#include "firewall/exec.h"
#include "firewall/iptables.h"
#include "firewall/nftables.h"

namespace kilo::fw {

Result<Backend> ParseBackend(const std::string& s) {
  if (s == "nftables" || s == "nft") return Backend::kNftables;
  if (s == "iptables") return Backend::kIptables;
  return Result<Backend>::Error("unknown firewall backend \"" + s +
                                "\" (want nftables or iptables)");
}

Result<std::unique_ptr<Firewall>> NewFirewall(const FirewallOptions& opts) {
  if (opts.backend == Backend::kIptables) {
    return std::unique_ptr<Firewall>(
        std::make_unique<IptablesFirewall>(std::make_unique<SystemCommandRunner>()));
  }
  Result<std::unique_ptr<LibNftRunner>> runner = LibNftRunner::Create();
  if (!runner.ok()) return runner.status();
  return std::unique_ptr<Firewall>(
      std::make_unique<NftablesFirewall>(std::move(runner).value(), opts.nft_table));
}

}  // namespace kilo::fw
