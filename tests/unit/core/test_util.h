#pragma once
// Small builders shared by the core unit tests.

#include <gtest/gtest.h>

#include <array>
#include <string>
#include <vector>

#include "core/endpoint.h"
#include "core/ip.h"
#include "core/key.h"
#include "core/model.h"
#include "core/objects.h"

namespace kilo::testutil {

// Parses or fails the test.
inline IPAddr A(const std::string& s) {
  auto a = IPAddr::Parse(s);
  EXPECT_TRUE(a.has_value()) << "bad test address " << s;
  return a.value_or(IPAddr());
}
inline IPPrefix P(const std::string& s) {
  auto p = IPPrefix::Parse(s);
  EXPECT_TRUE(p.has_value()) << "bad test prefix " << s;
  return p.value_or(IPPrefix());
}
inline Endpoint E(const std::string& s) {
  auto e = Endpoint::Parse(s);
  EXPECT_TRUE(e.has_value()) << "bad test endpoint " << s;
  return e.value_or(Endpoint());
}
// A distinct non-zero key per seed.
inline Key K(uint8_t seed) {
  std::array<uint8_t, Key::kLen> b{};
  for (size_t i = 0; i < b.size(); ++i) b[i] = static_cast<uint8_t>(seed + i);
  return Key(b);
}

inline constexpr int64_t kNow = 1767225600;

// A ready node. `internal` "" = no private IP.
inline Node N(const std::string& name, const std::string& location, const std::string& endpoint,
              const std::string& internal, const std::string& pod, uint8_t key_seed,
              bool leader = false) {
  Node n;
  n.name = name;
  n.location = location;
  if (!endpoint.empty()) n.endpoint = E(endpoint);
  if (!internal.empty()) n.internal_ip = P(internal);
  n.subnet = P(pod).Network();
  n.key = K(key_seed);
  n.last_seen = kNow - 10;
  n.leader = leader;
  return n;
}

inline Peer MakePeer(const std::string& name, std::vector<std::string> aips, uint8_t key_seed,
                     const std::string& endpoint = "", int keepalive = 0) {
  Peer p;
  p.name = name;
  for (const auto& a : aips) p.allowed_ips.push_back(P(a));
  p.public_key = K(key_seed);
  if (!endpoint.empty()) p.endpoint = E(endpoint);
  p.persistent_keepalive = keepalive;
  return p;
}

inline std::string Join(const std::vector<IPPrefix>& v) {
  std::string out;
  for (const auto& p : v) out += (out.empty() ? "" : ",") + p.String();
  return out;
}

}  // namespace kilo::testutil
