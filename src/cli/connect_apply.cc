#include "cli/connect_apply.h"

#include "netlink/from_plan.h"

namespace kilo::cli {

ConnectApplyReport ConnectApplier::Apply(const ConnectState& st, int64_t now) {
  ConnectApplyReport r;
  ApplyWireGuard(st, now, &r);
  ApplyInterface(st.plan, &r);
  ApplyRoutes(st.plan, &r);
  return r;
}

void ConnectApplier::ApplyWireGuard(const ConnectState& st, int64_t now, ConnectApplyReport* r) {
  auto cur = deps_.wg->Get(opts_.iface);
  std::map<Key, int> natted(st.natted.begin(), st.natted.end());
  wg::WgDeviceConfig dev;
  dev.private_key = opts_.private_key;
  dev.listen_port = st.plan.wireguard.listen_port;
  for (const auto& p : st.plan.wireguard.peers) {
    wg::WgPeerConfig pc = wg::PeerConfigFromPlan(p, deps_.lookup);
    // A remote behind NAT (non-zero keepalive) reaches us from whatever
    // address its NAT gives it; keep the endpoint WireGuard learned from a
    // recent handshake instead of resetting it to the declared one.
    auto it = natted.find(p.public_key);
    if (cur.ok() && it != natted.end() && it->second > 0) {
      for (const auto& dp : cur->peers)
        if (dp.public_key == p.public_key && dp.endpoint && dp.last_handshake_unix > 0 &&
            now - dp.last_handshake_unix < 180)
          pc.endpoint = std::nullopt;
    }
    dev.peers.push_back(std::move(pc));
  }
  r->wg_peers = dev.peers.size();
  if (auto w = deps_.wg->Apply(opts_.iface, dev); !w.ok()) {
    r->errors.push_back("wireguard: " + w.error());
  } else {
    r->wg_writes = *w;
  }
}

void ConnectApplier::ApplyInterface(const HostPlan& plan, ConnectApplyReport* r) {
  // Someone may have reset it.
  if (auto link = deps_.nl->FindLink(opts_.iface); link.ok() && link->has_value()) {
    if (!(*link)->up) {
      if (auto s = deps_.nl->SetLinkUp(opts_.iface, true); s.ok()) ++r->addr_writes;
    }
    if ((*link)->mtu != opts_.mtu) {
      if (auto s = deps_.nl->SetLinkMTU(opts_.iface, opts_.mtu); s.ok()) ++r->addr_writes;
    }
  }
  if (!plan.interface_address) return;
  if (auto s = ConvergeAddress(*plan.interface_address); !s.ok())
    r->errors.push_back("interface: " + s.message());
}

Status ConnectApplier::ConvergeAddress(const IPPrefix& address) {
  if (opts_.own_link) {
    auto r = netlink::ConvergeAddresses(*deps_.nl, opts_.iface, {address});
    return r.ok() ? Status::Ok() : r.status();
  }
  auto link = deps_.nl->FindLink(opts_.iface);
  if (!link.ok()) return link.status();
  if (!link->has_value()) return Status::Error("interface " + opts_.iface + " disappeared");
  return deps_.nl->AddAddress((*link)->index, address);
}

void ConnectApplier::ApplyRoutes(const HostPlan& plan, ConnectApplyReport* r) {
  DevNames names;
  names.kilo = opts_.iface;
  std::vector<netlink::Route> routes;
  for (const auto& p : plan.installed_routes) routes.push_back(netlink::ToNetlinkRoute(p, names));
  auto rc = netlink::ConvergeRoutes(*deps_.nl, routes, Ownership());
  if (!rc.ok()) {
    r->errors.push_back("routes: " + rc.error());
    return;
  }
  r->routes_added = rc->added;
  r->routes_removed = rc->removed;
}

Result<netlink::ConvergeCounts> ConnectApplier::RemoveRoutes() {
  return netlink::ConvergeRoutes(*deps_.nl, {}, Ownership());
}

netlink::RouteOwnership ConnectApplier::Ownership() const {
  netlink::RouteOwnership own;
  own.interfaces = {opts_.iface};
  own.table = 0;
  own.protocol = netlink::kProtoStatic;
  return own;
}

}  // namespace kilo::cli
