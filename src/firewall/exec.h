#pragma once
// Running helper programs (iptables-restore & co.) with stdin fed and
// stdout/stderr captured. An interface so backends can be tested with a fake.

#include <chrono>
#include <string>
#include <string_view>
#include <vector>

#include "core/status.h"

namespace kilo::fw {

struct CommandOutput {
  int exit_code = 0;  // 128+signal when killed by a signal
  std::string out;
  std::string err;
};

class CommandRunner {
 public:
  virtual ~CommandRunner() = default;
  // Runs argv[0] (looked up in PATH) with `input` on stdin. Returns its output
  // whatever its exit code; an error only when it could not be run at all.
  // REQUIRES: !argv.empty().
  virtual Result<CommandOutput> Run(const std::vector<std::string>& argv,
                                    std::string_view input) = 0;
};

// fork/exec implementation. Thread-compatible (no shared state). A child
// still running after `timeout` is killed (SIGKILL) and Run fails saying so.
class SystemCommandRunner : public CommandRunner {
 public:
  explicit SystemCommandRunner(std::chrono::milliseconds timeout = std::chrono::seconds(60))
      : timeout_(timeout) {}
  Result<CommandOutput> Run(const std::vector<std::string>& argv, std::string_view input) override;

 private:
  std::chrono::milliseconds timeout_;
};

}  // namespace kilo::fw
