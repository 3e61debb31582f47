#pragma once
// The failover's probe (failover.h Prober): one UDP datagram to port
// kProbePort of each target from a connected socket. The target's kernel
// answers with ICMP port unreachable, which the socket reports as
// ECONNREFUSED: a reply that crossed the path both ways, without raw
// sockets (kg has CAP_NET_ADMIN only, no CAP_NET_RAW). Data back (something
// listens there) counts as a reply too.

#include <chrono>

#include "agent/failover.h"

namespace kilo::agent {

inline constexpr int kProbePort = 33434;  // traceroute's first port: nothing listens there

class UdpProber : public Prober {
 public:
  explicit UdpProber(std::chrono::milliseconds timeout = std::chrono::milliseconds(800))
      : timeout_(timeout) {}
  std::map<IPAddr, bool> Probe(const std::vector<IPAddr>& targets) override;

 private:
  std::chrono::milliseconds timeout_;
};

}  // namespace kilo::agent
