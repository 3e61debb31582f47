#pragma once
// One host's whole desired state (SPEC sections 5-8): what kg installs on the
// node and what `kgctl plan node` prints, computed once, by one pure function,
// so that what is printed is by construction what is installed.

#include <optional>
#include <string>
#include <vector>

#include "core/firewall_plan.h"
#include "core/peer_routes.h"
#include "core/routes.h"
#include "core/topology.h"
#include "core/wgconf.h"

namespace kilo {

struct HostPlanOptions {
  RouteOptions routes;  // --local, --encapsulate, --compatibility
  bool cni = true;      // --cni: the conflist, and NAT of pod traffic
  bool iptables_forward_rules = false;
  std::vector<IPPrefix> service_cidrs;
  int mtu = 1420;  // of the WireGuard interface, for the CNI bridge
  // Whether the host has an interface that holds its private IP: without one,
  // the routes through it cannot be installed and are left out.
  bool private_interface = true;
  // The addresses the WireGuard device sends to now (its peers' endpoints,
  // roamed ones included: WireGuard follows a peer's authenticated packets,
  // e.g. to a same-location node's private IP when that node reached us over
  // the LAN). A route through the WireGuard interface that covers one is left
  // out: it would send the tunnel's own packets into the tunnel (the kernel's
  // WireGuard drops them, wireguard-go loops them).
  std::vector<IPAddr> live_endpoints;
};

struct HostPlan {
  // Whether the host configures WireGuard peers (a segment's leader, or a
  // Peer host).
  bool leader = false;
  // The address of the WireGuard interface (a leader's WireGuard IP with the
  // subnet's length); none on a non-leader.
  std::optional<IPPrefix> interface_address;
  // With --subnet6: a leader's IPv6 WireGuard IP with --subnet6's length.
  std::optional<IPPrefix> interface_address6;
  // Dual-stack (SPEC 11.3): the segments with IPv6 this host does not carry
  // IPv6 towards, and why (one line each; empty without IPv6 input).
  std::vector<std::string> dual_stack_notes;
  // The WireGuard device: listen port and peers, never the private key (the
  // agent adds it). A non-leader configures no peers.
  WgConf wireguard;
  // What the device will hold differently from Kilo's configuration: an
  // allowed IP (as a network) claimed by two peers stays on the later one.
  std::vector<std::string> wireguard_notes;
  // Tunnel address, routes and rules, in Kilo's order (what Kilo's agent
  // would install).
  RoutePlan routing;
  // The routes kg installs: `routing.routes` but for those it leaves out,
  // each explained in `route_notes`: routes via a private interface the host
  // does not have, and a main-table route whose destination is the host's own
  // pod CIDR (another node or a Peer claiming it: it would replace the pod
  // bridge's route, and removing it later would leave none), and a route
  // through the WireGuard interface to a live endpoint (see live_endpoints).
  std::vector<PlannedRoute> installed_routes;
  std::vector<std::string> route_notes;
  fw::RuleSet firewall;
  // The CNI conflist (with --cni and a pod CIDR).
  std::optional<std::string> cni_conflist;
};

// Returns the plan of `t`'s host.
HostPlan PlanHost(const Topology& t, const HostPlanOptions& opts);

// A Peer of the mesh as a host: what `kgctl connect` installs there.
struct PeerHostPlanOptions {
  // Its WireGuard interface's address (its allowed IP, host bits kept).
  std::optional<IPPrefix> interface_address;
  PeerRouteOptions routes;  // --allowed-ips
};

// Returns the plan of the host of the Peer `peer`, with the mesh as `t`'s host
// sees it (its discovered endpoints): a leader whose WireGuard peers are
// t.PeerConf(peer) (every segment and every other Peer; `kgctl showconf peer`)
// with listen port t.port(), one holder per allowed IP as in PlanHost; its
// routes PeerRoutes(t.mesh(), peer, opts.routes), all installed, each once; no
// rules, firewall rule set or CNI configuration.
HostPlan PlanHost(const Topology& t, const std::string& peer, const PeerHostPlanOptions& opts);

}  // namespace kilo
