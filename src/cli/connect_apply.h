#pragma once
// Installs a `kgctl connect` plan (connect_plan.h) on the host through the
// WireGuard and rtnetlink adapters (real ones in the connector, the stateful
// fakes of tests/fakes in the unit tests). Converges: an identical plan makes
// zero writes.

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "cli/connect_plan.h"
#include "netlink/netlink.h"
#include "wg/from_plan.h"
#include "wg/wireguard.h"

namespace kilo::cli {

struct ConnectApplyDeps {
  netlink::NetlinkClient* nl = nullptr;  // must outlive the applier
  wg::WireGuardClient* wg = nullptr;     // must outlive the applier
  wg::DnsLookup lookup;                  // DNS endpoints; may be empty
};

struct ConnectApplyOptions {
  std::string iface = "kilo0";
  int mtu = 1420;
  Key private_key;  // never logged
  // Whether the connector created the interface: its addresses are then
  // exactly the plan's; otherwise the plan's address is only added.
  bool own_link = true;
};

// What one Apply did. `errors` are "<step>: <message>" (steps wireguard,
// interface, routes); each step runs even when an earlier one failed.
struct ConnectApplyReport {
  int wg_writes = 0;
  size_t wg_peers = 0;
  int addr_writes = 0;
  int routes_added = 0;
  int routes_removed = 0;
  std::vector<std::string> errors;
};

class ConnectApplier {
 public:
  ConnectApplier(ConnectApplyDeps deps, ConnectApplyOptions opts)
      : deps_(std::move(deps)), opts_(std::move(opts)) {}

  // Installs `st.plan`: the WireGuard device (private key, listen port and
  // peers; a NATed remote's endpoint learned from a handshake within 180 s is
  // kept), the interface (up, MTU, address) and the routes. `now` is in Unix
  // seconds.
  ConnectApplyReport Apply(const ConnectState& st, int64_t now);

  // Removes the routes Apply installed (static routes on the interface).
  Result<netlink::ConvergeCounts> RemoveRoutes();

  // The routes the connector owns: static routes on its interface only; table
  // 0 is never a real table, so no table is owned wholesale (a kg on the same
  // host keeps table 1107).
  netlink::RouteOwnership Ownership() const;

  // Puts the plan's address on the interface (see own_link).
  Status ConvergeAddress(const IPPrefix& address);

 private:
  void ApplyWireGuard(const ConnectState& st, int64_t now, ConnectApplyReport* r);
  void ApplyInterface(const HostPlan& plan, ConnectApplyReport* r);
  void ApplyRoutes(const HostPlan& plan, ConnectApplyReport* r);

  ConnectApplyDeps deps_;
  ConnectApplyOptions opts_;
};

}  // namespace kilo::cli
