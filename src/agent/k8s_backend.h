#pragma once
// MeshBackend over the Kubernetes API: Node and Peer informers plus the
// client's annotation patches and Events.

#include <functional>
#include <memory>
#include <string>

#include "agent/backend.h"
#include "k8s/client.h"
#include "k8s/informer.h"
#include "k8s/transport.h"

namespace kilo::agent {

// Keeps of a Node only what the mesh and the annotation patches read: the
// kilo.squat.ai/ and kg.kilo.squat.ai/ annotations and the topology label (a Node of a real
// cluster carries a few kB of other labels, annotations and status).
void TrimNode(const std::string& topology_label, NodeObject* node);

// Whether a Node update changes what the agent reads (false for an update
// that changed only what TrimNode dropped, e.g. a kubelet status update).
bool NodeUpdateMatters(const NodeObject& old_obj, const NodeObject& new_obj);

// Whether `n` carries what a Node needs to be ready (Node::Ready): a key, an
// endpoint (or a forced one), a last-seen and a pod CIDR. A Node without
// them, before and after a change, cannot be in the mesh: its creation,
// update or deletion needs no reconcile (the next resync still reads it, e.g.
// to report a bad annotation).
bool CanJoinTheMesh(const NodeObject& n);

struct K8sBackendOptions {
  // The one label of a Node the mesh reads (--topology-label).
  std::string topology_label = kDefaultTopologyLabel;
  // This node: every change of it wakes the agent.
  std::string hostname;
};

class K8sMeshBackend : public MeshBackend {
 public:
  // REQUIRES: transport outlives the backend.
  explicit K8sMeshBackend(k8s::Transport* transport, K8sBackendOptions opts = {});
  ~K8sMeshBackend() override;

  Status Start(std::function<void()> on_change) override;
  void Stop() override;
  Snapshot Get() override;
  void Visit(const std::function<void(const NodeObject&)>& on_node,
             const std::function<void(const PeerObject&)>& on_peer) override;
  std::optional<NodeObject> GetNode(const std::string& name) override;
  bool Connected() override;
  // Called on every failed LIST/watch (for kilo_errors_total{event="watch"}).
  void SetErrorCallback(std::function<void()> cb) { on_error_ = std::move(cb); }
  Result<bool> PatchNodeAnnotations(const std::string& name,
                                    const AnnotationChanges& changes) override;
  Result<bool> RemoveNodeAnnotations(const std::string& name,
                                     const std::vector<std::string>& keys) override;
  Status RecordNodeEvent(const std::string& node, const std::string& reason,
                         const std::string& message) override;

 private:
  k8s::Transport* transport_;
  K8sBackendOptions opts_;
  k8s::KubeClient client_;
  std::unique_ptr<k8s::Informer<NodeObject>> nodes_;
  std::unique_ptr<k8s::Informer<PeerObject>> peers_;
  std::function<void()> on_error_;
};

}  // namespace kilo::agent
