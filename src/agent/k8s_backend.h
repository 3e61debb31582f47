#pragma once
// MeshBackend over the Kubernetes API: Node and Peer informers plus the
// client's annotation patches and Events.

#include <memory>
#include <string>

#include "agent/backend.h"
#include "k8s/client.h"
#include "k8s/informer.h"
#include "k8s/transport.h"

namespace kilo::agent {

class K8sMeshBackend : public MeshBackend {
 public:
  // REQUIRES: transport outlives the backend.
  explicit K8sMeshBackend(k8s::Transport* transport);
  ~K8sMeshBackend() override;

  Status Start(std::function<void()> on_change) override;
  void Stop() override;
  Snapshot Get() override;
  bool Connected() override;
  // Called on every failed LIST/watch (for kilo_errors_total{event="watch"}).
  void SetErrorCallback(std::function<void()> cb) { on_error_ = std::move(cb); }
  Result<bool> PatchNodeAnnotations(const std::string& name, const AnnotationChanges& changes) override;
  Result<bool> RemoveNodeAnnotations(const std::string& name, const std::vector<std::string>& keys) override;
  Status RecordNodeEvent(const std::string& node, const std::string& reason,
                         const std::string& message) override;

 private:
  k8s::Transport* transport_;
  k8s::KubeClient client_;
  std::unique_ptr<k8s::Informer<NodeObject>> nodes_;
  std::unique_ptr<k8s::Informer<PeerObject>> peers_;
  std::function<void()> on_error_;
};

}  // namespace kilo::agent
