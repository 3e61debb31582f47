#pragma once
// rtnetlink behind one abstract interface: links, addresses, routes, rules.
//
// NetlinkClient is the raw adapter (one kernel object per call). The
// Converge* free functions take a whole desired state, read the actual state
// through the same interface and write only the difference, so they work
// unchanged over the real RtnlClient (rtnl.h) and the in-memory fake
// (tests/fakes/netlink/fake_netlink.h). Identical state => zero writes.

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "core/ip.h"
#include "core/status.h"

namespace kilo::netlink {

constexpr uint32_t kMainTable = 254;   // RT_TABLE_MAIN
constexpr uint32_t kKiloTable = 1107;  // Kilo's own routing table
constexpr uint8_t kProtoStatic = 4;    // RTPROT_STATIC: what kg marks its routes with
constexpr uint8_t kProtoBoot = 3;      // RTPROT_BOOT: `ip route add` default

struct Link {
  int index = 0;
  std::string name;
  std::string kind;  // IFLA_INFO_KIND: "wireguard", "ipip", "dummy", "bridge", "veth", ""...
  int mtu = 0;
  bool up = false;        // IFF_UP (administrative)
  bool loopback = false;  // IFF_LOOPBACK
};

struct LinkSpec {
  std::string name;
  std::string kind;  // "wireguard", "ipip", "dummy", "bridge"
  int mtu = 0;       // 0: kernel default
};

struct Address {
  int link_index = 0;
  std::string link_name;
  IPPrefix prefix;  // keeps host bits: 10.1.0.7/24
  bool operator==(const Address&) const = default;
};

struct Route {
  IPPrefix dst;  // compared and written as its Network()
  IPAddr gw;     // invalid: no gateway. May be of the other family (RTA_VIA).
  IPAddr src;    // invalid: no preferred source
  int link_index = 0;
  std::string dev;  // filled by List*; Converge* resolves it to link_index
  uint32_t table = kMainTable;
  bool onlink = false;
  uint8_t protocol = kProtoStatic;
  uint8_t scope = 0;  // RT_SCOPE_UNIVERSE
  uint8_t type = 1;   // RTN_UNICAST
  uint32_t metric = 0;

  int family() const { return dst.addr().is6() ? 6 : 4; }
  // "route <dst> [via <gw>] [src <src>] dev <dev> [table <n>] [onlink]" as in
  // golden-sample/*/routes-*.txt; the table is omitted for main.
  std::string String() const;
  // Same kernel object: (family, table, dst network, metric). Routes with the
  // same key replace each other (NLM_F_REPLACE).
  bool SameKey(const Route& o) const;
  // SameKey and every attribute we manage equal (link by index).
  bool Equivalent(const Route& o) const;
};

struct Rule {
  int family = 4;               // 4 or 6
  std::optional<IPPrefix> src;  // FRA_SRC
  std::optional<IPPrefix> dst;  // FRA_DST
  std::string iif;              // FRA_IIFNAME
  uint32_t table = kKiloTable;
  uint32_t priority = 0;  // 0: let the kernel choose; ignored when comparing
  // "rule [from <src>] [to <dst>] [iif <name>] lookup <table>".
  std::string String() const;
  // Equal selectors and table (networks compared masked; priority compared
  // only when both are non-zero).
  bool Equivalent(const Rule& o) const;
};

// Parses the String() forms back (for tests and tools). Errors name the line.
Result<Route> ParseRouteLine(const std::string& line);
Result<Rule> ParseRuleLine(const std::string& line);

class NetlinkClient {
 public:
  virtual ~NetlinkClient() = default;

  // ---- links
  virtual Result<std::vector<Link>> ListLinks() = 0;
  // Returns nullopt when there is no such link.
  virtual Result<std::optional<Link>> FindLink(const std::string& name) = 0;
  virtual Result<std::optional<Link>> FindLinkByIndex(int index) = 0;
  // Creates a link; OK (no write) when a link of that name and kind exists.
  // A missing kernel module is reported with what to do about it.
  virtual Status CreateLink(const LinkSpec& spec) = 0;
  // Deletes a link; OK when it does not exist.
  virtual Status DeleteLink(const std::string& name) = 0;
  virtual Status SetLinkMTU(const std::string& name, int mtu) = 0;
  virtual Status SetLinkUp(const std::string& name, bool up) = 0;

  // ---- addresses
  // Returns the addresses of link `link_index`, or of all links when 0.
  virtual Result<std::vector<Address>> ListAddresses(int link_index = 0) = 0;
  // EEXIST is success: the address is there, which is what was asked.
  virtual Status AddAddress(int link_index, const IPPrefix& p) = 0;
  // EADDRNOTAVAIL (not there) is success.
  virtual Status DeleteAddress(int link_index, const IPPrefix& p) = 0;

  // ---- routes (both families; `table` 0 = every table except local)
  virtual Result<std::vector<Route>> ListRoutes(uint32_t table = 0) = 0;
  // Adds or replaces the route with the same key (NLM_F_CREATE|NLM_F_REPLACE).
  virtual Status ReplaceRoute(const Route& r) = 0;
  // ESRCH / ENOENT (already gone) is success.
  virtual Status DeleteRoute(const Route& r) = 0;

  // ---- rules (both families)
  virtual Result<std::vector<Rule>> ListRules() = 0;
  // EEXIST is success.
  virtual Status AddRule(const Rule& r) = 0;
  // ENOENT is success.
  virtual Status DeleteRule(const Rule& r) = 0;
};

struct ConvergeCounts {
  int added = 0;  // incl. replaced in place
  int removed = 0;
  int writes() const { return added + removed; }
};

// Makes the addresses of `link` exactly `desired` (IPv6 link-local addresses,
// which the kernel adds by itself, are left alone).
Result<ConvergeCounts> ConvergeAddresses(NetlinkClient& nl, const std::string& link,
                                         const std::vector<IPPrefix>& desired);

// Which routes kg owns and may delete: protocol `protocol` AND (table `table`
// OR output device in `interfaces`). Everything else is foreign and untouched.
struct RouteOwnership {
  std::vector<std::string> interfaces;  // e.g. {"kilo0", "tunl0"}
  uint32_t table = kKiloTable;
  uint8_t protocol = kProtoStatic;
  bool Owns(const Route& r) const;
};

// The writes that turn a table's routes into the desired ones. (Not to be
// confused with core's RoutePlan, the routes a host wants.)
struct RouteChanges {
  std::vector<Route> replace;
  std::vector<Route> remove;
};

// Pure: what to write to turn `actual` into `desired` (devs already resolved
// to link indexes on both sides). Desired routes already present (Equivalent)
// are not written; owned routes not desired are removed.
RouteChanges DiffRoutes(const std::vector<Route>& actual, const std::vector<Route>& desired,
                        const RouteOwnership& own);

// Converges kg's routes (desired routes' `dev` is resolved to an index).
Result<ConvergeCounts> ConvergeRoutes(NetlinkClient& nl, const std::vector<Route>& desired,
                                      const RouteOwnership& own);

// Converges the rules that look up `table`; other rules are untouched.
Result<ConvergeCounts> ConvergeRules(NetlinkClient& nl, const std::vector<Rule>& desired,
                                     uint32_t table = kKiloTable);

// Renders routes (sorted? no: in the given order) and rules as text lines.
std::string RenderRoutes(const std::vector<Route>& routes);
std::string RenderRules(const std::vector<Rule>& rules);

}  // namespace kilo::netlink
