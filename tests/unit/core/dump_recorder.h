#pragma once
// A ClusterDumpVisitor that writes down every call as text, to compare two
// decoders of the same dump (dump_stream_test, fuzz_cluster_dump).

#include <string>
#include <string_view>

#include "core/objects.h"
#include "core/objects_json.h"

namespace kilo::testutil {

class DumpRecorder : public ClusterDumpVisitor {
 public:
  void OnNode(const NodeFields& n) override {
    log += "node ";
    Field(n.name);
    Field(n.pod_cidr);
    for (std::string_view c : n.pod_cidrs) Field(c);
    Opt(n.topology_label);
    for (const auto& a : n.annotations) Opt(a);
    log += '\n';
  }
  void OnPeer(PeerObject p) override {
    log += "peer ";
    Field(p.name);
    Field(p.resource_version);
    Field(p.uid);
    for (const auto& ip : p.allowed_ips) Field(ip);
    log += p.has_allowed_ips ? "A" : "-";
    Field(p.public_key);
    Field(p.preshared_key);
    log += p.has_endpoint ? "E" : "-";
    Field(p.endpoint_dns);
    Field(p.endpoint_ip);
    log += std::to_string(p.endpoint_port) + " " + std::to_string(p.persistent_keepalive);
    for (const auto& e : p.type_errors) Field(e);
    log += '\n';
  }
  void OnSkipped() override { log += "skipped\n"; }
  void Restart() override {
    log.clear();
    ++restarts;
  }

  std::string log;
  int restarts = 0;

 private:
  void Field(std::string_view s) {
    log += std::to_string(s.size());
    log += ':';
    log += s;
    log += ' ';
  }
  void Opt(const std::optional<std::string_view>& s) {
    if (s)
      Field(*s);
    else
      log += "- ";
  }
};

}  // namespace kilo::testutil
