#pragma once
// The route and rule plan of SPEC section 6: what kg installs on one host.

#include <optional>
#include <string>
#include <vector>

#include "core/ip.h"
#include "core/topology.h"

namespace kilo {

enum class Encapsulation { kNever, kCrossSubnet, kAlways };
enum class Compatibility { kNone, kFlannel, kCilium };
const char* EncapsulationName(Encapsulation e);
std::optional<Encapsulation> ParseEncapsulation(std::string_view s);
const char* CompatibilityName(Compatibility c);
std::optional<Compatibility> ParseCompatibility(std::string_view s);

inline constexpr int kKiloTable = 1107;

// Which of kg's interfaces a route leaves through.
enum class RouteDev { kKilo, kPriv, kTunl };

struct PlannedRoute {
  IPPrefix dst;
  std::optional<IPAddr> gw;
  std::optional<IPAddr> src;
  RouteDev dev = RouteDev::kKilo;
  int table = 0;  // 0 = main
  bool onlink = false;
  friend bool operator==(const PlannedRoute&, const PlannedRoute&) = default;
};

struct PlannedRule {
  std::optional<IPPrefix> src;
  std::optional<IPPrefix> dst;
  bool iif_kilo = false;  // iif = the WireGuard interface
  int table = kKiloTable;
  friend bool operator==(const PlannedRule&, const PlannedRule&) = default;
};

struct RouteOptions {
  bool local = true;
  Encapsulation encapsulate = Encapsulation::kAlways;
  Compatibility compatibility = Compatibility::kNone;
};

struct RoutePlan {
  // The address kg puts on the tunnel interface (first IP of the pod CIDR),
  // when encapsulating with --local.
  std::optional<IPPrefix> tunnel_address;
  std::vector<PlannedRoute> routes;
  std::vector<PlannedRule> rules;
};

// Computes Kilo's routes and rules for the topology's host, in Kilo's order.
RoutePlan PlanRoutes(const Topology& t, const RouteOptions& opts);

struct DevNames {
  std::string kilo = "kilo0";
  std::string priv = "priv";
  std::string tunl = "tunl";
  const std::string& Of(RouteDev d) const {
    return d == RouteDev::kKilo ? kilo : d == RouteDev::kPriv ? priv : tunl;
  }
};
// `route <dst> [via <gw>] [src <src>] dev <name> [table <n>] [onlink]`
std::string RenderRoute(const PlannedRoute& r, const DevNames& names);
// `rule [from <src>] [to <dst>] [iif <name>] lookup <table>`
std::string RenderRule(const PlannedRule& r, const DevNames& names);
// tunnel-address line (if any), then routes, then rules, each ending in '\n'.
std::string RenderPlan(const RoutePlan& p, const DevNames& names);

}  // namespace kilo
