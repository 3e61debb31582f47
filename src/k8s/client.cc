#include "k8s/client.h"

#include <cstdio>

#include "core/objects_json.h"
#include "k8s/credentials.h"
#include "k8s/decode.h"

namespace kilo::k8s {
namespace {

using nlohmann::json;

std::string NodePath(const std::string& name) {
  return std::string(kNodesPath) + "/" + QueryEscape(name);
}
std::string PeerPath(const std::string& name) {
  return std::string(kPeersPath) + "/" + QueryEscape(name);
}

}  // namespace

std::string EscapeJsonPointer(std::string_view token) {
  std::string out;
  out.reserve(token.size());
  for (char c : token) {
    if (c == '~') {
      out += "~0";
    } else if (c == '/') {
      out += "~1";
    } else {
      out.push_back(c);
    }
  }
  return out;
}

std::optional<std::string> BuildAnnotationMergePatch(
    const std::map<std::string, std::string>* current, const AnnotationChanges& changes) {
  json anns = json::object();
  for (const auto& [key, value] : changes) {
    if (current) {
      auto it = current->find(key);
      bool present = it != current->end();
      if (!value && !present) continue;                        // already absent
      if (value && present && it->second == *value) continue;  // already equal
    }
    if (value) {
      anns[key] = *value;
    } else {
      anns[key] = nullptr;
    }
  }
  if (anns.empty()) return std::nullopt;
  return json{{"metadata", {{"annotations", anns}}}}.dump();
}

std::optional<std::string> BuildRemoveAnnotationsPatch(
    const std::map<std::string, std::string>& current, const std::vector<std::string>& keys) {
  std::map<std::string, bool> wanted;
  for (const auto& k : keys) wanted[k] = true;
  json ops = json::array();
  for (const auto& [k, _] : wanted) {
    if (!current.count(k)) continue;
    ops.push_back({{"op", "remove"}, {"path", "/metadata/annotations/" + EscapeJsonPointer(k)}});
  }
  if (ops.empty()) return std::nullopt;
  return ops.dump();
}

KubeClient::KubeClient(Transport* transport, KubeClientOptions opts)
    : transport_(transport), opts_(std::move(opts)) {}

std::chrono::system_clock::time_point KubeClient::Now() const {
  return opts_.now ? opts_.now() : std::chrono::system_clock::now();
}

Result<HttpResponse> KubeClient::Call(const std::string& method, const std::string& path,
                                      const std::string& body, const std::string& content_type) {
  HttpRequest req;
  req.method = method;
  req.path = path;
  req.body = body;
  req.content_type = content_type;
  return transport_->Do(req);
}

std::string KubeClient::ErrorFor(const HttpResponse& resp, const std::string& method,
                                 const std::string& path) const {
  return DescribeHttpError(resp, method, transport_->server() + path,
                           transport_->credential_source());
}

Result<json> KubeClient::ParseBody(const HttpResponse& resp, const std::string& method,
                                   const std::string& path) const {
  json j = json::parse(resp.body, nullptr, false);
  if (j.is_discarded() || !j.is_object()) {
    return Result<json>::Error(method + " " + transport_->server() + path +
                               ": response is not a JSON object");
  }
  return j;
}

Result<bool> KubeClient::PatchNodeAnnotations(const std::string& name,
                                              const AnnotationChanges& changes) {
  std::optional<NodeObject> cached;
  if (nodes_) cached = nodes_->Get(name);
  auto body = BuildAnnotationMergePatch(cached ? &cached->annotations : nullptr, changes);
  if (!body) return false;  // the node already carries exactly these values
  const std::string path = NodePath(name);
  auto r = Call("PATCH", path, *body, kMergePatchType);
  if (!r) return Result<bool>::Error("patch annotations of node " + name + ": " + r.error());
  if (r->status != 200) {
    return Result<bool>::Error("patch annotations of node " + name + ": " +
                               ErrorFor(*r, "PATCH", path));
  }
  return true;
}

Result<bool> KubeClient::RemoveNodeAnnotations(const std::string& name,
                                               const std::vector<std::string>& keys) {
  const std::string path = NodePath(name);
  const std::string what = "remove annotations of node " + name;
  std::optional<NodeObject> node;
  if (nodes_) node = nodes_->Get(name);
  for (int attempt = 0; attempt < 2; ++attempt) {
    if (!node) {
      auto g = GetNode(name);
      if (!g) return Result<bool>::Error(what + ": " + g.error());
      node = std::move(*g);
    }
    auto body = BuildRemoveAnnotationsPatch(node->annotations, keys);
    if (!body) return false;
    auto r = Call("PATCH", path, *body, kJsonPatchType);
    if (!r) return Result<bool>::Error(what + ": " + r.error());
    if (r->status == 200) return true;
    // A "remove" of a key that someone else removed meanwhile fails the whole
    // patch (422): our view was stale, so look again once.
    if (r->status == 422 && attempt == 0) {
      node.reset();
      continue;
    }
    return Result<bool>::Error(what + ": " + ErrorFor(*r, "PATCH", path));
  }
  return Result<bool>::Error(what + ": the node kept changing");
}

Result<NodeObject> KubeClient::GetNode(const std::string& name) {
  const std::string path = NodePath(name);
  auto r = Call("GET", path);
  if (!r) return r.status();
  if (r->status != 200) return Result<NodeObject>::Error(ErrorFor(*r, "GET", path));
  auto node = DecodeNodeObject(r->body);
  if (!node) return node.status().Wrap("GET " + path);
  return node;
}

Result<std::optional<PeerObject>> KubeClient::GetPeer(const std::string& name) {
  using R = Result<std::optional<PeerObject>>;
  const std::string path = PeerPath(name);
  auto r = Call("GET", path);
  if (!r) return R::Error("get peer " + name + ": " + r.error());
  if (r->status == 404) return std::optional<PeerObject>();
  if (r->status != 200) return R::Error("get peer " + name + ": " + ErrorFor(*r, "GET", path));
  auto p = DecodePeerObject(r->body);
  if (!p) return p.status().Wrap("get peer " + name);
  return std::optional<PeerObject>(std::move(*p));
}

Result<PeerObject> KubeClient::CreatePeer(const PeerObject& p) {
  PeerObject copy = p;
  copy.resource_version.clear();
  const std::string path = kPeersPath;
  auto r = Call("POST", path, EncodePeerJson(copy).dump(), "application/json");
  const std::string what = "create peer " + p.name;
  if (!r) return Result<PeerObject>::Error(what + ": " + r.error());
  if (r->status == 404) return Result<PeerObject>::Error(what + ": " + kPeerCRDMissingError);
  if (r->status != 201 && r->status != 200) {
    return Result<PeerObject>::Error(what + ": " + ErrorFor(*r, "POST", path));
  }
  auto created = DecodePeerObject(r->body);
  if (!created) return created.status().Wrap(what);
  return created;
}

Result<PeerObject> KubeClient::UpdatePeer(const PeerObject& p) {
  const std::string path = PeerPath(p.name);
  const std::string what = "update peer " + p.name;
  // PUT replaces the whole object, so start from the stored one to keep the
  // metadata we do not model (labels, annotations, finalizers).
  auto g = Call("GET", path);
  if (!g) return Result<PeerObject>::Error(what + ": " + g.error());
  if (g->status != 200) return Result<PeerObject>::Error(what + ": " + ErrorFor(*g, "GET", path));
  auto j = ParseBody(*g, "GET", path);
  if (!j) return j.status();
  json obj = std::move(*j);
  obj["spec"] = EncodePeerSpec(p);
  if (!p.resource_version.empty()) obj["metadata"]["resourceVersion"] = p.resource_version;
  obj.erase("status");
  auto r = Call("PUT", path, obj.dump(), "application/json");
  if (!r) return Result<PeerObject>::Error(what + ": " + r.error());
  if (r->status != 200) return Result<PeerObject>::Error(what + ": " + ErrorFor(*r, "PUT", path));
  auto updated = DecodePeerObject(r->body);
  if (!updated) return updated.status().Wrap(what);
  return updated;
}

Status KubeClient::DeletePeer(const std::string& name) {
  const std::string path = PeerPath(name);
  auto r = Call("DELETE", path);
  if (!r) return Status::Error("delete peer " + name + ": " + r.error());
  if (r->status == 200 || r->status == 202 || r->status == 404) return Status::Ok();
  return Status::Error("delete peer " + name + ": " + ErrorFor(*r, "DELETE", path));
}

Status KubeClient::CheckPeerCRD() {
  auto r = Call("GET", kPeerCRDPath);
  if (!r) return Status::Error("check the Peer CRD: " + r.error());
  if (r->status == 404) return Status::Error(kPeerCRDMissingError);
  if (r->status != 200) {
    return Status::Error("check the Peer CRD: " + ErrorFor(*r, "GET", kPeerCRDPath));
  }
  return Status::Ok();
}

Status KubeClient::CreateEvent(const NodeEvent& ev) {
  const auto now = Now();
  const std::string ts = FormatRFC3339(now);
  const std::string ns = opts_.event_namespace;
  const std::string base = "/api/v1/namespaces/" + QueryEscape(ns) + "/events";
  const std::string key = ev.node_name + "\n" + ev.reason + "\n" + ev.type + "\n" + ev.message;
  std::optional<SeenEvent> seen;
  {
    std::lock_guard<std::mutex> lock(mu_);
    auto it = events_.find(key);
    if (it != events_.end() && now - it->second.last < opts_.event_aggregation_window) {
      seen = it->second;
    }
  }
  if (seen) {
    // Same event again: bump count and lastTimestamp of the existing object.
    json patch = {{"count", seen->count + 1}, {"lastTimestamp", ts}};
    const std::string path = base + "/" + QueryEscape(seen->name);
    auto r = Call("PATCH", path, patch.dump(), kMergePatchType);
    if (r.ok() && r->status == 200) {
      std::lock_guard<std::mutex> lock(mu_);
      auto& e = events_[key];
      e.count = seen->count + 1;
      e.last = now;
      return Status::Ok();
    }
    if (!r.ok()) return Status::Error("update event on node " + ev.node_name + ": " + r.error());
    if (r->status != 404) {
      return Status::Error("update event on node " + ev.node_name + ": " +
                           ErrorFor(*r, "PATCH", path));
    }
    // The Event expired (TTL): create a new one.
  }
  const int64_t nanos =
      std::chrono::duration_cast<std::chrono::nanoseconds>(now.time_since_epoch()).count();
  char suffix[32];
  std::snprintf(suffix, sizeof suffix, "%llx", static_cast<unsigned long long>(nanos));
  const std::string name = ev.node_name + "." + suffix;  // client-go's naming
  json involved = {{"apiVersion", "v1"}, {"kind", "Node"}, {"name", ev.node_name}};
  // The kubelet records node events with the node name as UID; follow it when
  // the real UID is unknown so `kubectl describe node` shows them.
  involved["uid"] = ev.node_uid.empty() ? ev.node_name : ev.node_uid;
  json source = {{"component", opts_.component}};
  if (!ev.host.empty()) source["host"] = ev.host;
  json body = {{"apiVersion", "v1"},
               {"kind", "Event"},
               {"metadata", {{"name", name}, {"namespace", ns}}},
               {"involvedObject", involved},
               {"reason", ev.reason},
               {"message", ev.message},
               {"type", ev.type},
               {"count", 1},
               {"firstTimestamp", ts},
               {"lastTimestamp", ts},
               {"source", source},
               {"reportingComponent", opts_.component},
               {"reportingInstance", ev.host}};
  auto r = Call("POST", base, body.dump(), "application/json");
  if (!r) return Status::Error("create event on node " + ev.node_name + ": " + r.error());
  if (r->status != 201 && r->status != 200) {
    return Status::Error("create event on node " + ev.node_name + ": " +
                         ErrorFor(*r, "POST", base));
  }
  std::lock_guard<std::mutex> lock(mu_);
  // Only events inside the aggregation window can be bumped: forget the rest,
  // so a long-running agent keeps no history of old messages.
  std::erase_if(events_, [&](const auto& kv) {
    return now - kv.second.last >= opts_.event_aggregation_window;
  });
  if (events_.size() > 4096) events_.clear();  // bound memory; worst case a duplicate Event
  events_[key] = SeenEvent{name, 1, ts, now};
  return Status::Ok();
}

Result<std::optional<LeaseObject>> KubeClient::GetLease(const std::string& ns,
                                                        const std::string& name) {
  using R = Result<std::optional<LeaseObject>>;
  const std::string path = LeasePath(ns, name);
  const std::string what = "get lease " + ns + "/" + name;
  auto r = Call("GET", path);
  if (!r) return R::Error(what + ": " + r.error());
  if (r->status == 404) return std::optional<LeaseObject>();
  if (r->status != 200) return R::Error(what + ": " + ErrorFor(*r, "GET", path));
  auto j = ParseBody(*r, "GET", path);
  if (!j) return j.status();
  auto l = DecodeLeaseJson(*j);
  if (!l) return R::Error(what + ": " + l.error());
  return std::optional<LeaseObject>(std::move(*l));
}

Result<std::optional<LeaseObject>> KubeClient::CreateLease(const LeaseObject& l) {
  LeaseObject copy = l;
  copy.resource_version.clear();
  return WriteLease("POST", copy);
}

Result<std::optional<LeaseObject>> KubeClient::UpdateLease(const LeaseObject& l) {
  return WriteLease("PUT", l);
}

Result<std::optional<LeaseObject>> KubeClient::WriteLease(const std::string& method,
                                                          const LeaseObject& l) {
  using R = Result<std::optional<LeaseObject>>;
  const bool create = method == "POST";
  const std::string path = create ? LeasesPath(l.namespace_) : LeasePath(l.namespace_, l.name);
  const std::string what =
      (create ? "create lease " : "update lease ") + l.namespace_ + "/" + l.name;
  auto r = Call(method, path, EncodeLeaseJson(l).dump(), "application/json");
  if (!r) return R::Error(what + ": " + r.error());
  if (r->status == 409) return std::optional<LeaseObject>();
  if (r->status != 200 && r->status != 201)
    return R::Error(what + ": " + ErrorFor(*r, method, path));
  auto j = ParseBody(*r, method, path);
  if (!j) return j.status();
  auto out = DecodeLeaseJson(*j);
  if (!out) return R::Error(what + ": " + out.error());
  return std::optional<LeaseObject>(std::move(*out));
}

}  // namespace kilo::k8s
