#pragma once
// WireGuard endpoints: an IP address or a DNS name, and a UDP port.

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "core/ip.h"

namespace kilo {

// Returns true when `s` is an RFC 1123 subdomain as Kubernetes validates it
// (lower-case alphanumerics and '-', dot-separated labels, at most 253 chars).
bool IsDNS1123Subdomain(std::string_view s);

class Endpoint {
 public:
  Endpoint() = default;
  Endpoint(IPAddr ip, uint16_t port) : ip_(ip), port_(port) {}
  static Endpoint FromDNS(std::string dns, uint16_t port) {
    Endpoint e;
    e.dns_ = std::move(dns);
    e.port_ = port;
    return e;
  }

  // Parses "host:port" like Kilo's wireguard.ParseEndpoint: host is an IPv4
  // address, a bracketed IPv6 address or an RFC 1123 DNS name; port 1-65535.
  // On failure returns nullopt and, if `why` is set, the reason.
  static std::optional<Endpoint> Parse(std::string_view s, std::string* why = nullptr);

  bool has_ip() const { return ip_.valid(); }
  bool has_dns() const { return !dns_.empty(); }
  const IPAddr& ip() const { return ip_; }
  const std::string& dns() const { return dns_; }
  uint16_t port() const { return port_; }
  // Usable: an IP or a DNS name, and a non-zero port.
  bool Ready() const { return (has_ip() || has_dns()) && port_ != 0; }

  // "1.2.3.4:51820", "[2001:db8::1]:51820" or "name:port" (a DNS name wins
  // over a resolved IP, as in Kilo's String()).
  std::string String() const;
  // Returns this endpoint with its DNS name replaced by `ip` (resolution).
  Endpoint Resolved(const IPAddr& ip) const {
    Endpoint e = *this;
    e.ip_ = ip;
    return e;
  }

  friend bool operator==(const Endpoint&, const Endpoint&) = default;

 private:
  IPAddr ip_;
  std::string dns_;
  uint16_t port_ = 0;
};

}  // namespace kilo
