#pragma once
// A stateful in-memory MeshBackend: a little API server with its objects,
// annotation patches that change them, Events, and an "unreachable" switch.

#include <map>
#include <string>
#include <vector>

#include "agent/backend.h"

namespace kilo::agent {

class FakeBackend : public MeshBackend {
 public:
  Status Start(std::function<void()> on_change) override {
    on_change_ = std::move(on_change);
    return Status::Ok();
  }
  void Stop() override {}
  // The cache survives an outage: Get() keeps returning the last state.
  Snapshot Get() override { return cache_; }
  bool Connected() override { return !unreachable_; }
  Result<bool> PatchNodeAnnotations(const std::string& name,
                                    const AnnotationChanges& changes) override {
    ++patch_calls_;
    if (unreachable_) return Result<bool>::Error("patch node " + name + ": connection refused");
    NodeObject* n = Find(name);
    if (!n) return Result<bool>::Error("node " + name + " not found");
    bool changed = false;
    for (const auto& [k, v] : changes) {
      auto it = n->annotations.find(k);
      if (v) {
        if (it == n->annotations.end() || it->second != *v) {
          n->annotations[k] = *v;
          changed = true;
        }
      } else if (it != n->annotations.end()) {
        n->annotations.erase(it);
        changed = true;
      }
    }
    if (changed) ++patches_;
    return changed;
  }
  Result<bool> RemoveNodeAnnotations(const std::string& name,
                                     const std::vector<std::string>& keys) override {
    if (unreachable_) return Result<bool>::Error("patch node " + name + ": connection refused");
    NodeObject* n = Find(name);
    if (!n) return false;
    bool changed = false;
    for (const auto& k : keys) changed |= n->annotations.erase(k) > 0;
    return changed;
  }
  Status RecordNodeEvent(const std::string& node, const std::string& reason,
                         const std::string& message) override {
    if (unreachable_) return Status::Error("create event: connection refused");
    events_.push_back(node + " " + reason + " " + message);
    return Status::Ok();
  }

  // Test controls (what the API server would hold).
  void SetNode(NodeObject n) {
    if (NodeObject* cur = Find(n.name))
      *cur = std::move(n);
    else
      cache_.nodes.push_back(std::move(n));
  }
  void DeleteNode(const std::string& name) {
    std::erase_if(cache_.nodes, [&](const NodeObject& n) { return n.name == name; });
  }
  void SetPeer(PeerObject p) {
    std::erase_if(cache_.peers, [&](const PeerObject& x) { return x.name == p.name; });
    cache_.peers.push_back(std::move(p));
  }
  void DeletePeer(const std::string& name) {
    std::erase_if(cache_.peers, [&](const PeerObject& x) { return x.name == name; });
  }
  NodeObject* Find(const std::string& name) {
    for (auto& n : cache_.nodes)
      if (n.name == name) return &n;
    return nullptr;
  }
  void SetUnreachable(bool u) { unreachable_ = u; }
  int patches() const { return patches_; }
  int patch_calls() const { return patch_calls_; }
  const std::vector<std::string>& events() const { return events_; }

 private:
  Snapshot cache_;
  std::function<void()> on_change_;
  bool unreachable_ = false;
  int patches_ = 0;
  int patch_calls_ = 0;
  std::vector<std::string> events_;
};

}  // namespace kilo::agent
