#pragma once
// Planned routes and rules (core/routes.h) as the kernel gets them: the one
// conversion that kg and `kgctl connect` both install through.

#include <string>

#include "core/routes.h"
#include "netlink/netlink.h"

namespace kilo::netlink {

// A planned route as it is installed: `names` are the host's interfaces; the
// destination in network form; table 0 is the main table; protocol static; a
// preferred source of the other family is dropped (the kernel refuses it, and
// Kilo would fail the whole route).
Route ToNetlinkRoute(const PlannedRoute& p, const DevNames& names);

// A planned rule as it is installed; `kilo_iface` is the iif of rules that
// match the WireGuard interface. REQUIRES: p.src or p.dst.
Rule ToNetlinkRule(const PlannedRule& p, const std::string& kilo_iface);

}  // namespace kilo::netlink
