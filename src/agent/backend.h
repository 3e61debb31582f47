#pragma once
// The agent's view of the cluster API: snapshots of Nodes and Peers, change
// notifications, and writes to its own Node. The real implementation is on
// the Kubernetes client (k8s_backend.h); tests use tests/fakes/agent.

#include <functional>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "core/objects.h"
#include "core/status.h"

namespace kilo::agent {

struct Snapshot {
  std::vector<NodeObject> nodes;
  std::vector<PeerObject> peers;
};

using AnnotationChanges = std::map<std::string, std::optional<std::string>>;

class MeshBackend {
 public:
  virtual ~MeshBackend() = default;
  // Starts watching Nodes and Peers and waits until the first list is in.
  // `on_change` is called (from any thread) after each add/update/delete.
  // Fails with a clear message (e.g. the Peer CRD is missing).
  virtual Status Start(std::function<void()> on_change) = 0;
  virtual void Stop() = 0;
  // The latest known objects (kept through API outages).
  virtual Snapshot Get() = 0;
  // Calls `on_node` for every Node, then `on_peer` for every Peer of the
  // latest snapshot, without copying them: the agent reads every Node of a
  // large cluster on every resync. The references are valid during the call
  // only. REQUIRES: the callbacks call nothing of the backend (they may run
  // under its lock). The default visits a copy (Get()).
  virtual void Visit(const std::function<void(const NodeObject&)>& on_node,
                     const std::function<void(const PeerObject&)>& on_peer) {
    Snapshot s = Get();
    for (const auto& n : s.nodes) on_node(n);
    for (const auto& p : s.peers) on_peer(p);
  }
  // Returns the Node named `name` of the latest snapshot, or nullopt. The
  // default searches a copy (Get()).
  virtual std::optional<NodeObject> GetNode(const std::string& name) {
    for (auto& n : Get().nodes)
      if (n.name == name) return std::move(n);
    return std::nullopt;
  }
  // False while the API server cannot be reached (lists/watches failing): the
  // snapshot is then frozen, and heartbeats in it must not be taken as stale.
  virtual bool Connected() = 0;
  // Sets/removes (nullopt) annotations of node `name`; sends nothing when the
  // cached node already carries these values. Returns whether it sent.
  virtual Result<bool> PatchNodeAnnotations(const std::string& name,
                                            const AnnotationChanges& changes) = 0;
  virtual Result<bool> RemoveNodeAnnotations(const std::string& name,
                                             const std::vector<std::string>& keys) = 0;
  // Records a Warning Event on a Node.
  virtual Status RecordNodeEvent(const std::string& node, const std::string& reason,
                                 const std::string& message) = 0;
};

}  // namespace kilo::agent
