#pragma once
// kg's command line: the flags (names, defaults and help as Kilo's kg, plus
// kg's own --key-file, --firewall, --create-interface and --log-format)
// parsed and validated into options, without touching the host.

#include <chrono>
#include <string>
#include <vector>

#include "agent/agent.h"
#include "agent/log.h"
#include "core/ip.h"
#include "core/status.h"
#include "firewall/firewall.h"

namespace kilo::agent {

constexpr const char* kVersion = "0.7.0-cpp";

// Everything `kg` (the agent, not `kg webhook`) is started with.
struct KgOptions {
  AgentOptions agent;  // hostname defaulted; mtu nullopt with --mtu=auto
  bool mtu_auto = true;
  std::vector<IPPrefix> internal_cidrs;  // network form
  LogLevel log_level = LogLevel::kInfo;
  LogFormat log_format = LogFormat::kLogfmt;
  std::string kubeconfig;  // "" = in-cluster or $KUBECONFIG
  std::string master;      // "" = the kubeconfig's server
  std::string listen = ":1107";
  std::chrono::milliseconds resync_period{30000};
  fw::Backend firewall = fw::Backend::kNftables;
  bool leader_failover = false;  // --leader-failover (SPEC 11.1), opt-in
  bool leader_failover_override_pins = false;
};

// What the command line asks for.
struct ParsedFlags {
  enum class Action { kRun, kHelp, kVersion };
  Action action = Action::kRun;
  // kHelp: the usage text, for stdout.
  std::string help;
  // kRun: the validated options.
  KgOptions options;
};

// Parses and validates kg's flags (argv[0] is the program). `hostname` is the
// default of --hostname. --help and --version win over every other flag.
// Errors name the flag, the value given and what to do, e.g.
// `--port must be between 1 and 65535; got 0`; an unknown flag or a missing
// value: CLI11's message with "; run `kg --help` for usage".
Result<ParsedFlags> ParseFlags(int argc, const char* const* argv, const std::string& hostname);

}  // namespace kilo::agent
