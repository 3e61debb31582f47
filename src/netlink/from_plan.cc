#include "netlink/from_plan.h"

namespace kilo::netlink {

Route ToNetlinkRoute(const PlannedRoute& p, const DevNames& names) {
  Route r;
  r.dst = p.dst.Network();
  if (p.gw) r.gw = *p.gw;
  if (p.src && p.src->family() == p.dst.addr().family()) r.src = *p.src;
  r.dev = names.Of(p.dev);
  r.table = p.table ? static_cast<uint32_t>(p.table) : kMainTable;
  r.onlink = p.onlink;
  r.protocol = kProtoStatic;
  return r;
}

Rule ToNetlinkRule(const PlannedRule& p, const std::string& kilo_iface) {
  Rule nr;
  nr.src = p.src;
  nr.dst = p.dst;
  const IPPrefix& any = p.dst ? *p.dst : *p.src;
  nr.family = any.addr().is6() ? 6 : 4;
  if (p.iif_kilo) nr.iif = kilo_iface;
  nr.table = static_cast<uint32_t>(p.table);
  return nr;
}

}  // namespace kilo::netlink
