#pragma once
// Validation of Kilo Peers for the Kubernetes admission webhook (`kg webhook`).
// Pure: JSON in, decision out. No sockets, no clock, no logging.
//
// The rules are the ones the agent applies when it reads a Peer (SPEC section 3,
// core/translate.h TranslatePeer), built on the same core parsers (IPPrefix,
// IPAddr, IsDNS1123Subdomain, Key), so a Peer the webhook admits is one every
// agent uses. Unlike TranslatePeer, which stops at the first problem, the
// webhook lists every problem so a user can fix them all in one edit.

#include <nlohmann/json.hpp>
#include <string>
#include <string_view>
#include <vector>

#include "core/status.h"

namespace kilo::webhook {

// The AdmissionReview versions the webhook answers (the response must carry the
// request's apiVersion).
inline constexpr std::string_view kAdmissionV1 = "admission.k8s.io/v1";
inline constexpr std::string_view kAdmissionV1beta1 = "admission.k8s.io/v1beta1";

// The outcome of one admission request.
struct AdmissionDecision {
  std::string api_version = std::string(kAdmissionV1);  // echoed from the request
  std::string uid;                                      // request.uid, echoed
  bool allowed = true;
  // One entry per problem, e.g. `spec.allowedIPs[1] "10.0.0.1" is not a valid CIDR`.
  // Empty when allowed.
  std::vector<std::string> problems;
  // The denial message: `Peer "name" is invalid: <problem>; <problem>`. Empty
  // when allowed.
  std::string message;
};

// Validates one AdmissionReview request (admission.k8s.io/v1, or v1beta1).
// CREATE and UPDATE of kilo.squat.ai/v1alpha1 Peers are checked: spec.publicKey
// base64 of 32 bytes; spec.presharedKey (when set) likewise; at least one
// spec.allowedIPs entry, each a CIDR; spec.endpoint (when set) with a port in
// 1-65535 and a valid ip or RFC 1123 dns (at least one of them);
// spec.persistentKeepalive in 0-65535. DELETE, CONNECT and other kinds are
// allowed unchecked.
// Returns an error (the server answers HTTP 400 with it) when the document is
// not an AdmissionReview: not an object, wrong apiVersion/kind, no request,
// no request.uid, or a Peer CREATE/UPDATE without request.object.
// Never throws.
Result<AdmissionDecision> Validate(const nlohmann::json& admission_review);

// Validates a Peer object (the JSON of a kilo.squat.ai/v1alpha1 Peer). Returns
// the problems, empty when valid. Never throws.
std::vector<std::string> ValidatePeer(const nlohmann::json& peer);

// Renders the AdmissionReview response for `d`: apiVersion, kind, response
// {uid, allowed, status {code: 403, reason: "Forbidden", message} on denial}.
nlohmann::json AdmissionResponse(const AdmissionDecision& d);

// A reply of the HTTP layer, independent of the server library.
struct HttpReply {
  int status = 200;
  std::string content_type = "application/json";
  std::string body;
  std::vector<std::pair<std::string, std::string>> headers;  // extra headers
};

// Limit of an admission request body; larger requests get 413.
inline constexpr size_t kMaxBodyBytes = 1 << 20;

// Handles one HTTP request of the webhook (routing, method, content type,
// body) without any I/O, so that the server is a thin shell around it:
//   /healthz               GET/HEAD -> 200 "ok"
//   /validate and /        POST with Content-Type application/json -> 200 and
//                          an AdmissionReview response; 405 for other methods,
//                          415 for another content type, 413 for a body over
//                          kMaxBodyBytes, 400 with a message for a malformed
//                          body
//   anything else          404
// `content_type` may carry parameters ("application/json; charset=utf-8").
// Never throws.
HttpReply HandleRequest(std::string_view method, std::string_view path,
                        std::string_view content_type, std::string_view body);

}  // namespace kilo::webhook
