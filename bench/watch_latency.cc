// Watch latency and memory of the Kubernetes client (issue: API client).
//
//   watch_latency KUBECONFIG NODE_COUNT ROUNDS
//
// Against a running API emulator preloaded with NODE_COUNT nodes: an
// informer watches Nodes; ROUNDS times, a node annotation is patched through
// KubeClient and the time until the informer's update callback sees the new
// value is recorded. Prints median and p99 latency, and the process's peak RSS
// with the whole cache held. With HEAP_PROBE=1 it also prints the heap in use
// (mallinfo2) after every tenth of the rounds: a client that keeps anything per
// event (a leak in the transport, the watch stream or the informer) shows as
// a line that keeps growing.

#include <malloc.h>

#include <algorithm>
#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <mutex>
#include <string>
#include <vector>

#include "k8s/client.h"
#include "k8s/http_transport.h"
#include "k8s/informer.h"
#include "k8s/kubeconfig.h"

using namespace kilo;
using Clock = std::chrono::steady_clock;

static long PeakRssKb() {
  std::ifstream f("/proc/self/status");
  std::string line;
  while (std::getline(f, line))
    if (line.rfind("VmHWM:", 0) == 0) return std::stol(line.substr(6));
  return -1;
}

int main(int argc, char** argv) {
  if (argc < 4) {
    std::fprintf(stderr, "usage: %s KUBECONFIG NODE_COUNT ROUNDS\n", argv[0]);
    return 2;
  }
  int rounds = std::stoi(argv[3]);
  k8s::LoadOptions lo;
  lo.kubeconfig_path = argv[1];
  auto cfg = k8s::LoadClusterConfig(lo);
  if (!cfg.ok()) {
    std::fprintf(stderr, "%s\n", cfg.error().c_str());
    return 1;
  }
  auto t = k8s::HttpTransport::Create(*cfg);
  if (!t.ok()) {
    std::fprintf(stderr, "%s\n", t.error().c_str());
    return 1;
  }
  std::mutex mu;
  std::condition_variable cv;
  std::string want;
  Clock::time_point seen;
  bool got = false;
  k8s::InformerHandlers<NodeObject> h;
  h.on_update = [&](const NodeObject&, const NodeObject& n) {
    auto it = n.annotations.find("bench.kilo/seq");
    std::lock_guard<std::mutex> lock(mu);
    if (it != n.annotations.end() && it->second == want) {
      seen = Clock::now();
      got = true;
      cv.notify_all();
    }
  };
  auto t0 = Clock::now();
  k8s::Informer<NodeObject> inf(t->get(), h);
  inf.Start();
  if (!inf.WaitForSync(std::chrono::seconds(120))) {
    std::fprintf(stderr, "no sync: %s\n", inf.last_error().c_str());
    return 1;
  }
  double sync_s = std::chrono::duration<double>(Clock::now() - t0).count();
  auto nodes = inf.List();
  if (nodes.empty()) {
    std::fprintf(stderr, "no nodes\n");
    return 1;
  }
  k8s::KubeClient client(t->get());
  std::vector<double> ms;
  ms.reserve(static_cast<size_t>(rounds));
  const bool probe = std::getenv("HEAP_PROBE") != nullptr;
  for (int i = 0; i < rounds; ++i) {
    if (probe && rounds >= 10 && i % (rounds / 10) == 0) {
      malloc_trim(0);
      std::printf("heap_in_use round=%d bytes=%zu\n", i, mallinfo2().uordblks);
      std::fflush(stdout);
    }
    const std::string& name = nodes[static_cast<size_t>(i) % nodes.size()].name;
    {
      std::lock_guard<std::mutex> lock(mu);
      want = std::to_string(i);
      got = false;
    }
    auto start = Clock::now();
    auto r = client.PatchNodeAnnotations(name, {{"bench.kilo/seq", std::to_string(i)}});
    if (!r.ok()) {
      std::fprintf(stderr, "patch: %s\n", r.error().c_str());
      return 1;
    }
    std::unique_lock<std::mutex> lock(mu);
    if (!cv.wait_for(lock, std::chrono::seconds(10), [&] { return got; })) {
      std::fprintf(stderr, "timeout\n");
      return 1;
    }
    ms.push_back(std::chrono::duration<double, std::milli>(seen - start).count());
  }
  std::sort(ms.begin(), ms.end());
  std::printf("nodes=%zu sync=%.2fs rounds=%d median=%.2fms p99=%.2fms max=%.2fms peak_rss=%ldKB\n",
              inf.size(), sync_s, rounds, ms[ms.size() / 2],
              ms[std::min(ms.size() - 1, ms.size() * 99 / 100)], ms.back(), PeakRssKb());
  inf.Stop();
  return 0;
}
