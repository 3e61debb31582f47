#include "agent/flags.h"

#include <CLI/CLI.hpp>

#include "core/duration.h"
#include "core/model.h"
#include "core/routes.h"

namespace kilo::agent {
namespace {

// The flags as typed.
struct Flags {
  std::string backend = "kubernetes";
  bool clean_up = true;
  bool clean_up_interface = false;
  bool cni = true;
  std::string cni_path = "/etc/cni/net.d/10-kilo.conflist";
  std::string compatibility;
  bool create_interface = true;
  std::string encapsulate = "always";
  std::string hostname;
  std::string iface = "kilo0";
  std::vector<std::string> internal_cidrs;
  bool iptables_forward_rules = false;
  std::string kubeconfig;
  std::string listen = ":1107";
  bool local = true;
  std::string log_level = "info";
  std::string log_format = "logfmt";
  std::string master;
  std::string granularity = "location";
  std::string mtu = "auto";
  int port = kDefaultPort;
  bool prioritise_private = false;
  std::string resync = "30s";
  std::vector<std::string> service_cidrs;
  std::string subnet = "10.4.0.0/16";
  std::string subnet6;  // off by default
  std::string topology_label = kDefaultTopologyLabel;
  std::string key_file = "/var/lib/kilo/key";
  std::string firewall = "nftables";
  bool version = false;
  bool leader_failover = false;  // opt-in until the e2e suites run with it
  bool leader_failover_override_pins = false;
};

// Whether `s` is a whole decimal number in [lo, hi].
bool ParseIntIn(const std::string& s, int lo, int hi, int* out) {
  if (s.empty() || s.size() > 9) return false;
  int v = 0;
  for (char c : s) {
    if (c < '0' || c > '9') return false;
    v = v * 10 + (c - '0');
  }
  if (v < lo || v > hi) return false;
  *out = v;
  return true;
}

// Kilo's flags, with its names, defaults and help; kg's own are marked in
// the file comment of flags.h.
void DefineFlags(CLI::App* app, Flags* f) {
  app->add_option("--backend", f->backend, "The backend for the mesh. Possible values: kubernetes")
      ->capture_default_str();
  app->add_flag("--clean-up{true},!--no-clean-up", f->clean_up,
                "Should kg clean up network modifications on shutdown?")
      ->capture_default_str();
  app->add_flag("--clean-up-interface", f->clean_up_interface,
                "Should kg remove the WireGuard interface on shutdown?");
  app->add_flag("--cni", f->cni, "Should Kilo manage the node's CNI configuration?")
      ->capture_default_str();
  app->add_option("--cni-path", f->cni_path, "Path to CNI config")->capture_default_str();
  app->add_option("--compatibility", f->compatibility,
                  "Should Kilo run in compatibility mode? Possible values: flannel, cilium");
  app->add_flag(
         "--create-interface", f->create_interface,
         "Should kg create the WireGuard interface? false adopts one made by e.g. wireguard-go")
      ->capture_default_str();
  app->add_option("--encapsulate", f->encapsulate,
                  "When should Kilo encapsulate packets within a location? Possible values: never, "
                  "crosssubnet, always")
      ->capture_default_str();
  app->add_option("--hostname", f->hostname,
                  "Hostname of the node on which this process is running");
  app->add_option("--interface", f->iface, "Name of the Kilo interface to use")
      ->capture_default_str();
  app->add_option("--internal-cidr", f->internal_cidrs,
                  "Use the addresses in these CIDRs as internal IPs")
      ->delimiter(',');
  app->add_flag("--iptables-forward-rules", f->iptables_forward_rules,
                "Add firewall rules to ACCEPT forwarded pod traffic");
  app->add_option("--kubeconfig", f->kubeconfig, "Path to kubeconfig");
  app->add_option("--listen", f->listen, "The address at which to listen for health and metrics")
      ->capture_default_str();
  app->add_flag("--local", f->local, "Should Kilo manage routes within a location?")
      ->capture_default_str();
  app->add_option("--log-level", f->log_level, "Log level: all, debug, info, warn, error, none")
      ->capture_default_str();
  app->add_option("--log-format", f->log_format, "Log format: logfmt, json")->capture_default_str();
  app->add_option("--master", f->master,
                  "The address of the Kubernetes API server (overrides the kubeconfig)");
  app->add_option("--mesh-granularity", f->granularity,
                  "The granularity of the network mesh: location, full, cross")
      ->capture_default_str();
  app->add_option("--mtu", f->mtu,
                  "The MTU of the WireGuard interface, or auto (underlay MTU - 80)")
      ->capture_default_str();
  app->add_option("--port", f->port, "The port over which WireGuard peers should communicate")
      ->capture_default_str();
  app->add_flag("--prioritise-private-addresses", f->prioritise_private,
                "Prefer private IPs as the endpoint");
  app->add_option("--resync-period", f->resync, "How often the configuration should be reconciled")
      ->capture_default_str();
  app->add_option("--service-cidr", f->service_cidrs,
                  "The service CIDR(s) of the cluster (not NATed)")
      ->delimiter(',');
  app->add_option("--subnet", f->subnet,
                  "CIDR from which to allocate addresses for WireGuard interfaces")
      ->capture_default_str();
  app->add_option("--subnet6", f->subnet6,
                  "IPv6 CIDR from which to allocate IPv6 addresses for WireGuard interfaces "
                  "(dual-stack; off by default)");
  app->add_option("--topology-label", f->topology_label,
                  "Kubernetes node label used to group nodes into logical locations")
      ->capture_default_str();
  app->add_option("--key-file", f->key_file,
                  "Path of the node's WireGuard private key (created 0600 if missing)")
      ->capture_default_str();
  app->add_option("--firewall", f->firewall, "Firewall backend: nftables, iptables")
      ->capture_default_str();
  app->add_flag("--version", f->version, "Print the version and exit");
  app->add_flag("--leader-failover{true},!--no-leader-failover", f->leader_failover,
                "Probe the paths through location leaders and move leadership away from a "
                "failing one (location granularity; SPEC 11.1)")
      ->capture_default_str();
  app->add_flag("--leader-failover-override-pins", f->leader_failover_override_pins,
                "Let leader failover move leadership away from a kilo.squat.ai/leader set by a "
                "person");
}

Result<KgOptions> Validate(Flags f, const std::string& hostname) {
  using R = Result<KgOptions>;
  KgOptions k;
  AgentOptions& o = k.agent;
  if (!ParseLogLevel(f.log_level, &k.log_level))
    return R::Error("--log-level must be one of all, debug, info, warn, error, none; got \"" +
                    f.log_level + "\"");
  if (!ParseLogFormat(f.log_format, &k.log_format))
    return R::Error("--log-format must be logfmt or json; got \"" + f.log_format + "\"");
  if (f.backend != "kubernetes")
    return R::Error("--backend " + f.backend + " unknown; possible values are: kubernetes");
  o.hostname = f.hostname.empty() ? hostname : f.hostname;
  if (o.hostname.empty())
    return R::Error("--hostname is empty and so is the host's name; pass --hostname NODE");
  if (f.iface.empty() || f.iface.size() > 15 || f.iface.find_first_of("/ ") != std::string::npos)
    return R::Error(
        "--interface must be an interface name (1-15 characters, no '/' or spaces); "
        "got \"" +
        f.iface + "\"");
  o.iface = f.iface;
  if (f.port < 1 || f.port > 65535)
    return R::Error("--port must be between 1 and 65535; got " + std::to_string(f.port));
  o.port = f.port;
  auto subnet = IPPrefix::Parse(f.subnet);
  if (!subnet)
    return R::Error("--subnet must be a CIDR, e.g. 10.4.0.0/16; got \"" + f.subnet + "\"");
  o.subnet = subnet->Network();
  if (!f.subnet6.empty()) {
    auto s6 = IPPrefix::Parse(f.subnet6);
    if (!s6 || !s6->addr().is6())
      return R::Error("--subnet6 must be an IPv6 CIDR, e.g. fd4::/64; got \"" + f.subnet6 + "\"");
    o.subnet6 = s6->Network();
  }
  auto gran = ParseGranularity(f.granularity);
  if (!gran)
    return R::Error("--mesh-granularity must be location, full or cross; got \"" + f.granularity +
                    "\"");
  o.granularity = *gran;
  auto enc = ParseEncapsulation(f.encapsulate);
  if (!enc)
    return R::Error("--encapsulate must be never, crosssubnet or always; got \"" + f.encapsulate +
                    "\"");
  o.encapsulate = *enc;
  auto compat = ParseCompatibility(f.compatibility);
  if (!compat)
    return R::Error("--compatibility must be flannel or cilium; got \"" + f.compatibility + "\"");
  o.compatibility = *compat;
  for (const auto& s : f.service_cidrs) {
    auto p = IPPrefix::Parse(s);
    if (!p) return R::Error("--service-cidr must be a CIDR, e.g. 10.43.0.0/16; got \"" + s + "\"");
    o.service_cidrs.push_back(*p);
  }
  for (const auto& s : f.internal_cidrs) {
    auto p = IPPrefix::Parse(s);
    if (!p) return R::Error("--internal-cidr must be a CIDR, e.g. 10.0.0.0/8; got \"" + s + "\"");
    k.internal_cidrs.push_back(p->Network());
  }
  if (f.mtu != "auto") {
    int mtu = 0;
    if (!ParseIntIn(f.mtu, 576, 65535, &mtu))
      return R::Error("--mtu must be auto or a number between 576 and 65535; got \"" + f.mtu +
                      "\"");
    o.mtu = mtu;
    k.mtu_auto = false;
  }
  auto resync = ParseGoDurationMillis(f.resync);
  if (!resync.ok() || resync->count() <= 0)
    return R::Error("--resync-period must be a positive duration such as 30s or 1m30s; got \"" +
                    f.resync + "\"");
  k.resync_period = *resync;
  auto fw_backend = fw::ParseBackend(f.firewall);
  if (!fw_backend.ok()) return R::Error(fw_backend.error());
  k.firewall = *fw_backend;
  k.leader_failover = f.leader_failover;
  k.leader_failover_override_pins = f.leader_failover_override_pins;
  o.local = f.local;
  o.cni = f.cni;
  o.cni_path = f.cni_path;
  o.create_interface = f.create_interface;
  o.clean_up = f.clean_up;
  o.clean_up_interface = f.clean_up_interface;
  o.iptables_forward_rules = f.iptables_forward_rules;
  o.prioritise_private_addresses = f.prioritise_private;
  o.topology_label = f.topology_label;
  o.key_path = f.key_file;
  k.kubeconfig = f.kubeconfig;
  k.master = f.master;
  k.listen = f.listen;
  return k;
}

}  // namespace

Result<ParsedFlags> ParseFlags(int argc, const char* const* argv, const std::string& hostname) {
  using R = Result<ParsedFlags>;
  CLI::App app{"kg: the Kilo agent; converges this node's WireGuard mesh"};
  Flags f;
  DefineFlags(&app, &f);
  ParsedFlags out;
  try {
    app.parse(argc, argv);
  } catch (const CLI::CallForHelp&) {
    out.action = ParsedFlags::Action::kHelp;
    out.help = app.help();
    return out;
  } catch (const CLI::ParseError& e) {
    return R::Error(std::string(e.what()) + "; run `kg --help` for usage");
  }
  if (f.version) {
    out.action = ParsedFlags::Action::kVersion;
    return out;
  }
  auto k = Validate(std::move(f), hostname);
  if (!k.ok()) return R::Error(k.error());
  out.options = std::move(*k);
  return out;
}

}  // namespace kilo::agent
