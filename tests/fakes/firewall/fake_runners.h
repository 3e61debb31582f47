#pragma once
// Fakes of the firewall backends' runners, for their unit tests
// (tests/unit/firewall/backend_test.cc): FakeNft stands for libnftables
// (NftRunner), FakeCommands for iptables-save / iptables-restore
// (CommandRunner). Both keep their state in a State the test owns, so a
// test can inspect it, change it between calls, and inject failures.
//
// Usage: link kilo_firewall and add ${CMAKE_SOURCE_DIR}/tests to the include
// path, then #include "fakes/firewall/fake_runners.h".

#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "core/status.h"
#include "firewall/exec.h"
#include "firewall/nftables.h"

namespace kilo::fw::testing {

// Holds one table's listing like the kernel would: a replace script stores its
// definition part; `list` returns it. Every command is recorded.
class FakeNft : public NftRunner {
 public:
  struct State {
    std::string table;  // "" = absent
    std::vector<std::string> commands;
    std::optional<std::string> fail;
  };
  explicit FakeNft(State* s) : s_(s) {}
  Result<std::string> Run(std::string_view cmd) override {
    s_->commands.emplace_back(cmd);
    if (s_->fail) return Result<std::string>::Error(*s_->fail);
    std::string c(cmd);
    if (c == "list tables inet")
      return s_->table.empty() ? std::string("table inet other\n")
                               : "table inet other\ntable inet kilo\n";
    if (c == "list table inet kilo") return s_->table;
    const std::string header = "table inet kilo {}\ndelete table inet kilo\n";
    if (c.rfind(header, 0) == 0) {
      s_->table = c.substr(header.size());
      return std::string();
    }
    return Result<std::string>::Error("unexpected command: " + c);
  }

 private:
  State* s_;
};

// Answers iptables-save from canned text per binary/table and records restores.
class FakeCommands : public CommandRunner {
 public:
  struct State {
    std::map<std::string, std::string> save;                    // "iptables-save nat" -> output
    std::vector<std::pair<std::string, std::string>> restores;  // binary, input
    int restore_exit = 0;
  };
  explicit FakeCommands(State* s) : s_(s) {}
  Result<CommandOutput> Run(const std::vector<std::string>& argv, std::string_view input) override {
    CommandOutput out;
    if (argv[0].ends_with("-save")) {
      out.out = s_->save[argv[0] + " " + argv.at(2)];
    } else {
      s_->restores.emplace_back(argv[0], std::string(input));
      out.exit_code = s_->restore_exit;
      if (out.exit_code) out.err = "iptables-restore: line 3 failed\n";
    }
    return out;
  }

 private:
  State* s_;
};

}  // namespace kilo::fw::testing
