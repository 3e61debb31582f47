#pragma once
// kg's Prometheus metrics (prometheus-cpp registry; served by http.h).

#include <prometheus/counter.h>
#include <prometheus/gauge.h>
#include <prometheus/histogram.h>
#include <prometheus/registry.h>

#include <memory>
#include <string>
#include <vector>

#include "core/thread_annotations.h"

namespace kilo::agent {

struct WgPeerSample {
  std::string public_key;  // public keys only; private keys never reach metrics
  std::string name;        // node or peer name, "" if unknown
  int64_t last_handshake = 0;
  uint64_t rx = 0, tx = 0;
};

// Thread-safe (prometheus-cpp metrics are atomic; peer gauges under a mutex).
class AgentMetrics {
 public:
  AgentMetrics();
  prometheus::Registry& registry() { return *registry_; }
  std::shared_ptr<prometheus::Registry> shared_registry() { return registry_; }

  void Error(const std::string& event);
  double ErrorCount(const std::string& event);
  void Reconciled(double seconds);
  void SetLeader(bool leader) { leader_->Set(leader ? 1 : 0); }
  void SetNodes(int n) { nodes_->Set(n); }
  void SetPeers(int n) { peers_->Set(n); }
  void SetWarnings(int n) { warnings_->Set(n); }
  void SetGranularityMismatches(int n) { granularity_mismatches_->Set(n); }
  void SetIPv4OnlySegments(int n) { ipv4_only_segments_->Set(n); }
  double IPv4OnlySegments() const { return ipv4_only_segments_->Value(); }
  double GranularityMismatches() const { return granularity_mismatches_->Value(); }
  void SetWireGuardPeers(const std::vector<WgPeerSample>& peers) EXCLUDES(mu_);
  // Refreshes process metrics (RSS, CPU seconds, open fds) from /proc.
  void UpdateProcess();

 private:
  std::shared_ptr<prometheus::Registry> registry_;
  prometheus::Family<prometheus::Counter>* errors_;
  prometheus::Counter* reconciles_;
  prometheus::Histogram* duration_;
  prometheus::Gauge* leader_;
  prometheus::Gauge* nodes_;
  prometheus::Gauge* peers_;
  prometheus::Gauge* warnings_;
  prometheus::Gauge* granularity_mismatches_;
  prometheus::Gauge* ipv4_only_segments_;
  prometheus::Family<prometheus::Gauge>* wg_handshake_;
  prometheus::Family<prometheus::Gauge>* wg_rx_;
  prometheus::Family<prometheus::Gauge>* wg_tx_;
  prometheus::Gauge* rss_;
  prometheus::Gauge* cpu_;
  prometheus::Gauge* fds_;
  Mutex mu_;
  std::vector<prometheus::Labels> wg_labels_ GUARDED_BY(mu_);
};

}  // namespace kilo::agent
