#pragma once
// Fakes for the leader failover (agent/failover.h): a Lease store with
// resourceVersions and 409s, as the API server keeps Leases, and a prober
// answering from a table.

#include <map>
#include <set>
#include <string>

#include "agent/failover.h"

namespace kilo::agent {

class FakeLeaseStore : public LeaseStore {
 public:
  Result<std::optional<k8s::LeaseObject>> Get(const std::string& name) override {
    if (unreachable_)
      return Result<std::optional<k8s::LeaseObject>>::Error("get lease: connection refused");
    auto it = leases_.find(name);
    if (it == leases_.end()) return std::optional<k8s::LeaseObject>();
    return std::optional<k8s::LeaseObject>(it->second);
  }
  Result<std::optional<k8s::LeaseObject>> Create(const k8s::LeaseObject& l) override {
    if (unreachable_)
      return Result<std::optional<k8s::LeaseObject>>::Error("create lease: connection refused");
    if (leases_.count(l.name)) return std::optional<k8s::LeaseObject>();  // 409 AlreadyExists
    k8s::LeaseObject c = l;
    c.resource_version = std::to_string(++rv_);
    leases_[l.name] = c;
    ++writes_;
    return std::optional<k8s::LeaseObject>(c);
  }
  Result<std::optional<k8s::LeaseObject>> Update(const k8s::LeaseObject& l) override {
    if (unreachable_)
      return Result<std::optional<k8s::LeaseObject>>::Error("update lease: connection refused");
    auto it = leases_.find(l.name);
    if (it == leases_.end())
      return Result<std::optional<k8s::LeaseObject>>::Error("lease " + l.name + " not found");
    if (l.resource_version != it->second.resource_version)
      return std::optional<k8s::LeaseObject>();  // 409
    k8s::LeaseObject c = l;
    c.resource_version = std::to_string(++rv_);
    it->second = c;
    ++writes_;
    return std::optional<k8s::LeaseObject>(c);
  }

  std::string Holder(const std::string& name) const {
    auto it = leases_.find(name);
    return it == leases_.end() ? "" : it->second.holder_identity;
  }
  void SetUnreachable(bool u) { unreachable_ = u; }
  int writes() const { return writes_; }

 private:
  std::map<std::string, k8s::LeaseObject> leases_;
  int rv_ = 100;
  int writes_ = 0;
  bool unreachable_ = false;
};

class FakeProber : public Prober {
 public:
  std::map<IPAddr, bool> Probe(const std::vector<IPAddr>& targets) override {
    std::map<IPAddr, bool> out;
    for (const auto& t : targets) out[t] = !down_ && !unreachable_.count(t);
    ++rounds_;
    return out;
  }
  void SetUnreachable(const IPAddr& a, bool u) {
    if (u)
      unreachable_.insert(a);
    else
      unreachable_.erase(a);
  }
  void SetDown(bool d) { down_ = d; }  // every probe lost
  int rounds() const { return rounds_; }

 private:
  std::set<IPAddr> unreachable_;
  bool down_ = false;
  int rounds_ = 0;
};

}  // namespace kilo::agent
