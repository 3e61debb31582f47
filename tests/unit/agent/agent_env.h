#pragma once
// The shared fixture of the agent's unit tests: an Agent wired to a stateful
// fake of every adapter (tests/fakes), a settable clock, and the fakes'
// recorded state rendered as sorted text. A test file derives its own
// environment from AgentEnv: it fills the fakes and `opts`, then Rebuild().

#include <algorithm>
#include <array>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "agent/agent.h"
#include "agent/metrics.h"
#include "fakes/agent/fake_backend.h"
#include "fakes/agent/fake_fs.h"
#include "fakes/firewall/fake_firewall.h"
#include "fakes/netlink/fake_netlink.h"
#include "fakes/wg/fake_wireguard.h"

namespace kilo::agent::fixture {

// The fixed "now" of the tests (2026-01-01T00:00:00Z).
inline constexpr int64_t kNow = 1767225600;

// Returns a private key derived from `name` and `salt` (one salt per test file
// keeps their keys apart).
inline Key KeyFor(const std::string& name, uint8_t salt) {
  std::array<uint8_t, 32> b{};
  for (size_t i = 0; i < name.size() && i < 32; ++i) b[i] = static_cast<uint8_t>(name[i]);
  b[31] = salt;
  return Key(b);
}

// Returns a Node as kg publishes it (key, endpoint, internal IP, a heartbeat
// 5 s before kNow) in `location`, with pod CIDR `pod`; the key is
// KeyFor(name, salt).
inline NodeObject AnnotatedNode(const std::string& name, const std::string& location,
                                const std::string& internal, const std::string& endpoint,
                                const std::string& pod, uint8_t salt) {
  NodeObject n;
  n.name = name;
  n.labels["topology.kubernetes.io/region"] = location;
  n.pod_cidr = pod;
  n.annotations[kAnnKey] = KeyFor(name, salt).Public().String();
  n.annotations[kAnnEndpoint] = endpoint;
  n.annotations[kAnnInternalIP] = internal;
  n.annotations[kAnnLastSeen] = std::to_string(kNow - 5);
  return n;
}

struct AgentEnv {
  // Wires `deps` to the fakes and the clock; no agent yet (Rebuild()).
  AgentEnv() {
    deps.backend = &backend;
    deps.wg = &wg;
    deps.nl = &nl;
    deps.firewall = &fw;
    deps.fs = &fs;
    deps.metrics = &metrics;
    deps.now = [this] { return now; };
    deps.resolve = [](const std::string&) { return std::optional<IPAddr>(); };
  }
  AgentEnv(const AgentEnv&) = delete;
  AgentEnv& operator=(const AgentEnv&) = delete;

  // A new agent on the same fakes (a restart of kg).
  void Rebuild() { agent = std::make_unique<Agent>(opts, deps); }

  // Returns the routes of the fake netlink, one `route ...` line each, sorted.
  std::string Routes() {
    std::vector<std::string> lines;
    for (const auto& r : nl.routes()) lines.push_back(r.String());
    return Sorted(std::move(lines));
  }
  // Returns the peers of kilo0, one "KEY -> ALLOWED... [@ENDPOINT] ka=N" line
  // each, sorted.
  std::string Peers() {
    std::vector<std::string> lines;
    for (const auto& p : wg.Device("kilo0")->peers) {
      std::string l = p.public_key.String() + " ->";
      for (const auto& a : p.allowed_ips) l += " " + a.String();
      if (p.endpoint) l += " @" + p.endpoint->String();
      l += " ka=" + std::to_string(p.persistent_keepalive);
      lines.push_back(l);
    }
    return Sorted(std::move(lines));
  }
  // Returns the addresses of `link`, one a line, or "<no link>".
  std::string Addresses(const std::string& link) {
    auto l = nl.FindLink(link);
    if (!l.ok() || !l->has_value()) return "<no link>";
    auto addrs = nl.ListAddresses((*l)->index);
    if (!addrs.ok()) return "<" + addrs.error() + ">";
    std::string out;
    for (const auto& a : *addrs) out += a.prefix.String() + "\n";
    return out;
  }

  FakeBackend backend;
  wg::FakeWireGuard wg;
  netlink::FakeNetlink nl;
  fw::FakeFirewall fw;
  FakeFS fs;
  AgentMetrics metrics;
  int64_t now = kNow;
  AgentOptions opts;
  AgentDeps deps;
  std::unique_ptr<Agent> agent;

 private:
  static std::string Sorted(std::vector<std::string> lines) {
    std::sort(lines.begin(), lines.end());
    std::string out;
    for (const auto& l : lines) out += l + "\n";
    return out;
  }
};

}  // namespace kilo::agent::fixture
