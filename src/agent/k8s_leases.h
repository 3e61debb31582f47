#pragma once
// LeaseStore (failover.h) over the Kubernetes API: Leases in kube-system.

#include "agent/failover.h"
#include "k8s/client.h"
#include "k8s/transport.h"

namespace kilo::agent {

class K8sLeaseStore : public LeaseStore {
 public:
  // REQUIRES: transport outlives the store.
  explicit K8sLeaseStore(k8s::Transport* transport) : client_(transport) {}
  Result<std::optional<k8s::LeaseObject>> Get(const std::string& name) override {
    return client_.GetLease(k8s::kLeaseNamespace, name);
  }
  Result<std::optional<k8s::LeaseObject>> Create(const k8s::LeaseObject& l) override {
    return client_.CreateLease(l);
  }
  Result<std::optional<k8s::LeaseObject>> Update(const k8s::LeaseObject& l) override {
    return client_.UpdateLease(l);
  }

 private:
  k8s::KubeClient client_;
};

}  // namespace kilo::agent
