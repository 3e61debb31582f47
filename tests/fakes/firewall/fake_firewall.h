#pragma once
// A stateful in-memory Firewall for the agent's unit tests. It behaves like a
// real backend (no write when the plan equals the installed one, CleanUp
// empties it) and records what happened, with error injection.
//
// Usage: link kilo_core (core/ruleset.h) and add ${CMAKE_SOURCE_DIR}/tests to the include
// path, then #include "fakes/firewall/fake_firewall.h".

#include <optional>
#include <string>
#include <utility>

#include "core/ruleset.h"
#include "core/status.h"
#include "firewall/firewall.h"

namespace kilo::fw {

// Not thread-safe, like the real backends.
class FakeFirewall : public Firewall {
 public:
  Result<int> Apply(const RuleSet& desired) override {
    ++apply_calls_;
    if (fail_next_apply_) {
      Status s = std::move(*fail_next_apply_);
      fail_next_apply_.reset();
      return s;
    }
    if (Status s = Validate(desired); !s.ok()) return s.Wrap("apply fake");
    if (installed_ && *installed_ == desired) return 0;
    installed_ = desired;
    ++writes_;
    return 1;
  }

  Status CleanUp() override {
    ++cleanups_;
    installed_.reset();
    return Status::Ok();
  }

  // Returns the installed plan rendered as nft text; "" when none.
  Result<std::string> Current() override {
    return installed_ ? RenderNft(*installed_) : std::string();
  }

  // Test hooks.
  void FailNextApply(Status s) { fail_next_apply_ = std::move(s); }
  // Simulates someone changing the firewall behind the agent's back.
  void Tamper() { installed_.reset(); }

  // The plan currently installed; nullopt before the first Apply or after CleanUp.
  const std::optional<RuleSet>& installed() const { return installed_; }
  int writes() const { return writes_; }
  int apply_calls() const { return apply_calls_; }
  int cleanups() const { return cleanups_; }

 private:
  std::optional<RuleSet> installed_;
  std::optional<Status> fail_next_apply_;
  int writes_ = 0;
  int apply_calls_ = 0;
  int cleanups_ = 0;
};

}  // namespace kilo::fw
