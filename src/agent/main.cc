// kg: the Kilo node agent. Converges WireGuard, routes, rules, firewall and
// CNI config on this host from the cluster's Nodes and Peers.

#include <CLI/CLI.hpp>
#include <netdb.h>
#include <signal.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <iostream>
#include <mutex>
#include <thread>

#include "agent/agent.h"
#include "agent/encapsulation.h"
#include "agent/heap.h"
#include "agent/http.h"
#include "agent/k8s_backend.h"
#include "agent/keyfile.h"
#include "agent/log.h"
#include "agent/watchdog.h"
#include "k8s/kubeconfig.h"
#include "k8s/transport.h"
#include "netlink/discovery.h"
#include "netlink/rtnl.h"
#include "webhook/server.h"

namespace kilo::agent {
namespace {

constexpr const char* kVersion = "0.7.0-cpp";

std::optional<std::chrono::milliseconds> ParseDuration(const std::string& s) {
  // Go's time.ParseDuration subset: sequences of <number><unit>, units ms s m h.
  if (s.empty()) return std::nullopt;
  double total = 0;
  size_t i = 0;
  while (i < s.size()) {
    size_t start = i;
    while (i < s.size() && (std::isdigit(static_cast<unsigned char>(s[i])) || s[i] == '.')) ++i;
    if (start == i) return std::nullopt;
    double v = std::stod(s.substr(start, i - start));
    size_t u = i;
    while (i < s.size() && std::isalpha(static_cast<unsigned char>(s[i]))) ++i;
    std::string unit = s.substr(u, i - u);
    if (unit == "ms") total += v;
    else if (unit == "s") total += v * 1000;
    else if (unit == "m") total += v * 60000;
    else if (unit == "h") total += v * 3600000;
    else return std::nullopt;
  }
  return std::chrono::milliseconds(static_cast<int64_t>(total));
}

std::vector<IPAddr> ResolveAll(const std::string& host) {
  std::vector<IPAddr> out;
  addrinfo hints{};
  hints.ai_socktype = SOCK_DGRAM;
  addrinfo* res = nullptr;
  if (getaddrinfo(host.c_str(), nullptr, &hints, &res) != 0) return out;
  for (addrinfo* a = res; a; a = a->ai_next) {
    if (a->ai_family == AF_INET) {
      auto* sin = reinterpret_cast<sockaddr_in*>(a->ai_addr);
      out.push_back(IPAddr::FromBytes(reinterpret_cast<uint8_t*>(&sin->sin_addr), 4));
    } else if (a->ai_family == AF_INET6) {
      auto* sin6 = reinterpret_cast<sockaddr_in6*>(a->ai_addr);
      out.push_back(IPAddr::FromBytes(sin6->sin6_addr.s6_addr, 16));
    }
  }
  freeaddrinfo(res);
  return out;
}

// getaddrinfo with a deadline: a node whose resolver is unreachable must not
// stall start-up or a reconcile. A late answer is dropped.
std::vector<IPAddr> ResolveBounded(const std::string& host, std::chrono::milliseconds limit) {
  struct Shared {
    std::mutex mu;
    std::condition_variable cv;
    bool done = false;
    std::vector<IPAddr> out;
  };
  auto sh = std::make_shared<Shared>();
  std::thread([sh, host] {
    auto r = ResolveAll(host);
    std::lock_guard<std::mutex> lock(sh->mu);
    sh->out = std::move(r);
    sh->done = true;
    sh->cv.notify_all();
  }).detach();
  std::unique_lock<std::mutex> lock(sh->mu);
  if (!sh->cv.wait_for(lock, limit, [&] { return sh->done; })) return {};
  return sh->out;
}

int Fatal(const std::string& msg) {
  Error("kg cannot start", {{"err", msg}});
  std::cerr << "kg: " << msg << "\n";
  return 1;
}

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
};

std::atomic<bool> g_stop{false};
std::mutex g_mu;
std::condition_variable g_cv;
bool g_dirty = false;

void Notify() {
  {
    std::lock_guard<std::mutex> lock(g_mu);
    g_dirty = true;
  }
  g_cv.notify_all();
}

}  // namespace

int Main(int argc, char** argv) {
  InstallCrashHandler();
  // Before any thread starts: kg's threads mostly wait; two arenas are plenty
  // and keep the heap's free pages in fewer places (heap.h).
  LimitMallocArenas(2);
  // `kg webhook ...`: the Peer-validation admission webhook.
  if (argc > 1 && std::string(argv[1]) == "webhook") return webhook::RunWebhook(argc - 1, argv + 1);
  CLI::App app{"kg: the Kilo agent; converges this node's WireGuard mesh"};
  Flags f;
  app.add_option("--backend", f.backend, "The backend for the mesh. Possible values: kubernetes")->capture_default_str();
  app.add_flag("--clean-up{true},!--no-clean-up", f.clean_up, "Should kg clean up network modifications on shutdown?")->capture_default_str();
  app.add_flag("--clean-up-interface", f.clean_up_interface, "Should kg remove the WireGuard interface on shutdown?");
  app.add_flag("--cni", f.cni, "Should Kilo manage the node's CNI configuration?")->capture_default_str();
  app.add_option("--cni-path", f.cni_path, "Path to CNI config")->capture_default_str();
  app.add_option("--compatibility", f.compatibility, "Should Kilo run in compatibility mode? Possible values: flannel, cilium");
  app.add_flag("--create-interface", f.create_interface, "Should kg create the WireGuard interface? false adopts one made by e.g. wireguard-go")->capture_default_str();
  app.add_option("--encapsulate", f.encapsulate, "When should Kilo encapsulate packets within a location? Possible values: never, crosssubnet, always")->capture_default_str();
  app.add_option("--hostname", f.hostname, "Hostname of the node on which this process is running");
  app.add_option("--interface", f.iface, "Name of the Kilo interface to use")->capture_default_str();
  app.add_option("--internal-cidr", f.internal_cidrs, "Use the addresses in these CIDRs as internal IPs")->delimiter(',');
  app.add_flag("--iptables-forward-rules", f.iptables_forward_rules, "Add firewall rules to ACCEPT forwarded pod traffic");
  app.add_option("--kubeconfig", f.kubeconfig, "Path to kubeconfig");
  app.add_option("--listen", f.listen, "The address at which to listen for health and metrics")->capture_default_str();
  app.add_flag("--local", f.local, "Should Kilo manage routes within a location?")->capture_default_str();
  app.add_option("--log-level", f.log_level, "Log level: all, debug, info, warn, error, none")->capture_default_str();
  app.add_option("--log-format", f.log_format, "Log format: logfmt, json")->capture_default_str();
  app.add_option("--master", f.master, "The address of the Kubernetes API server (overrides the kubeconfig)");
  app.add_option("--mesh-granularity", f.granularity, "The granularity of the network mesh: location, full, cross")->capture_default_str();
  app.add_option("--mtu", f.mtu, "The MTU of the WireGuard interface, or auto (underlay MTU - 80)")->capture_default_str();
  app.add_option("--port", f.port, "The port over which WireGuard peers should communicate")->capture_default_str();
  app.add_flag("--prioritise-private-addresses", f.prioritise_private, "Prefer private IPs as the endpoint");
  app.add_option("--resync-period", f.resync, "How often the configuration should be reconciled")->capture_default_str();
  app.add_option("--service-cidr", f.service_cidrs, "The service CIDR(s) of the cluster (not NATed)")->delimiter(',');
  app.add_option("--subnet", f.subnet, "CIDR from which to allocate addresses for WireGuard interfaces")->capture_default_str();
  app.add_option("--subnet6", f.subnet6, "IPv6 CIDR from which to allocate IPv6 addresses for WireGuard interfaces (dual-stack; off by default)");
  app.add_option("--topology-label", f.topology_label, "Kubernetes node label used to group nodes into logical locations")->capture_default_str();
  app.add_option("--key-file", f.key_file, "Path of the node's WireGuard private key (created 0600 if missing)")->capture_default_str();
  app.add_option("--firewall", f.firewall, "Firewall backend: nftables, iptables")->capture_default_str();
  app.add_flag("--version", f.version, "Print the version and exit");
  try {
    app.parse(argc, argv);
  } catch (const CLI::CallForHelp& e) {
    return app.exit(e);
  } catch (const CLI::ParseError& e) {
    std::cerr << "kg: " << e.what() << "; run `kg --help` for usage\n";
    return 1;
  }
  if (f.version) {
    std::cout << kVersion << "\n";
    return 0;
  }
  LogLevel level;
  LogFormat format;
  if (!ParseLogLevel(f.log_level, &level)) { std::cerr << "kg: --log-level must be one of all, debug, info, warn, error, none\n"; return 1; }
  if (!ParseLogFormat(f.log_format, &format)) { std::cerr << "kg: --log-format must be logfmt or json\n"; return 1; }
  SetupLogging(level, format);

  // Validate flags into options.
  AgentOptions o;
  if (f.backend != "kubernetes") return Fatal("backend " + f.backend + " unknown; possible values are: kubernetes");
  if (f.hostname.empty()) {
    char host[256] = {};
    gethostname(host, sizeof host - 1);
    f.hostname = host;
  }
  o.hostname = f.hostname;
  o.iface = f.iface;
  o.port = f.port;
  if (f.port < 1 || f.port > 65535) return Fatal("--port must be 1-65535");
  auto subnet = IPPrefix::Parse(f.subnet);
  if (!subnet) return Fatal("--subnet must be a CIDR, e.g. 10.4.0.0/16; got \"" + f.subnet + "\"");
  o.subnet = subnet->Network();
  if (!f.subnet6.empty()) {
    auto s6 = IPPrefix::Parse(f.subnet6);
    if (!s6 || !s6->addr().is6())
      return Fatal("--subnet6 must be an IPv6 CIDR, e.g. fd4::/64; got \"" + f.subnet6 + "\"");
    o.subnet6 = s6->Network();
  }
  auto gran = ParseGranularity(f.granularity);
  if (!gran) return Fatal("--mesh-granularity must be location, full or cross; got \"" + f.granularity + "\"");
  o.granularity = *gran;
  auto enc = ParseEncapsulation(f.encapsulate);
  if (!enc) return Fatal("--encapsulate must be never, crosssubnet or always; got \"" + f.encapsulate + "\"");
  o.encapsulate = *enc;
  auto compat = ParseCompatibility(f.compatibility);
  if (!compat) return Fatal("--compatibility must be flannel or cilium; got \"" + f.compatibility + "\"");
  o.compatibility = *compat;
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
  for (const auto& s : f.service_cidrs) {
    auto p = IPPrefix::Parse(s);
    if (!p) return Fatal("--service-cidr must be a CIDR; got \"" + s + "\"");
    o.service_cidrs.push_back(*p);
  }
  std::vector<IPPrefix> internal_cidrs;
  for (const auto& s : f.internal_cidrs) {
    auto p = IPPrefix::Parse(s);
    if (!p) return Fatal("--internal-cidr must be a CIDR; got \"" + s + "\"");
    internal_cidrs.push_back(p->Network());
  }
  auto resync = ParseDuration(f.resync);
  if (!resync || resync->count() <= 0) return Fatal("--resync-period must be a duration such as 30s; got \"" + f.resync + "\"");
  auto fw_backend = fw::ParseBackend(f.firewall);
  if (!fw_backend.ok()) return Fatal(fw_backend.error());

  // Block the termination signals in every thread; one thread waits for them.
  sigset_t sigs;
  sigemptyset(&sigs);
  sigaddset(&sigs, SIGTERM);
  sigaddset(&sigs, SIGINT);
  pthread_sigmask(SIG_BLOCK, &sigs, nullptr);
  std::thread([sigs] {
    int sig = 0;
    sigwait(&sigs, &sig);
    Info("received signal, shutting down", {{"signal", sig == SIGTERM ? "SIGTERM" : "SIGINT"}});
    g_stop = true;
    Notify();
  }).detach();

  // Key.
  auto key = LoadOrCreateKey(o.key_path);
  if (!key.ok()) return Fatal(key.error());

  // Host adapters.
  auto nl = netlink::RtnlClient::Open();
  if (!nl.ok()) return Fatal("rtnetlink: " + nl.error());
  auto wg = wg::NewWireGuardClient();
  fw::FirewallOptions fwo;
  fwo.backend = *fw_backend;
  auto firewall = fw::NewFirewall(fwo);
  if (!firewall.ok()) return Fatal(firewall.error());

  // Addresses.
  auto addrs = netlink::CollectHostAddresses(**nl);
  if (!addrs.ok()) return Fatal("list addresses: " + addrs.error());
  netlink::DiscoveryOptions dopts;
  dopts.hostname_ips = ResolveBounded(o.hostname, std::chrono::seconds(2));
  dopts.internal_cidrs = internal_cidrs;
  dopts.prioritise_private_addresses = o.prioritise_private_addresses;
  dopts.ignore_interfaces = {o.iface, o.tunnel_iface};
  // The tunnel address kg puts on Cilium's tunnel is no host address either.
  if (o.compatibility == Compatibility::kCilium) dopts.ignore_interfaces.push_back(kCiliumTunlIface);
  auto ips = netlink::SelectIPs(*addrs, dopts);
  if (!ips.ok()) return Fatal("failed to find the node's IPs: " + ips.error() + " (set --internal-cidr?)");

  // Interface.
  if (o.create_interface) {
    netlink::LinkSpec spec{o.iface, "wireguard", 0};
    if (auto s = (*nl)->CreateLink(spec); !s.ok()) {
      return Fatal("cannot create the WireGuard interface " + o.iface + ": " + s.message() +
                   "; without the kernel module run a userspace WireGuard (e.g. `wireguard-go " + o.iface +
                   "`) and start kg with --create-interface=false");
    }
  } else {
    bool found = false;
    for (int i = 0; i < 300 && !g_stop; ++i) {
      if (wg->Exists(o.iface)) { found = true; break; }
      if (i % 50 == 0) Info("waiting for the WireGuard interface", {{"interface", o.iface}});
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
    if (!found) return Fatal("--create-interface=false but there is no WireGuard interface " + o.iface + " (start wireguard-go " + o.iface + " first)");
  }
  if (o.encapsulate != Encapsulation::kNever && o.compatibility != Compatibility::kFlannel) {
    // tunl0, or in Cilium mode Cilium's cilium_tunl when it made one.
    auto tunnel = SetUpTunnel(**nl, o.compatibility, o.tunnel_iface);
    if (!tunnel.ok()) {
      return Fatal("--encapsulate=" + f.encapsulate + " needs an IPIP tunnel, but " + tunnel.error() +
                   "; load the ipip module or start kg with --encapsulate=never");
    }
    o.tunnel_iface = tunnel->name;
    o.clean_up_tunnel = tunnel->clean_up;
  }
  if (f.mtu == "auto") {
    auto links = (*nl)->ListLinks();
    auto def = netlink::DefaultRouteInterface(**nl);
    if (links.ok() && def.ok()) {
      auto mtu = netlink::AutoMTU(*links, *def, ips->internal_iface);
      if (mtu.ok()) o.mtu = *mtu;
    }
  } else {
    try {
      o.mtu = std::stoi(f.mtu);
    } catch (...) {
      return Fatal("--mtu must be a number or auto; got \"" + f.mtu + "\"");
    }
  }

  // API.
  k8s::LoadOptions lo;
  lo.kubeconfig_path = f.kubeconfig;
  lo.master_url = f.master;
  auto cfg = k8s::LoadClusterConfig(lo);
  if (!cfg.ok()) return Fatal(cfg.error());
  auto transport = k8s::CurlTransport::Create(*cfg);
  if (!transport.ok()) return Fatal(transport.error());
  K8sMeshBackend backend(transport->get());
  RealFileSystem fs;
  AgentMetrics metrics;
  backend.SetErrorCallback([&metrics] { metrics.Error("watch"); });

  AgentDeps deps;
  deps.backend = &backend;
  deps.wg = wg.get();
  deps.nl = nl->get();
  deps.firewall = firewall->get();
  deps.fs = &fs;
  deps.metrics = &metrics;
  deps.now = [] { return static_cast<int64_t>(::time(nullptr)); };
  deps.resolve = [](const std::string& name) -> std::optional<IPAddr> {
    auto all = ResolveBounded(name, std::chrono::seconds(2));
    if (all.empty()) return std::nullopt;
    return all.front();
  };
  if (f.mtu == "auto") {
    netlink::NetlinkClient* nlc = nl->get();
    deps.auto_mtu = [nlc, priv = ips->internal_iface]() -> std::optional<int> {
      auto links = nlc->ListLinks();
      auto def = netlink::DefaultRouteInterface(*nlc);
      if (!links.ok() || !def.ok()) return std::nullopt;
      auto mtu = netlink::AutoMTU(*links, *def, priv);
      if (!mtu.ok()) return std::nullopt;
      return *mtu;
    };
  }
  deps.private_key = *key;
  deps.internal_ip = ips->internal;
  deps.internal_iface = ips->internal_iface;
  deps.external_ip = ips->external.addr();
  Agent agent(o, deps);
  Info("starting", {{"version", kVersion}, {"node", o.hostname}, {"interface", o.iface},
                    {"internal_ip", ips->internal ? ips->internal->String() : "-"},
                    {"external_ip", ips->external.addr().String()},
                    {"public_key", key->Public().String()}, {"wireguard", wg->Backend()}});

  std::atomic<bool> synced{false};
  // A reconcile is bounded by its calls' timeouts (API 60 s, UAPI and netlink
  // 10 s, commands 60 s); one running for minutes is a bug worth a restart.
  ReconcileWatchdog watchdog(std::chrono::seconds(180));
  HttpHandlers hh;
  hh.dot = [&agent] { return agent.Dot(); };
  hh.healthy = [&synced, &watchdog] { return synced.load() && !watchdog.Stuck(); };
  auto http = HttpServer::Start(f.listen, &metrics, hh);
  if (!http.ok()) return Fatal(http.error());

  if (auto s = backend.Start(Notify); !s.ok()) return Fatal(s.message());
  synced = true;

  using Clock = std::chrono::steady_clock;
  auto next_resync = Clock::now();
  HeapTrimmer trimmer(std::chrono::seconds(30));
  while (!g_stop) {
    {
      std::lock_guard<std::mutex> lock(g_mu);
      g_dirty = false;
    }
    watchdog.Begin();
    ReconcileReport rep = agent.Reconcile();
    watchdog.End();
    trimmer.MaybeTrim(Clock::now());
    if (!rep.errors.empty() || !rep.skipped_reason.empty()) {
      if (!rep.skipped_reason.empty()) Warn("topology not applied", {{"reason", rep.skipped_reason}});
    }
    if (rep.writes() || rep.annotation_writes) {
      Info("reconciled", {{"leader", rep.leader ? "true" : "false"}, {"nodes", std::to_string(rep.nodes)},
                          {"peers", std::to_string(rep.peers)}, {"wireguard_writes", std::to_string(rep.wg_writes)},
                          {"route_writes", std::to_string(rep.route_writes)}, {"rule_writes", std::to_string(rep.rule_writes)},
                          {"firewall_writes", std::to_string(rep.fw_writes)}, {"address_writes", std::to_string(rep.addr_writes)},
                          {"cni_writes", std::to_string(rep.cni_writes)}, {"annotation_writes", std::to_string(rep.annotation_writes)}});
    } else {
      Debug("reconciled, no change", {{"nodes", std::to_string(rep.nodes)}});
    }
    next_resync = Clock::now() + std::min<std::chrono::milliseconds>(*resync, std::chrono::seconds(kCheckInPeriodSeconds));
    std::unique_lock<std::mutex> lock(g_mu);
    g_cv.wait_until(lock, next_resync, [] { return g_dirty || g_stop.load(); });
    if (g_dirty && !g_stop) {
      // Coalesce bursts of watch events into one reconcile.
      lock.unlock();
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
  }
  int rc = 0;
  if (o.clean_up) {
    if (auto s = agent.CleanUp(); !s.ok()) rc = 1;
    else Info("cleaned up");
  }
  backend.Stop();
  http->reset();
  return rc;
}

}  // namespace kilo::agent

int main(int argc, char** argv) { return kilo::agent::Main(argc, argv); }
