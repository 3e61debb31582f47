// kg: the Kilo node agent. Converges WireGuard, routes, rules, firewall and
// CNI config on this host from the cluster's Nodes and Peers.

#include <netdb.h>
#include <signal.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <iostream>
#include <mutex>
#include <thread>

#include "agent/agent.h"
#include "agent/encapsulation.h"
#include "agent/failover.h"
#include "agent/flags.h"
#include "agent/graph_render.h"
#include "agent/heap.h"
#include "agent/http.h"
#include "agent/k8s_backend.h"
#include "agent/k8s_leases.h"
#include "agent/keyfile.h"
#include "agent/log.h"
#include "agent/probe.h"
#include "agent/watchdog.h"
#include "core/thread_annotations.h"
#include "k8s/http_transport.h"
#include "k8s/kubeconfig.h"
#include "netlink/discovery.h"
#include "netlink/rtnl.h"
#include "webhook/server.h"

namespace kilo::agent {
namespace {

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
    Mutex mu;
    CondVar cv;
    bool done GUARDED_BY(mu) = false;
    std::vector<IPAddr> out GUARDED_BY(mu);
  };
  auto sh = std::make_shared<Shared>();
  std::thread([sh, host] {
    auto r = ResolveAll(host);
    MutexLock lock(&sh->mu);
    sh->out = std::move(r);
    sh->done = true;
    sh->cv.NotifyAll();
  }).detach();
  const auto deadline = std::chrono::steady_clock::now() + limit;
  MutexLock lock(&sh->mu);
  while (!sh->done) {
    const auto now = std::chrono::steady_clock::now();
    if (now >= deadline) return {};
    sh->cv.WaitFor(&sh->mu, deadline - now);
  }
  return sh->out;
}

int Fatal(const std::string& msg) {
  Error("kg cannot start", {{"err", msg}});
  std::cerr << "kg: " << msg << "\n";
  return 1;
}

std::atomic<bool> g_stop{false};
// The reconcile loop's wake-up: watch events and the signal thread set g_dirty.
Mutex g_mu;
CondVar g_cv;
bool g_dirty GUARDED_BY(g_mu) = false;

void Notify() EXCLUDES(g_mu) {
  {
    MutexLock lock(&g_mu);
    g_dirty = true;
  }
  g_cv.NotifyAll();
}

// Blocks SIGTERM and SIGINT in every thread; one thread waits for them and
// stops the loop.
void HandleTerminationSignals() {
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
}

// The underlay MTU less WireGuard's overhead, from the default route's
// interface; nullopt when it cannot be read.
std::optional<int> AutoMTU(netlink::NetlinkClient& nl, const std::string& internal_iface) {
  auto links = nl.ListLinks();
  auto def = netlink::DefaultRouteInterface(nl);
  if (!links.ok() || !def.ok()) return std::nullopt;
  auto mtu = netlink::AutoMTU(*links, *def, internal_iface);
  if (!mtu.ok()) return std::nullopt;
  return *mtu;
}

// The host's IPs as kg publishes them (internal and external).
Result<netlink::DiscoveredIPs> DiscoverIPs(netlink::NetlinkClient& nl, const KgOptions& k) {
  const AgentOptions& o = k.agent;
  auto addrs = netlink::CollectHostAddresses(nl);
  if (!addrs.ok()) return Result<netlink::DiscoveredIPs>::Error("list addresses: " + addrs.error());
  netlink::DiscoveryOptions dopts;
  dopts.hostname_ips = ResolveBounded(o.hostname, std::chrono::seconds(2));
  dopts.internal_cidrs = k.internal_cidrs;
  dopts.prioritise_private_addresses = o.prioritise_private_addresses;
  dopts.ignore_interfaces = {o.iface, o.tunnel_iface};
  // The tunnel address kg puts on Cilium's tunnel is no host address either.
  if (o.compatibility == Compatibility::kCilium)
    dopts.ignore_interfaces.push_back(kCiliumTunlIface);
  auto ips = netlink::SelectIPs(*addrs, dopts);
  if (!ips.ok())
    return Result<netlink::DiscoveredIPs>::Error("failed to find the node's IPs: " + ips.error() +
                                                 " (set --internal-cidr?)");
  return *ips;
}

// Creates the WireGuard interface, or waits for one made by e.g. wireguard-go
// (--create-interface=false), and the IPIP tunnel when encapsulating.
Status SetUpInterfaces(netlink::NetlinkClient& nl, wg::WireGuardClient& wg, AgentOptions* o) {
  if (o->create_interface) {
    netlink::LinkSpec spec{o->iface, "wireguard", 0};
    if (auto s = nl.CreateLink(spec); !s.ok()) {
      return Status::Error(
          "cannot create the WireGuard interface " + o->iface + ": " + s.message() +
          "; without the kernel module run a userspace WireGuard (e.g. `wireguard-go " + o->iface +
          "`) and start kg with --create-interface=false");
    }
  } else {
    bool found = false;
    for (int i = 0; i < 300 && !g_stop; ++i) {
      if (wg.Exists(o->iface)) {
        found = true;
        break;
      }
      if (i % 50 == 0) Info("waiting for the WireGuard interface", {{"interface", o->iface}});
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
    if (!found)
      return Status::Error("--create-interface=false but there is no WireGuard interface " +
                           o->iface + " (start wireguard-go " + o->iface + " first)");
  }
  if (o->encapsulate != Encapsulation::kNever && o->compatibility != Compatibility::kFlannel) {
    // tunl0, or in Cilium mode Cilium's cilium_tunl when it made one.
    auto tunnel = SetUpTunnel(nl, o->compatibility, o->tunnel_iface);
    if (!tunnel.ok()) {
      return Status::Error("--encapsulate=" + std::string(EncapsulationName(o->encapsulate)) +
                           " needs an IPIP tunnel, but " + tunnel.error() +
                           "; load the ipip module or start kg with --encapsulate=never");
    }
    o->tunnel_iface = tunnel->name;
    o->clean_up_tunnel = tunnel->clean_up;
  }
  return Status::Ok();
}

// Reconciles until SIGTERM/SIGINT: on every watch event (bursts coalesced)
// and at least every resync period (at most the check-in period).
void ReconcileLoop(Agent& agent, std::chrono::milliseconds resync, ReconcileWatchdog& watchdog)
    EXCLUDES(g_mu) {
  using Clock = std::chrono::steady_clock;
  auto next_resync = Clock::now();
  // The resync runs on its own schedule, however many watch events come in
  // between: it is what converges drift of the data plane (as Kilo's resync
  // ticker), while a watch event or readiness deadline reconciles only when
  // what the mesh reads changed.
  const auto resync_every =
      std::min<std::chrono::milliseconds>(resync, std::chrono::seconds(kCheckInPeriodSeconds));
  HeapTrimmer trimmer(std::chrono::seconds(30));
  while (!g_stop) {
    {
      MutexLock lock(&g_mu);
      g_dirty = false;
    }
    const bool resync_due = Clock::now() >= next_resync;
    if (resync_due) next_resync = Clock::now() + resync_every;
    watchdog.Begin();
    ReconcileReport rep = agent.Reconcile(resync_due ? Trigger::kResync : Trigger::kChange);
    watchdog.End();
    trimmer.MaybeTrim(Clock::now());
    if (!rep.skipped_reason.empty()) Warn("topology not applied", {{"reason", rep.skipped_reason}});
    if (rep.writes() || rep.annotation_writes) {
      Info("reconciled", {{"leader", rep.leader ? "true" : "false"},
                          {"nodes", std::to_string(rep.nodes)},
                          {"peers", std::to_string(rep.peers)},
                          {"wireguard_writes", std::to_string(rep.wg_writes)},
                          {"route_writes", std::to_string(rep.route_writes)},
                          {"rule_writes", std::to_string(rep.rule_writes)},
                          {"firewall_writes", std::to_string(rep.fw_writes)},
                          {"address_writes", std::to_string(rep.addr_writes)},
                          {"cni_writes", std::to_string(rep.cni_writes)},
                          {"annotation_writes", std::to_string(rep.annotation_writes)}});
    } else if (!rep.unchanged) {
      Debug("reconciled, no change", {{"nodes", std::to_string(rep.nodes)}});
    }
    // Wake for the resync, or when the first ready node goes stale.
    auto wake = next_resync;
    if (auto deadline = agent.NextReadinessDeadline()) {
      const int64_t in = std::max<int64_t>(1, *deadline - static_cast<int64_t>(::time(nullptr)));
      wake = std::min(wake, Clock::now() + std::chrono::seconds(in));
    }
    bool woken_by_change;
    {
      MutexLock lock(&g_mu);
      while (!g_dirty && !g_stop && Clock::now() < wake) g_cv.WaitFor(&g_mu, wake - Clock::now());
      woken_by_change = g_dirty && !g_stop;
    }
    // Coalesce bursts of watch events into one reconcile.
    if (woken_by_change) std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
}

// Graceful hand-over before a clean-up (SPEC 11.1): another node leads before
// this one tears down; waits at most 10 s for it to take over, then a second for
// the handshakes with the other locations' leaders (they start at once on a new peer).
void HandOverLeadership(FailoverController& failover, Agent& agent) {
  using Clock = std::chrono::steady_clock;
  if (auto to = failover.HandOver()) {
    Info("handing leadership over", {{"to", *to}});
    auto deadline = Clock::now() + std::chrono::seconds(10);
    bool took = false;
    while (Clock::now() < deadline && !(took = failover.LeadsNow(*to))) {
      agent.Reconcile();  // follow the move: this node stops leading
      std::this_thread::sleep_for(std::chrono::milliseconds(200));
    }
    if (took) {
      // Follow the move before the wait (the loop above may not have reconciled at all
      // when the new leader was quick): this node's own pods then reach the other
      // locations through the new leader until the clean-up, not through a tunnel the
      // other leaders no longer accept (e2e failover (e): 2.6 s of loss for the
      // restarted leader's pod without this, the whole wait and restart).
      agent.Reconcile();
      std::this_thread::sleep_for(std::chrono::seconds(1));
    }
    Info(took ? "leadership handed over" : "hand-over not confirmed within 10 s", {{"to", *to}});
  }
  failover.CleanUp();
}

// Runs the agent with validated options until SIGTERM/SIGINT.
int Run(KgOptions k) {
  AgentOptions& o = k.agent;
  HandleTerminationSignals();
  auto key = LoadOrCreateKey(o.key_path);
  if (!key.ok()) return Fatal(key.error());

  // Host adapters.
  auto nl = netlink::RtnlClient::Open();
  if (!nl.ok()) return Fatal("rtnetlink: " + nl.error());
  auto wg = wg::NewWireGuardClient();
  fw::FirewallOptions fwo;
  fwo.backend = k.firewall;
  auto firewall = fw::NewFirewall(fwo);
  if (!firewall.ok()) return Fatal(firewall.error());
  auto ips = DiscoverIPs(**nl, k);
  if (!ips.ok()) return Fatal(ips.error());
  if (auto s = SetUpInterfaces(**nl, *wg, &o); !s.ok()) return Fatal(s.message());
  if (k.mtu_auto) o.mtu = AutoMTU(**nl, ips->internal_iface);

  // API.
  k8s::LoadOptions lo;
  lo.kubeconfig_path = k.kubeconfig;
  lo.master_url = k.master;
  auto cfg = k8s::LoadClusterConfig(lo);
  if (!cfg.ok()) return Fatal(cfg.error());
  auto transport = k8s::HttpTransport::Create(*cfg);
  if (!transport.ok()) return Fatal(transport.error());
  K8sMeshBackend backend(transport->get(), {o.topology_label, o.hostname});
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
  if (k.mtu_auto) {
    netlink::NetlinkClient* nlc = nl->get();
    deps.auto_mtu = [nlc, priv = ips->internal_iface] { return AutoMTU(*nlc, priv); };
  }
  deps.private_key = *key;
  deps.internal_ip = ips->internal;
  deps.internal_iface = ips->internal_iface;
  deps.external_ip = ips->external.addr();
  Agent agent(o, deps);
  Info("starting", {{"version", kVersion},
                    {"node", o.hostname},
                    {"interface", o.iface},
                    {"internal_ip", ips->internal ? ips->internal->String() : "-"},
                    {"external_ip", ips->external.addr().String()},
                    {"public_key", key->Public().String()},
                    {"wireguard", wg->Backend()}});

  std::atomic<bool> synced{false};
  // A reconcile is bounded by its calls' timeouts (API 60 s, UAPI and netlink
  // 10 s, commands 60 s); one running for minutes is a bug worth a restart.
  ReconcileWatchdog watchdog(std::chrono::seconds(180));
  HttpHandlers hh;
  hh.dot = [&agent] { return agent.Dot(); };
  hh.healthy = [&synced, &watchdog] { return synced.load() && !watchdog.Stuck(); };
  // /graph?format=svg runs Graphviz's dot (as Kilo's kg does); a layout of a
  // large mesh may take seconds, one that hangs is killed.
  DotProgramRenderer graph_renderer(
      std::make_unique<fw::SystemCommandRunner>(std::chrono::seconds(30)));
  hh.render = [&graph_renderer](const std::string& dot, const std::string& format,
                                const std::string& layout) {
    return graph_renderer.Render(dot, format, layout);
  };
  auto http = HttpServer::Start(k.listen, &metrics, hh);
  if (!http.ok()) return Fatal(http.error());

  if (auto s = backend.Start(Notify); !s.ok()) return Fatal(s.message());
  synced = true;

  // Leader failover (failover.h): its own thread, one tick a second.
  K8sLeaseStore leases(transport->get());
  UdpProber prober;
  FailoverMetrics failover_metrics(metrics.registry());
  FailoverOptions fopts;
  fopts.hostname = o.hostname;
  fopts.topology_label = o.topology_label;
  fopts.granularity = o.granularity;
  fopts.override_pins = k.leader_failover_override_pins;
  FailoverDeps fdeps;
  fdeps.backend = &backend;
  fdeps.leases = &leases;
  fdeps.prober = &prober;
  fdeps.metrics = &failover_metrics;
  fdeps.now_ms = [] {
    return static_cast<int64_t>(std::chrono::duration_cast<std::chrono::milliseconds>(
                                    std::chrono::system_clock::now().time_since_epoch())
                                    .count());
  };
  FailoverController failover(fopts, fdeps);
  const bool failover_on = k.leader_failover && o.granularity == Granularity::kLocation;
  std::atomic<bool> failover_stop{false};
  std::thread failover_thread;
  if (failover_on) {
    failover_thread = std::thread([&] {
      auto next = std::chrono::steady_clock::now();
      while (!failover_stop) {
        TickReport t = failover.Tick();
        for (const auto& e : t.errors) {
          metrics.Error("failover");
          Warn("leader failover", {{"error", e}});
        }
        next += std::chrono::seconds(1);
        auto now = std::chrono::steady_clock::now();
        if (next < now) next = now;
        while (!failover_stop && std::chrono::steady_clock::now() < next)
          std::this_thread::sleep_for(std::chrono::milliseconds(50));
      }
    });
  }

  ReconcileLoop(agent, k.resync_period, watchdog);

  failover_stop = true;
  if (failover_thread.joinable()) failover_thread.join();
  // The HTTP server stops beside the hand-over and the clean-up, not after them: civetweb's
  // mg_stop waits for its listener's poll to time out, up to seconds in which a restarting
  // kg (rolling update) could not start yet (e2e failover (e): 1.8 s from "cleaned up" to
  // the next kg's first line).
  std::thread http_stop([&http] { http->reset(); });
  if (failover_on && o.clean_up) HandOverLeadership(failover, agent);
  int rc = 0;
  if (o.clean_up) {
    if (auto s = agent.CleanUp(); !s.ok())
      rc = 1;
    else
      Info("cleaned up");
  }
  backend.Stop();
  http_stop.join();
  Info("stopped");
  return rc;
}

std::string Hostname() {
  char host[256] = {};
  gethostname(host, sizeof host - 1);
  return host;
}

}  // namespace

int Main(int argc, char** argv) {
  InstallCrashHandler();
  // Before any thread starts: kg's threads mostly wait; two arenas are plenty
  // and keep the heap's free pages in fewer places (heap.h).
  LimitMallocArenas(2);
  FixMallocThresholds();
  // `kg webhook ...`: the Peer-validation admission webhook.
  if (argc > 1 && std::string(argv[1]) == "webhook") return webhook::RunWebhook(argc - 1, argv + 1);
  auto flags = ParseFlags(argc, argv, Hostname());
  if (!flags.ok()) {
    std::cerr << "kg: " << flags.error() << "\n";
    return 1;
  }
  switch (flags->action) {
    case ParsedFlags::Action::kHelp:
      std::cout << flags->help;
      return 0;
    case ParsedFlags::Action::kVersion:
      std::cout << kVersion << "\n";
      return 0;
    case ParsedFlags::Action::kRun:
      break;
  }
  SetupLogging(flags->options.log_level, flags->options.log_format);
  return Run(std::move(flags->options));
}

}  // namespace kilo::agent

int main(int argc, char** argv) { return kilo::agent::Main(argc, argv); }
