#include "agent/probe.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cstring>

namespace kilo::agent {

std::map<IPAddr, bool> UdpProber::Probe(const std::vector<IPAddr>& targets) {
  std::map<IPAddr, bool> out;
  std::vector<pollfd> fds;
  std::vector<IPAddr> which;
  for (const IPAddr& a : targets) {
    out[a] = false;
    sockaddr_storage ss{};
    socklen_t len = 0;
    const uint8_t* bytes = a.data();
    if (a.is4()) {
      auto* sin = reinterpret_cast<sockaddr_in*>(&ss);
      sin->sin_family = AF_INET;
      sin->sin_port = htons(kProbePort);
      std::memcpy(&sin->sin_addr, bytes, 4);
      len = sizeof *sin;
    } else {
      auto* sin6 = reinterpret_cast<sockaddr_in6*>(&ss);
      sin6->sin6_family = AF_INET6;
      sin6->sin6_port = htons(kProbePort);
      std::memcpy(&sin6->sin6_addr, bytes, 16);
      len = sizeof *sin6;
    }
    int fd = ::socket(ss.ss_family, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0) continue;
    char b = 'k';
    if (::connect(fd, reinterpret_cast<sockaddr*>(&ss), len) != 0 || ::send(fd, &b, 1, 0) != 1) {
      ::close(fd);  // no route: lost
      continue;
    }
    fds.push_back({fd, POLLIN, 0});
    which.push_back(a);
  }
  auto deadline = std::chrono::steady_clock::now() + timeout_;
  size_t pending = fds.size();
  while (pending > 0) {
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
        deadline - std::chrono::steady_clock::now());
    if (left.count() <= 0) break;
    int n = ::poll(fds.data(), fds.size(), static_cast<int>(left.count()));
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;
    for (size_t i = 0; i < fds.size(); ++i) {
      if (fds[i].fd < 0 || !fds[i].revents) continue;
      char buf[64];
      ssize_t got = ::recv(fds[i].fd, buf, sizeof buf, 0);
      // ECONNREFUSED: the ICMP port unreachable came back. Other errors
      // (host/net unreachable from a router on the way) mean the path is
      // broken.
      out[which[i]] = got >= 0 || errno == ECONNREFUSED;
      ::close(fds[i].fd);
      fds[i].fd = -1;
      --pending;
    }
  }
  for (auto& p : fds)
    if (p.fd >= 0) ::close(p.fd);
  return out;
}

}  // namespace kilo::agent
