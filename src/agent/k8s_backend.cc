#include "agent/k8s_backend.h"

#include "agent/log.h"

namespace kilo::agent {

void TrimNode(const std::string& topology_label, NodeObject* node) {
  std::erase_if(node->annotations, [](const auto& kv) { return !IsKiloAnnotation(kv.first); });
  std::erase_if(node->labels, [&](const auto& kv) { return kv.first != topology_label; });
}

bool NodeUpdateMatters(const NodeObject& old_obj, const NodeObject& new_obj) {
  return !SameContent(old_obj, new_obj);
}

bool CanJoinTheMesh(const NodeObject& n) {
  const auto& a = n.annotations;
  return (!n.pod_cidr.empty() || !n.pod_cidrs.empty()) && a.count(kAnnKey) &&
         a.count(kAnnLastSeen) && (a.count(kAnnEndpoint) || a.count(kAnnForceEndpoint));
}

K8sMeshBackend::K8sMeshBackend(k8s::Transport* transport, K8sBackendOptions opts)
    : transport_(transport), opts_(std::move(opts)), client_(transport) {}

K8sMeshBackend::~K8sMeshBackend() { Stop(); }

Status K8sMeshBackend::Start(std::function<void()> on_change) {
  if (auto s = client_.CheckPeerCRD(); !s.ok()) return s;
  k8s::InformerOptions io;
  io.log = [this](const std::string& m) {
    Warn("watch", {{"detail", m}});
    if (on_error_) on_error_();
  };
  k8s::InformerHandlers<NodeObject> nh;
  // Only what can change the mesh wakes the agent (work in proportion to the
  // change: 5,000 agent-less Nodes being created cost no reconcile each).
  auto matters = [self = opts_.hostname](const NodeObject& n) {
    return n.name == self || CanJoinTheMesh(n);
  };
  nh.on_add = [on_change, matters](const NodeObject& n) {
    if (matters(n)) on_change();
  };
  nh.on_update = [on_change, matters](const NodeObject& o, const NodeObject& n) {
    if (NodeUpdateMatters(o, n) && (matters(o) || matters(n))) on_change();
  };
  nh.on_delete = [on_change, matters](const NodeObject& o) {
    if (matters(o)) on_change();
  };
  nh.transform = [label = opts_.topology_label](NodeObject* n) { TrimNode(label, n); };
  k8s::InformerHandlers<PeerObject> ph;
  ph.on_add = [on_change](const PeerObject&) { on_change(); };
  ph.on_update = [on_change](const PeerObject& o, const PeerObject& n) {
    if (!SameContent(o, n)) on_change();
  };
  ph.on_delete = [on_change](const PeerObject&) { on_change(); };
  nodes_ = std::make_unique<k8s::Informer<NodeObject>>(transport_, nh, io);
  peers_ = std::make_unique<k8s::Informer<PeerObject>>(transport_, ph, io);
  client_.SetNodeCache(nodes_.get());
  nodes_->Start();
  peers_->Start();
  for (int i = 0; i < 600; ++i) {
    if (nodes_->WaitForSync(std::chrono::milliseconds(100)) &&
        peers_->WaitForSync(std::chrono::milliseconds(100)))
      return Status::Ok();
    if (i % 50 == 49) {
      Warn("waiting for the API server",
           {{"nodes", nodes_->last_error()}, {"peers", peers_->last_error()}});
    }
  }
  return Status::Error(
      "could not list Nodes and Peers from " + transport_->server() + ": " +
      (nodes_->last_error().empty() ? peers_->last_error() : nodes_->last_error()));
}

bool K8sMeshBackend::Connected() {
  return nodes_ && peers_ && nodes_->last_error().empty() && peers_->last_error().empty();
}

void K8sMeshBackend::Stop() {
  if (nodes_) nodes_->Stop();
  if (peers_) peers_->Stop();
}

Snapshot K8sMeshBackend::Get() {
  Snapshot s;
  if (nodes_) s.nodes = nodes_->List();
  if (peers_) s.peers = peers_->List();
  return s;
}

void K8sMeshBackend::Visit(const std::function<void(const NodeObject&)>& on_node,
                           const std::function<void(const PeerObject&)>& on_peer) {
  if (nodes_) nodes_->ForEach(on_node);
  if (peers_) peers_->ForEach(on_peer);
}

std::optional<NodeObject> K8sMeshBackend::GetNode(const std::string& name) {
  if (!nodes_) return std::nullopt;
  return nodes_->Get(name);
}

Result<bool> K8sMeshBackend::PatchNodeAnnotations(const std::string& name,
                                                  const AnnotationChanges& changes) {
  return client_.PatchNodeAnnotations(name, changes);
}

Result<bool> K8sMeshBackend::RemoveNodeAnnotations(const std::string& name,
                                                   const std::vector<std::string>& keys) {
  return client_.RemoveNodeAnnotations(name, keys);
}

Status K8sMeshBackend::RecordNodeEvent(const std::string& node, const std::string& reason,
                                       const std::string& message) {
  k8s::NodeEvent ev;
  ev.node_name = node;
  ev.reason = reason;
  ev.message = message;
  ev.host = node;
  if (nodes_) {
    if (auto n = nodes_->Get(node)) ev.node_uid = n->uid;
  }
  return client_.CreateEvent(ev);
}

}  // namespace kilo::agent
