// bytes -> nlohmann::json -> webhook Validate -> AdmissionResponse, and the
// same bytes through HandleRequest (the server's whole request path minus
// sockets). Checks: never a crash or an exception; a denial always carries
// a message naming a field; a response always serialises.
//
// Build needs: kilo_webhook_validate (or kilo_webhook) + nlohmann_json.

#include <cstdint>
#include <nlohmann/json.hpp>
#include <string>

#include "../fuzz_common.h"
#include "webhook/validate.h"

using kilo::webhook::AdmissionResponse;
using kilo::webhook::HandleRequest;
using kilo::webhook::Validate;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view in = AsView(data, size);
  nlohmann::json j = nlohmann::json::parse(in, nullptr, /*allow_exceptions=*/false);
  if (!j.is_discarded()) {
    auto d = Validate(j);
    if (d.ok()) {
      FUZZ_CHECK(d->allowed == d->problems.empty(), "allowed=%d with %zu problems", d->allowed,
                 d->problems.size());
      if (!d->allowed) {
        FUZZ_CHECK(!d->message.empty(), "denial without a message");
        for (const auto& p : d->problems)
          FUZZ_CHECK(p.rfind("spec", 0) == 0 || p.rfind("the Peer", 0) == 0,
                     "problem not naming a field: %s", p.c_str());
      }
      FUZZ_CHECK(!d->uid.empty(), "decision without the request uid");
      std::string out =
          AdmissionResponse(*d).dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
      FUZZ_CHECK(!out.empty(), "empty response");
    } else {
      FUZZ_CHECK(!d.error().empty(), "error without a message");
    }
  }
  auto r = HandleRequest("POST", "/validate", "application/json", in);
  FUZZ_CHECK(r.status == 200 || r.status == 400 || r.status == 413, "status %d: %s", r.status,
             r.body.c_str());
  return 0;
}
