// kg's heap, part by part (bench/README.md, "Heap by part"; run by
// bench/heap_parts.sh).
//
//   heap_parts NODES.json PEERS.json HOSTNAME NOW [KUBECONFIG]
//
// NODES.json and PEERS.json hold the API server's List responses to the
// informers' paginated LIST, one page a line, each but the last with the index
// of the next page as its continue token (scripts/gen-cluster.py, split by
// heap_parts.sh); HOSTNAME is a ready node
// of them, NOW the unix time their heartbeats are judged at. Builds kg's parts
// one after the other, as kg's main does, with the real code and fakes only
// where kg would talk to the kernel or the network, and prints the heap each
// part holds afterwards: the growth of mallinfo2()'s in-use bytes (arena
// chunks + mmapped chunks) across its construction. With KUBECONFIG (the API
// emulator, tests/apiserver/serve), also the TLS state of one connection. Last line: "heap_parts:
// NODES=a metrics+http=b informers=c ..." (bytes).

#include <malloc.h>

#include <chrono>
#include <cstdio>
#include <fstream>
#include <string>
#include <thread>
#include <vector>

#include "agent/agent.h"
#include "agent/http.h"
#include "agent/k8s_backend.h"
#include "agent/metrics.h"
#include "core/host_plan.h"
#include "core/topology.h"
#include "core/translate.h"
#include "fakes/agent/fake_backend.h"
#include "fakes/agent/fake_fs.h"
#include "fakes/firewall/fake_firewall.h"
#include "fakes/k8s/fake_transport.h"
#include "fakes/netlink/fake_netlink.h"
#include "fakes/wg/fake_wireguard.h"
#include "k8s/http_transport.h"
#include "k8s/kubeconfig.h"

using namespace kilo;

namespace {

int64_t InUse() {
  struct mallinfo2 mi = mallinfo2();
  return static_cast<int64_t>(mi.uordblks + mi.hblkhd);
}

std::vector<std::string> ReadLines(const char* path) {
  std::ifstream f(path, std::ios::binary);
  std::vector<std::string> lines;
  for (std::string line; std::getline(f, line);) lines.push_back(std::move(line));
  return lines;
}

// The page a LIST request asks for: its continue token, or the first.
size_t PageOf(const std::string& path) {
  size_t at = path.find("continue=");
  return at == std::string::npos ? 0 : std::stoul(path.substr(at + 9));
}

// Prints one part: its heap, and per Node when `per` is non-zero.
void Row(const char* part, int64_t bytes, size_t per = 0) {
  if (per) {
    std::printf("%-58s %12lld B  (%lld B per Node)\n", part, static_cast<long long>(bytes),
                static_cast<long long>(bytes / static_cast<int64_t>(per)));
  } else {
    std::printf("%-58s %12lld B\n", part, static_cast<long long>(bytes));
  }
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 5) {
    std::fprintf(stderr, "usage: %s NODES.json PEERS.json HOSTNAME NOW [KUBECONFIG]\n", argv[0]);
    return 2;
  }
  const std::vector<std::string> node_pages = ReadLines(argv[1]);
  const std::vector<std::string> peer_pages = ReadLines(argv[2]);
  const std::string host = argv[3];
  const int64_t now = std::stoll(argv[4]);
  std::string summary;
  auto note = [&summary](const std::string& k, int64_t v) {
    summary += " " + k + "=" + std::to_string(v);
  };

  // 1. Metrics registry and the HTTP server (civetweb: a master and 2 workers).
  int64_t t0 = InUse();
  agent::AgentMetrics metrics;
  int64_t t1 = InUse();
  agent::HttpHandlers hh;
  hh.dot = [] { return std::string(); };
  hh.healthy = [] { return true; };
  auto http = agent::HttpServer::Start("127.0.0.1:0", &metrics, hh);
  if (!http.ok()) {
    std::fprintf(stderr, "http: %s\n", http.error().c_str());
    return 1;
  }
  std::this_thread::sleep_for(std::chrono::milliseconds(200));
  int64_t t2 = InUse();
  Row("metrics registry (prometheus-cpp, kg's families)", t1 - t0);
  Row("HTTP server (civetweb context, 3 threads)", t2 - t1);

  // 2. The Node and Peer informers, synced from the List responses, their
  // watches idle (a fake transport: no connection state in this figure).
  k8s::testing::FakeTransport transport;
  transport.do_handler = [&](const k8s::HttpRequest& req) -> Result<k8s::HttpResponse> {
    k8s::HttpResponse r;
    r.status = 200;
    if (req.path.rfind("/api/v1/nodes", 0) == 0) {
      r.body = node_pages.at(PageOf(req.path));
    } else if (req.path.find("/peers") != std::string::npos) {
      r.body = peer_pages.at(PageOf(req.path));
    } else {
      r.body = "{}";  // the Peer CRD check
    }
    return r;
  };
  agent::K8sMeshBackend backend(&transport, {kDefaultTopologyLabel, host});
  if (auto s = backend.Start([] {}); !s.ok()) {
    std::fprintf(stderr, "informers: %s\n", s.message().c_str());
    return 1;
  }
  // The informer reports synced before it drops the copies it handed to its
  // handlers: let it finish.
  std::this_thread::sleep_for(std::chrono::milliseconds(500));
  int64_t t3 = InUse();
  agent::Snapshot snap = backend.Get();
  const size_t n_nodes = snap.nodes.size();
  int64_t t4 = InUse();
  Row("informer caches (Nodes trimmed by TrimNode, Peers)", t3 - t2, n_nodes);
  Row("  a reconcile's snapshot of them (transient copy)", t4 - t3, n_nodes);

  // 3. The agent after two resyncs, on fakes of WireGuard, netlink, nftables
  // and the file system (their recorded state is a few kB, the same at every
  // size: only HOSTNAME's few peers and routes).
  agent::FakeBackend fb;
  for (const auto& n : snap.nodes) fb.SetNode(n);
  for (const auto& p : snap.peers) fb.SetPeer(p);
  wg::FakeWireGuard wgc;
  wgc.AddDevice("kilo0");
  netlink::FakeNetlink nl;
  nl.AddLinkNow({0, "kilo0", "wireguard", 1420, false, false});
  nl.AddLinkNow({0, "eth0", "veth", 1500, true, false});
  fw::FakeFirewall firewall;
  agent::FakeFS fs;
  agent::AgentDeps deps;
  deps.backend = &fb;
  deps.wg = &wgc;
  deps.nl = &nl;
  deps.firewall = &firewall;
  deps.fs = &fs;
  deps.metrics = &metrics;
  deps.now = [now] { return now; };
  deps.resolve = [](const std::string&) { return std::optional<IPAddr>(); };
  deps.private_key = Key::GeneratePrivate();
  deps.internal_ip = IPPrefix::Parse("10.0.0.1/24");
  deps.internal_iface = "eth0";
  deps.external_ip = *IPAddr::Parse("192.0.2.1");
  agent::AgentOptions opts;
  opts.hostname = host;
  opts.encapsulate = Encapsulation::kNever;  // as bench/agent_footprint.sh's cluster
  int64_t t5 = InUse();
  auto a = std::make_unique<agent::Agent>(opts, deps);
  agent::ReconcileReport rep = a->Reconcile(agent::Trigger::kResync);
  rep = a->Reconcile(agent::Trigger::kResync);
  int64_t t6 = InUse();
  Row("agent after a resync (translation cache, last device, DOT)", t6 - t5, n_nodes);
  if (!rep.applied) std::printf("  (not applied: %s)\n", rep.skipped_reason.c_str());

  // 4. What a resync builds and drops again: the translations of the ready
  // Nodes, the mesh, this host's topology and plan, the DOT.
  TranslateOptions topts;
  std::vector<Node> ready;
  std::vector<Peer> ready_peers;
  std::vector<Warning> warnings;
  for (const auto& o : snap.nodes) {
    Node n = TranslateNode(o, topts, &warnings);
    if (n.Ready(now)) ready.push_back(std::move(n));
  }
  for (const auto& o : snap.peers) {
    if (auto p = TranslatePeer(o, &warnings); p && p->Ready()) ready_peers.push_back(*p);
  }
  const size_t n_ready = ready.size();
  int64_t t7 = InUse();
  MeshOptions mo;
  auto mesh = Mesh::Build(ready, ready_peers, mo, &warnings);
  if (!mesh.ok()) {
    std::fprintf(stderr, "mesh: %s\n", mesh.error().c_str());
    return 1;
  }
  HostOptions ho;
  ho.private_key = deps.private_key;
  auto topo = Topology::ForHost(*mesh, host, ho);
  if (!topo) {
    std::fprintf(stderr, "%s is not a ready node\n", host.c_str());
    return 1;
  }
  HostPlan plan = PlanHost(*topo, a->PlanOptions());
  std::string dot = topo->Dot();
  int64_t t8 = InUse();
  char label[96];
  std::snprintf(label, sizeof label, "  mesh + topology + host plan + DOT (%zu ready, transient)",
                n_ready);
  Row(label, t8 - t7);

  note("nodes", static_cast<int64_t>(n_nodes));
  note("ready", static_cast<int64_t>(n_ready));
  note("metrics", t1 - t0);
  note("http", t2 - t1);
  note("informers", t3 - t2);
  note("snapshot", t4 - t3);
  note("agent", t6 - t5);
  note("mesh_plan", t8 - t7);

  // 5. The HTTPS transport: the transport and one connection kept alive
  // (kg holds three: its client and the two watches).
  if (argc > 5) {
    k8s::LoadOptions lo;
    lo.kubeconfig_path = argv[5];
    auto cfg = k8s::LoadClusterConfig(lo);
    if (!cfg.ok()) {
      std::fprintf(stderr, "kubeconfig: %s\n", cfg.error().c_str());
      return 1;
    }
    int64_t c0 = InUse();
    auto t = k8s::HttpTransport::Create(*cfg);
    if (!t.ok()) {
      std::fprintf(stderr, "transport: %s\n", t.error().c_str());
      return 1;
    }
    int64_t c1 = InUse();
    k8s::HttpRequest req;
    req.path = "/api/v1/nodes?limit=1";
    auto r = (*t)->Do(req);
    if (!r.ok() || r->status != 200) {
      std::fprintf(stderr, "GET: %s\n",
                   r.ok() ? std::to_string(r->status).c_str() : r.error().c_str());
      return 1;
    }
    r = Result<k8s::HttpResponse>(k8s::HttpResponse{});
    int64_t c2 = InUse();
    Row("HTTPS transport (mbedTLS): the transport (CA, credentials)", c1 - c0);
    Row("HTTPS transport (mbedTLS): one connection kept alive", c2 - c1);
    note("tls_transport", c1 - c0);
    note("tls_connection", c2 - c1);
  }
  backend.Stop();
  std::printf("heap_parts:%s\n", summary.c_str());
  return 0;
}
