// Test driver for netlink.bats: runs kilo::netlink against the kernel of the
// current network namespace.
//
//   kilo_nl_tool converge FILE OWNED_IFACES   route/rule lines from FILE;
//                                             prints "routes added=A removed=R"
//                                             and "rules added=A removed=R"
//   kilo_nl_tool show OWNED_IFACES            kg-owned routes and table-1107 rules
//   kilo_nl_tool link-create NAME KIND
//   kilo_nl_tool addrs NAME CIDR...           converge the link's addresses
//   kilo_nl_tool discover [HOSTNAME_IP...]    internal/external IP and MTU

#include <fstream>
#include <iostream>
#include <sstream>

#include "netlink/discovery.h"
#include "netlink/rtnl.h"

using namespace kilo;
using namespace kilo::netlink;

namespace {

std::vector<std::string> SplitComma(const std::string& s) {
  std::vector<std::string> out;
  std::stringstream ss(s);
  std::string x;
  while (std::getline(ss, x, ','))
    if (!x.empty()) out.push_back(x);
  return out;
}

int Fail(const std::string& msg) {
  std::cerr << msg << "\n";
  return 1;
}

}  // namespace

int main(int argc, char** argv) {
  std::vector<std::string> a(argv + 1, argv + argc);
  auto nl = RtnlClient::Open();
  if (!nl.ok()) return Fail(nl.error());
  NetlinkClient& c = **nl;
  if (a.size() == 3 && a[0] == "converge") {
    std::ifstream in(a[1]);
    if (!in) return Fail("cannot read " + a[1]);
    std::vector<Route> routes;
    std::vector<Rule> rules;
    std::string line;
    while (std::getline(in, line)) {
      if (line.rfind("route ", 0) == 0) {
        auto r = ParseRouteLine(line);
        if (!r.ok()) return Fail(r.error());
        routes.push_back(*r);
      } else if (line.rfind("rule", 0) == 0) {
        auto r = ParseRuleLine(line);
        if (!r.ok()) return Fail(r.error());
        rules.push_back(*r);
      }
    }
    RouteOwnership own{SplitComma(a[2])};
    auto rc = ConvergeRoutes(c, routes, own);
    if (!rc.ok()) return Fail(rc.error());
    std::cout << "routes added=" << rc->added << " removed=" << rc->removed << "\n";
    auto uc = ConvergeRules(c, rules);
    if (!uc.ok()) return Fail(uc.error());
    std::cout << "rules added=" << uc->added << " removed=" << uc->removed << "\n";
    return 0;
  }
  if (a.size() == 2 && a[0] == "show") {
    RouteOwnership own{SplitComma(a[1])};
    auto routes = c.ListRoutes(0);
    if (!routes.ok()) return Fail(routes.error());
    for (const auto& r : *routes)
      if (own.Owns(r)) std::cout << r.String() << "\n";
    auto rules = c.ListRules();
    if (!rules.ok()) return Fail(rules.error());
    for (const auto& r : *rules)
      if (r.table == kKiloTable) std::cout << r.String() << "\n";
    return 0;
  }
  if (a.size() == 3 && a[0] == "link-create") {
    Status s = c.CreateLink({a[1], a[2]});
    if (!s.ok()) return Fail(s.message());
    std::cout << "ok\n";
    return 0;
  }
  if (a.size() >= 2 && a[0] == "addrs") {
    std::vector<IPPrefix> want;
    for (size_t i = 2; i < a.size(); ++i) {
      auto p = IPPrefix::Parse(a[i]);
      if (!p) return Fail("bad cidr " + a[i]);
      want.push_back(*p);
    }
    auto r = ConvergeAddresses(c, a[1], want);
    if (!r.ok()) return Fail(r.error());
    std::cout << "addresses added=" << r->added << " removed=" << r->removed << "\n";
    return 0;
  }
  if (!a.empty() && a[0] == "discover") {
    DiscoveryOptions o;
    for (size_t i = 1; i < a.size(); ++i)
      if (auto ip = IPAddr::Parse(a[i])) o.hostname_ips.push_back(*ip);
    auto addrs = CollectHostAddresses(c);
    if (!addrs.ok()) return Fail(addrs.error());
    auto ips = SelectIPs(*addrs, o);
    if (!ips.ok()) return Fail(ips.error());
    std::cout << "internal " << (ips->internal ? ips->internal->String() : "-") << " "
              << ips->internal_iface << "\n";
    std::cout << "external " << ips->external.String() << " " << ips->external_iface << "\n";
    auto def = DefaultRouteInterface(c);
    auto links = c.ListLinks();
    if (def.ok() && links.ok()) {
      auto mtu = AutoMTU(*links, *def, ips->internal_iface);
      std::cout << "mtu " << (mtu.ok() ? std::to_string(*mtu) : mtu.error()) << "\n";
    }
    return 0;
  }
  return Fail("usage: see the comment at the top of kilo_nl_tool.cc");
}
