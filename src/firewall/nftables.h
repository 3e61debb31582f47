#pragma once
// nftables backend: the whole plan lives in one `table inet kilo`, replaced
// atomically in a single netlink transaction whenever it differs.

#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "core/ruleset.h"
#include "core/status.h"
#include "firewall/firewall.h"

// libnftables' context, kept opaque so this header does not pull in
// libnftables for its includers.
struct nft_ctx;

namespace kilo::fw {

// Runs an nft command script; an interface so the backend can be unit-tested
// without the kernel.
class NftRunner {
 public:
  virtual ~NftRunner() = default;
  // Runs `commands` (nft -f syntax) as one batch: all of it commits or none.
  // Returns what nft printed (e.g. a listing); on failure an error carrying
  // nft's error text.
  virtual Result<std::string> Run(std::string_view commands) = 0;
};

// NftRunner over libnftables, a new nft_ctx for each Run: a context keeps the
// ruleset cache of its last command (about 1.1 MB of heap for a node's tables,
// most of it hash buckets), which kg would hold between reconciles for nothing
// (issue 18); a fresh one costs about 0.15 ms. Thread-compatible.
class LibNftRunner : public NftRunner {
 public:
  // Returns an error when libnftables cannot allocate a context.
  static Result<std::unique_ptr<LibNftRunner>> Create();

  Result<std::string> Run(std::string_view commands) override;

 private:
  LibNftRunner() = default;
};

// Firewall on nftables. Owns `table inet <table>` exclusively and never reads
// or writes any other table. Not thread-safe.
//
// Apply() compares the normalised `nft list table` output with the normalised
// rendering of the plan and writes nothing when they are equal. Because nft's
// listing format may differ between nft versions, it also remembers the
// listing it read back after its own last write: if the plan is unchanged and
// the table still lists exactly like that, nothing is written either. A table
// changed by hand lists differently and is therefore rewritten.
class NftablesFirewall : public Firewall {
 public:
  explicit NftablesFirewall(std::unique_ptr<NftRunner> runner, std::string table = "kilo");

  Result<int> Apply(const RuleSet& desired) override;
  Status CleanUp() override;
  Result<std::string> Current() override;

 private:
  std::unique_ptr<NftRunner> runner_;
  std::string table_;
  // Plan and normalised listing after our last successful write.
  std::optional<RuleSet> last_desired_;
  std::string last_listing_;
};

}  // namespace kilo::fw
