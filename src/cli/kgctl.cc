// kgctl: inspect a Kilo mesh — `graph`, `showconf`, `plan` — from a live
// cluster or from a `kubectl get nodes,peers -o json` dump.

#include <CLI/CLI.hpp>
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <iostream>

#ifdef KILO_KGCTL_LIVE
#include "cli/live.h"
#endif
#ifdef KILO_KGCTL_FULL
#include "graphviz/render.h"
#endif
#include <unistd.h>

#include "cli/check.h"
#include "cli/cluster.h"
#include "cli/completion.h"
#include "cli/connect.h"
#include "core/firewall_plan.h"
#include "core/host_plan.h"
#include "core/objects_json.h"
#include "core/peer_object.h"
#include "core/routes.h"
#include "core/topology.h"

namespace kilo::cli {
namespace {

// An error for the user: printed alone on the last stderr line, exit 1.
struct Failure {
  std::string message;
};

void PrintWarnings(const Cluster& c) {
  for (const auto& w : c.warnings) std::cerr << "warning: " << w.String() << "\n";
}

struct Loaded {
  Cluster cluster;
};

Cluster Load(const GlobalOptions& g) {
  int64_t now = g.now ? *g.now
                      : std::chrono::duration_cast<std::chrono::seconds>(
                            std::chrono::system_clock::now().time_since_epoch())
                            .count();
  // A dump file is decoded straight into the model (no intermediate objects).
  auto c = LoadCluster(g, now);
  if (!c.ok()) throw Failure{c.error()};
  PrintWarnings(*c);
  return std::move(*c);
}

// TakeMesh, failing as kgctl fails.
Mesh BuildMesh(Cluster& c, const IPPrefix& subnet) {
  auto mesh = TakeMesh(c, subnet);
  if (!mesh.ok()) throw Failure{mesh.error()};
  return std::move(*mesh);
}

// Fails like Kilo when there is no ready node, or none named `name`.
void RequireReadyNode(const Cluster& c, const std::string& name) {
  bool any = false, found = false;
  for (const auto& n : c.nodes) {
    if (!n.Ready(c.now)) continue;
    any = true;
    found = found || n.name == name;
  }
  if (!any) throw Failure{"did not find any valid Kilo nodes in the cluster"};
  if (!found) throw Failure{"did not find any node named \"" + name + "\" in the cluster"};
}

struct ShowConfOptions {
  bool as_peer = false;
  std::string output = "wireguard";
  std::vector<std::string> allowed_ips;
};

// Validates -o and --allowed-ips like Kilo's runShowConf.
std::vector<IPPrefix> CheckShowConf(const ShowConfOptions& o) {
  if (o.output != "wireguard" && o.output != "yaml" && o.output != "json")
    throw Failure{"output format " + o.output +
                  " unknown; posible values are: json, wireguard, yaml"};
  std::vector<IPPrefix> out;
  for (const auto& a : o.allowed_ips) {
    auto p = IPPrefix::Parse(a);
    if (!p) throw Failure{"allowed-ips must contain only valid CIDRs; got \"" + a + "\""};
    out.push_back(p->Network());
  }
  return out;
}

void PrintAsPeer(const std::string& name, WgPeer peer, const ShowConfOptions& o,
                 const std::vector<IPPrefix>& extra) {
  for (const auto& e : extra) peer.allowed_ips.push_back(e);
  if (o.output == "wireguard") {
    WgConf c;
    c.peers.push_back(peer);
    std::cout << c.Render();
    return;
  }
  std::vector<std::string> aips;
  for (const auto& a : peer.allowed_ips) aips.push_back(a.String());
  std::cout << (o.output == "yaml" ? RenderPeerYaml(name, peer, aips)
                                   : RenderPeerJson(name, peer, aips));
}

// Kilo's runShowConfNode calls a node a leader when its public key is among
// the keys of the Peer configuration: every segment's leader, and every ready
// Peer. A Peer that reuses a node's key (or a node that shares its key with a
// leader) makes that node "a leader" there, and its configuration is printed.
bool ShowsAsLeader(const Mesh& mesh, const std::string& name) {
  const Node* node = mesh.FindNode(name);
  if (!node) return false;
  for (const Segment& s : mesh.segments())
    if (s.key == node->key) return true;
  for (const Peer& p : mesh.peers())
    if (p.public_key == node->key) return true;
  return false;
}

int ShowConfNode(const GlobalOptions& g, const ShowConfOptions& o, const std::string& name) {
  auto extra = CheckShowConf(o);
  Cluster c = Load(g);
  RequireReadyNode(c, name);
  Mesh mesh = BuildMesh(c, c.subnet);
  HostOptions ho;
  ho.port = g.port;
  auto t = Topology::ForHost(mesh, name, ho);
  if (!ShowsAsLeader(mesh, name)) {
    std::cerr << "Node \"" << name << "\" is not a leader node\n";
    return 0;
  }
  if (!o.as_peer) {
    t->RenderConf([](std::string_view piece) { std::cout << piece; });
    return 0;
  }
  PrintAsPeer(name, *t->AsPeer(), o, extra);
  return 0;
}

int ShowConfPeer(const GlobalOptions& g, const ShowConfOptions& o, const std::string& name) {
  auto extra = CheckShowConf(o);
  Cluster c = Load(g);
  if (c.LastReadyNode().empty()) throw Failure{"did not find any valid Kilo nodes in the cluster"};
  const Peer* peer = nullptr;
  for (const auto& p : c.peers)
    if (p.Ready() && p.name == name) peer = &p;
  if (!peer) throw Failure{"did not find any peer named \"" + name + "\" in the cluster"};
  Peer self = *peer;
  const std::string host = c.LastReadyNode();
  Mesh mesh = BuildMesh(c, c.subnet);
  HostOptions ho;
  ho.port = g.port;
  auto t = Topology::ForHost(mesh, host, ho);
  if (!o.as_peer) {
    std::cout << t->PeerConf(name).Render();
    return 0;
  }
  WgPeer wp;
  wp.public_key = self.public_key;
  wp.endpoint = self.endpoint;
  wp.persistent_keepalive = self.persistent_keepalive;
  wp.preshared_key = self.preshared_key;
  wp.allowed_ips = self.allowed_ips;
  PrintAsPeer(name, wp, o, extra);
  return 0;
}

int Graph(const GlobalOptions& g, const std::string& format, const std::string& layout) {
  if (format != "dot" && format != "svg" && format != "png")
    throw Failure{"unsupported format \"" + format + "\"; use one of: dot, png, svg"};
  Cluster c = Load(g);
  const std::string host = c.LastReadyNode();
  Mesh mesh = BuildMesh(c, c.subnet);
  HostOptions ho;
  ho.port = g.port;
  auto t = Topology::ForHost(mesh, host, ho);
  if (format == "dot") {
    t->Dot([](std::string_view piece) { std::cout << piece; });
    std::cout << "\n";
    return 0;
  }
#ifdef KILO_KGCTL_FULL
  auto out = graphviz::RenderGraph(t->Dot(), format, layout);
  if (!out.ok()) throw Failure{out.error()};
  std::cout << *out;
  return 0;
#else
  throw Failure{"rendering needs kgctl-full"};
#endif
}

int Check(const GlobalOptions& g, const std::string& subnet_flag) {
  Cluster c = Load(g);
  IPPrefix subnet = c.subnet;
  if (!subnet_flag.empty()) {
    auto p = IPPrefix::Parse(subnet_flag);
    if (!p) throw Failure{"--subnet must be a CIDR; got \"" + subnet_flag + "\""};
    subnet = *p;
  }
  int errors = 0, warnings = 0;
  for (const auto& f : CheckCluster(c, subnet)) {
    std::cout << (f.error ? "error: " : "warning: ") << f.message << "\n";
    (f.error ? errors : warnings)++;
  }
  std::cout << errors << " errors, " << warnings << " warnings\n";
  return errors ? 1 : 0;
}

struct PlanOptions {
  std::string subnet = "10.4.0.0/16";
  std::string encapsulate = "always";
  bool local = true;
  std::string compatibility = "none";
  std::string iface = "kilo0";
  bool cni = true;
  bool forward_rules = false;
  std::vector<std::string> service_cidrs;
};

int Plan(const GlobalOptions& g, const PlanOptions& p, const std::string& name) {
  auto subnet = IPPrefix::Parse(p.subnet);
  if (!subnet) throw Failure{"--subnet must be a CIDR, e.g. 10.4.0.0/16; got \"" + p.subnet + "\""};
  auto enc = ParseEncapsulation(p.encapsulate);
  if (!enc)
    throw Failure{"--encapsulate must be one of never, crosssubnet, always; got \"" +
                  p.encapsulate + "\""};
  auto compat = ParseCompatibility(p.compatibility);
  if (!compat)
    throw Failure{"--compatibility must be one of none, flannel, cilium; got \"" + p.compatibility +
                  "\""};
  Cluster c = Load(g);
  RequireReadyNode(c, name);
  Mesh mesh = BuildMesh(c, *subnet);
  HostOptions ho;
  // kg listens on the port of its own endpoint (force-endpoint may change it).
  const Node* self = mesh.FindNode(name);
  ho.port = self->endpoint && self->endpoint->port() ? self->endpoint->port() : g.port;
  auto t = Topology::ForHost(mesh, name, ho);
  auto opt = [](const std::optional<IPPrefix>& x) { return x ? x->String() : std::string("-"); };
  std::cout << "node " << name << "\n"
            << "location " << t->local_segment().location << "\n"
            << "leader " << (t->leader() ? "true" : "false") << "\n"
            << "wireguard-cidr " << t->wireguard_cidr().String() << "\n"
            << "interface-address " << (t->leader() ? t->wireguard_cidr().String() : "-") << "\n"
            << "private-ip " << opt(t->private_ip()) << "\n"
            << "pod-subnet " << opt(t->subnet()) << "\n";
  // Dual-stack lines only with IPv6 input (SPEC 11.3: byte-identical output
  // otherwise).
  for (const auto& c : t->extra_subnets()) std::cout << "pod-subnet " << c.String() << "\n";
  if (auto a6 = t->wireguard_cidr6()) std::cout << "interface-address " << a6->String() << "\n";
  std::cout << "listen-port " << ho.port << "\n";
  HostPlanOptions po;
  po.routes.encapsulate = *enc;
  po.routes.local = p.local;
  po.routes.compatibility = *compat;
  po.cni = p.cni;
  po.iptables_forward_rules = p.forward_rules;
  for (const auto& sc : p.service_cidrs) {
    auto pfx = IPPrefix::Parse(sc);
    if (!pfx) throw Failure{"--service-cidr must be a CIDR; got \"" + sc + "\""};
    po.service_cidrs.push_back(*pfx);
  }
  // kg finds the interface of its private IP on the host; a node without a
  // private IP has none.
  po.private_interface = t->private_ip().has_value();
  const HostPlan plan = PlanHost(*t, po);
  std::cout << "[wireguard]\n";
  if (plan.leader) {
    std::cout << plan.wireguard.Render();
    for (const auto& note : plan.wireguard_notes) std::cout << "# " << note << "\n";
  } else {
    std::cout << "# not a leader: the interface " << p.iface << " has no WireGuard peers\n";
  }
  DevNames names;
  names.kilo = p.iface;
  std::cout << "[routes compatibility=" << CompatibilityName(*compat)
            << " encapsulate=" << EncapsulationName(*enc)
            << " local=" << (p.local ? "true" : "false") << "]\n";
  std::cout << RenderPlan(plan.routing, names);
  for (const auto& note : plan.route_notes) std::cout << "# " << note << "\n";
  for (const auto& note : plan.dual_stack_notes) std::cout << "# " << note << "\n";
  std::cout << "[firewall nftables]\n" << fw::RenderNft(plan.firewall);
  if (plan.cni_conflist) std::cout << "[cni]\n" << *plan.cni_conflist;
  return 0;
}

// The light kgctl (core and the Kubernetes client, linked statically: fast
// start, small RSS) hands commands that need Graphviz or the host network to
// kgctl-full, which sits next to it.
[[maybe_unused]] int ExecFull(char** argv) {
  char self[4096];
  ssize_t n = readlink("/proc/self/exe", self, sizeof self - 1);
  std::string dir = ".";
  if (n > 0) {
    self[n] = '\0';
    std::string p(self);
    dir = p.substr(0, p.rfind('/'));
  }
  std::string full = dir + "/kgctl-full";
  execv(full.c_str(), argv);
  std::cerr << "kgctl: this command needs " << full
            << " (Graphviz and the host network) and it cannot be run: " << std::strerror(errno)
            << "; reinstall kgctl, or use -o dot\n";
  return 1;
}

}  // namespace

int Main(int argc, char** argv) {
#ifdef KILO_KGCTL_LIVE
  SetLiveLoader(&LoadLiveObjects);
#endif
  CLI::App app{"kgctl: inspect and manipulate a Kilo network"};
  app.require_subcommand(1);
  GlobalOptions g;
  int64_t now = 0;
  app.add_option("--kubeconfig", g.kubeconfig, "Path to a kubeconfig file (default: $KUBECONFIG)")
      ->envname("KUBECONFIG");
  app.add_option("--backend", g.backend, "The backend for the mesh. Possible values: kubernetes")
      ->capture_default_str();
  app.add_option("--mesh-granularity", g.granularity,
                 "The granularity of the network mesh: location, full or cross (default: read from "
                 "the nodes)");
  app.add_option("--port", g.port, "The WireGuard port over which the nodes communicate")
      ->capture_default_str();
  app.add_option("--topology-label", g.topology_label,
                 "Kubernetes node label used to group nodes into logical locations")
      ->capture_default_str();
  app.add_option(
      "--from-file", g.from_file,
      "Read Nodes and Peers from a `kubectl get nodes,peers -o json|yaml` dump (- for stdin)");
  auto* now_opt = app.add_option("--now", now, "Evaluate readiness as of this unix time");
  app.add_option("--subnet6", g.subnet6,
                 "kg's --subnet6, the IPv6 WireGuard subnet (default: from the nodes' "
                 "kg.kilo.squat.ai/wireguard-ip6 annotations; none without them)");

  std::string graph_format = "dot", graph_layout = "circo";
  auto* graph = app.add_subcommand(
      "graph", "Produce a graph of the Kilo network (DOT, or SVG/PNG rendered with Graphviz)");
  graph->add_option("-o,--output", graph_format, "Output format: dot, svg, png")
      ->capture_default_str();
  graph
      ->add_option("--layout", graph_layout,
                   "Graphviz layout for svg/png: circo, dot, fdp, neato, twopi, ...")
      ->capture_default_str();

  std::string check_subnet;
  auto* check = app.add_subcommand(
      "check",
      "Lint the cluster: invalid annotations and Peers, nodes not ready and why, "
      "locations without a public endpoint, overlapping CIDRs (exit 1 on errors)");
  check->add_option("--subnet", check_subnet,
                    "kg's --subnet (default: from the nodes' wireguard-ip annotations)");

  std::string shell;
  auto* completion =
      app.add_subcommand("completion", "Print a shell completion script (bash or zsh)");
  completion->add_option("shell", shell, "bash or zsh")->required();

  ShowConfOptions sc;
  auto* showconf =
      app.add_subcommand("showconf", "Show the WireGuard configuration for a node or peer");
  showconf->require_subcommand(1);
  for (auto* a : {showconf}) {
    a->add_flag("--as-peer", sc.as_peer,
                "Show the resource as a peer of another WireGuard interface");
    a->add_option("-o,--output", sc.output, "Output format: wireguard, yaml, json")
        ->capture_default_str();
    a->add_option("--allowed-ips", sc.allowed_ips,
                  "Extra allowed IPs (CIDRs, comma-separated); with --as-peer")
        ->delimiter(',');
  }
  std::string node_name, peer_name, plan_name;
  auto* sc_node = showconf->add_subcommand("node", "Show the WireGuard configuration of a node");
  sc_node->add_option("name", node_name, "Node name")->required();
  auto* sc_peer = showconf->add_subcommand("peer", "Show the WireGuard configuration of a peer");
  sc_peer->add_option("name", peer_name, "Peer name")->required();
  for (auto* sub : {sc_node, sc_peer}) {
    sub->fallthrough();
  }
  showconf->fallthrough();

  PlanOptions po;
  auto* plan = app.add_subcommand("plan", "Show everything kg would configure on a node");
  plan->require_subcommand(1);
  auto* plan_node = plan->add_subcommand("node", "Plan for a node");
  plan_node->add_option("name", plan_name, "Node name")->required();
  for (auto* a : {plan_node}) {
    a->add_option("--subnet", po.subnet, "kg's --subnet")->capture_default_str();
    a->add_option("--encapsulate", po.encapsulate, "never, crosssubnet or always")
        ->capture_default_str();
    a->add_option("--local", po.local, "kg's --local (true|false)")->capture_default_str();
    a->add_option("--compatibility", po.compatibility, "none, flannel or cilium")
        ->capture_default_str();
    a->add_option("--interface", po.iface, "kg's --interface")->capture_default_str();
    a->add_option("--cni", po.cni, "kg's --cni (true|false)")->capture_default_str();
    a->add_option("--iptables-forward-rules", po.forward_rules, "kg's --iptables-forward-rules")
        ->capture_default_str();
    a->add_option("--service-cidr", po.service_cidrs, "kg's --service-cidr (repeatable)")
        ->delimiter(',');
  }

  ConnectOptions co;
  auto* connect = app.add_subcommand(
      "connect", "Connect this Linux host to the cluster as a Peer over WireGuard");
  connect->add_option("name", co.peer_name, "Name of the Peer (default: the hostname)");
  connect
      ->add_option("--interface,-i", co.iface,
                   "Name of the Kilo interface to use; if it does not exist, it will be created")
      ->capture_default_str();
  connect->add_option("--allowed-ip,-a", co.allowed_ip,
                      "Allowed IP of the peer (required unless the Peer exists)");
  connect
      ->add_option("--allowed-ips", co.allowed_ips,
                   "Additional allowed IPs of the cluster, e.g. the service CIDR")
      ->delimiter(',');
  connect->add_option("--mtu", co.mtu, "The MTU for the WireGuard interface")
      ->capture_default_str();
  connect
      ->add_option("--persistent-keepalive", co.persistent_keepalive,
                   "How often should WireGuard send keepalives? Setting to 0 will disable sending "
                   "keepalives")
      ->capture_default_str();
  connect->add_option("--private-key", co.private_key_file,
                      "Path to an existing WireGuard private key file");
  connect->add_option("--resync-period", co.resync_period, "How often should Kilo reconcile?")
      ->capture_default_str();
  connect
      ->add_option("--log-level", co.log_level,
                   "Log level to use. Possible values: all, debug, info, warn, error, none")
      ->capture_default_str();
  connect
      ->add_flag("--clean-up", co.clean_up,
                 "Should Kilo clean up the routes, interface and Peer when it shuts down?")
      ->capture_default_str();
  connect->fallthrough();

  try {
    app.parse(argc, argv);
  } catch (const CLI::CallForHelp& e) {
    return app.exit(e);
  } catch (const CLI::CallForAllHelp& e) {
    return app.exit(e);
  } catch (const CLI::ParseError& e) {
    std::cerr << e.what() << "; run `kgctl --help` for usage\n";
    return 1;
  }
  if (now_opt->count()) g.now = now;
#ifndef KILO_KGCTL_FULL
  bool needs_full = connect->parsed() || (graph->parsed() && graph_format != "dot");
#ifndef KILO_KGCTL_LIVE
  needs_full = needs_full || (g.from_file.empty() && !completion->parsed());
#endif
  if (needs_full) return ExecFull(argv);
#endif
  if (g.backend != "kubernetes") {
    std::cerr << "backend " << g.backend << " unknown; possible values are: kubernetes\n";
    return 1;
  }
  try {
    if (graph->parsed()) return Graph(g, graph_format, graph_layout);
    if (check->parsed()) return Check(g, check_subnet);
    if (completion->parsed()) {
      if (shell == "bash")
        std::cout << BashCompletion();
      else if (shell == "zsh")
        std::cout << ZshCompletion();
      else
        throw Failure{"completion: unknown shell \"" + shell + "\"; use bash or zsh"};
      return 0;
    }
    if (sc_node->parsed()) return ShowConfNode(g, sc, node_name);
    if (sc_peer->parsed()) return ShowConfPeer(g, sc, peer_name);
    if (plan_node->parsed()) return Plan(g, po, plan_name);
#ifdef KILO_KGCTL_FULL
    if (connect->parsed()) return RunConnect(g, co);
#endif
  } catch (const Failure& f) {
    std::cout.flush();
    std::cerr << f.message << "\n";
    return 1;
  }
  return 1;
}

}  // namespace kilo::cli

int main(int argc, char** argv) { return kilo::cli::Main(argc, argv); }
