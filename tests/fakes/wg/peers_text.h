#pragma once
// WireGuard peers as sorted text, for tests that compare what a fake device
// holds with what a plan asks for (the agent's HostPlan test and kgctl
// connect's plan test).

#include <algorithm>
#include <string>
#include <vector>

#include "core/wgconf.h"
#include "wg/wireguard.h"

namespace kilo::wg {

// Returns `lines` sorted, one a line.
inline std::string SortedLines(std::vector<std::string> lines) {
  std::sort(lines.begin(), lines.end());
  std::string out;
  for (const auto& l : lines) out += l + "\n";
  return out;
}

// Returns the peers, one "KEY ka=N ep=ENDPOINT|- ALLOWED..." line each (allowed
// IPs as networks, sorted), sorted.
inline std::string PeersText(const std::vector<wg::WgPeerStatus>& peers) {
  std::vector<std::string> lines;
  for (const auto& p : peers) {
    std::vector<std::string> aips;
    for (const auto& a : p.allowed_ips) aips.push_back(a.Network().String());
    std::sort(aips.begin(), aips.end());
    std::string l = p.public_key.String() + " ka=" + std::to_string(p.persistent_keepalive) +
                    " ep=" + (p.endpoint ? p.endpoint->String() : "-");
    for (const auto& a : aips) l += " " + a;
    lines.push_back(l);
  }
  return SortedLines(std::move(lines));
}

// Returns the peers of a planned configuration as PeersText renders a device's.
// DNS endpoints are left unset: the tests' resolvers know no name.
inline std::string PlannedPeersText(const WgConf& c) {
  std::vector<wg::WgPeerStatus> peers;
  for (const auto& p : c.peers) {
    wg::WgPeerStatus s;
    s.public_key = p.public_key;
    s.persistent_keepalive = p.persistent_keepalive;
    if (p.endpoint && p.endpoint->has_ip() && !p.endpoint->has_dns())
      s.endpoint = wg::WgEndpoint{p.endpoint->ip(), p.endpoint->port()};
    s.allowed_ips = p.allowed_ips;
    peers.push_back(s);
  }
  return PeersText(peers);
}

}  // namespace kilo::wg
