#include "agent/metrics.h"

#include <dirent.h>
#include <unistd.h>

#include <fstream>
#include <sstream>

#include "agent/heap.h"

namespace kilo::agent {

AgentMetrics::AgentMetrics() : registry_(std::make_shared<prometheus::Registry>()) {
  using namespace prometheus;
  errors_ = &BuildCounter()
                 .Name("kilo_errors_total")
                 .Help("Number of errors that occurred while reconciling, by event")
                 .Register(*registry_);
  reconciles_ = &BuildCounter()
                     .Name("kilo_reconciles_total")
                     .Help("Number of reconciliation attempts")
                     .Register(*registry_)
                     .Add({});
  duration_ = &BuildHistogram()
                   .Name("kilo_reconcile_duration_seconds")
                   .Help("Duration of reconciliations")
                   .Register(*registry_)
                   .Add({}, Histogram::BucketBoundaries{0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25,
                                                        0.5, 1, 2.5, 5});
  leader_ = &BuildGauge()
                 .Name("kilo_leader")
                 .Help("Leadership status of the node (1 = leader)")
                 .Register(*registry_)
                 .Add({});
  nodes_ = &BuildGauge()
                .Name("kilo_nodes")
                .Help("Number of ready nodes in the mesh")
                .Register(*registry_)
                .Add({});
  peers_ = &BuildGauge()
                .Name("kilo_peers")
                .Help("Number of ready peers in the mesh")
                .Register(*registry_)
                .Add({});
  warnings_ = &BuildGauge()
                   .Name("kilo_invalid_values")
                   .Help("Number of invalid annotation and Peer values currently ignored")
                   .Register(*registry_)
                   .Add({});
  granularity_mismatches_ = &BuildGauge()
                                 .Name("kilo_granularity_mismatch_nodes")
                                 .Help(
                                     "In cross granularity: ready nodes whose granularity "
                                     "annotation says another granularity")
                                 .Register(*registry_)
                                 .Add({});
  ipv4_only_segments_ =
      &BuildGauge()
           .Name("kilo_dual_stack_ipv4_only_segments")
           .Help(
               "Dual-stack: segments with IPv6 pod CIDRs that this node reaches over IPv4 only "
               "(their leader, or its own, does not advertise kg.kilo.squat.ai/dual-stack)")
           .Register(*registry_)
           .Add({});
  wg_handshake_ = &BuildGauge()
                       .Name("kilo_wireguard_peer_latest_handshake_seconds")
                       .Help("Unix time of the latest handshake with a WireGuard peer")
                       .Register(*registry_);
  wg_rx_ = &BuildGauge()
                .Name("kilo_wireguard_peer_receive_bytes")
                .Help("Bytes received from a WireGuard peer")
                .Register(*registry_);
  wg_tx_ = &BuildGauge()
                .Name("kilo_wireguard_peer_transmit_bytes")
                .Help("Bytes sent to a WireGuard peer")
                .Register(*registry_);
  rss_ = &BuildGauge()
              .Name("process_resident_memory_bytes")
              .Help("Resident memory size in bytes")
              .Register(*registry_)
              .Add({});
  cpu_ = &BuildGauge()
              .Name("process_cpu_seconds_total")
              .Help("User and system CPU time in seconds")
              .Register(*registry_)
              .Add({});
  fds_ = &BuildGauge()
              .Name("process_open_fds")
              .Help("Number of open file descriptors")
              .Register(*registry_)
              .Add({});
  // Pre-create the usual error events so they are visible at 0.
  for (const char* e : {"reconcile", "wireguard", "routes", "rules", "firewall", "cni", "publish",
                        "interface", "backend", "watch"})
    errors_->Add({{"event", e}});
}

void AgentMetrics::Error(const std::string& event) { errors_->Add({{"event", event}}).Increment(); }

double AgentMetrics::ErrorCount(const std::string& event) {
  return errors_->Add({{"event", event}}).Value();
}

void AgentMetrics::Reconciled(double seconds) {
  reconciles_->Increment();
  duration_->Observe(seconds);
}

void AgentMetrics::SetWireGuardPeers(const std::vector<WgPeerSample>& peers) {
  MutexLock lock(&mu_);
  for (const auto& l : wg_labels_) {
    wg_handshake_->Remove(&wg_handshake_->Add(l));
    wg_rx_->Remove(&wg_rx_->Add(l));
    wg_tx_->Remove(&wg_tx_->Add(l));
  }
  wg_labels_.clear();
  for (const auto& p : peers) {
    prometheus::Labels l{{"public_key", p.public_key}, {"name", p.name}};
    wg_handshake_->Add(l).Set(static_cast<double>(p.last_handshake));
    wg_rx_->Add(l).Set(static_cast<double>(p.rx));
    wg_tx_->Add(l).Set(static_cast<double>(p.tx));
    wg_labels_.push_back(l);
  }
}

void AgentMetrics::UpdateProcess() {
  if (size_t rss = ResidentBytes()) rss_->Set(static_cast<double>(rss));
  std::ifstream stat("/proc/self/stat");
  std::string line;
  if (std::getline(stat, line)) {
    size_t rp = line.rfind(')');
    std::istringstream ss(line.substr(rp + 2));
    std::string f;
    unsigned long utime = 0, stime = 0;
    for (int i = 3; i <= 15 && ss >> f; ++i) {
      if (i == 14) utime = std::stoul(f);
      if (i == 15) stime = std::stoul(f);
    }
    cpu_->Set(static_cast<double>(utime + stime) / sysconf(_SC_CLK_TCK));
  }
  int n = 0;
  if (DIR* d = opendir("/proc/self/fd")) {
    while (readdir(d)) ++n;
    closedir(d);
    fds_->Set(n - 2);
  }
}

}  // namespace kilo::agent
