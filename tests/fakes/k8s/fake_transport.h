#pragma once
// A scripted Transport for unit tests: Do() answers through a handler; each
// Stream() takes the next scripted watch response, or blocks (like an idle
// watch) until one is pushed or the request is cancelled. Records requests.

#include <condition_variable>
#include <deque>
#include <mutex>
#include <vector>

#include "k8s/transport.h"

namespace kilo::k8s::testing {

struct StreamScript {
  long status = 200;
  std::vector<std::string> chunks;  // body chunks for a 2xx
  std::string body;                 // body of a non-2xx
  std::optional<int> retry_after;
  std::string error;  // non-empty: fail with this transport error after the chunks
};

class FakeTransport : public Transport {
 public:
  std::function<Result<HttpResponse>(const HttpRequest&)> do_handler;

  Result<HttpResponse> Do(const HttpRequest& req) override {
    {
      std::lock_guard<std::mutex> l(mu_);
      requests_.push_back(req);
    }
    if (!do_handler) return Result<HttpResponse>::Error("no handler");
    return do_handler(req);
  }

  Result<HttpResponse> Stream(const HttpRequest& req, const ChunkCallback& on_chunk) override {
    StreamScript s;
    {
      std::unique_lock<std::mutex> l(mu_);
      requests_.push_back(req);
      ++streams_started_;
      cv_.notify_all();
      while (scripts_.empty()) {
        if (req.cancel && req.cancel->cancelled()) {
          return Result<HttpResponse>::Error("GET " + req.path + ": cancelled");
        }
        cv_.wait_for(l, std::chrono::milliseconds(5));
      }
      s = std::move(scripts_.front());
      scripts_.pop_front();
    }
    HttpResponse r;
    r.status = s.status;
    r.retry_after = s.retry_after;
    if (s.status >= 200 && s.status < 300) {
      for (const auto& c : s.chunks) {
        if (!on_chunk(c)) return r;
      }
    } else {
      r.body = s.body;
    }
    if (!s.error.empty()) return Result<HttpResponse>::Error(s.error);
    return r;
  }

  std::string server() const override { return "https://fake:6443"; }
  std::string credential_source() const override { return "kubeconfig /fake (context \"c\")"; }

  void PushStream(StreamScript s) {
    std::lock_guard<std::mutex> l(mu_);
    scripts_.push_back(std::move(s));
    cv_.notify_all();
  }
  std::vector<HttpRequest> requests() const {
    std::lock_guard<std::mutex> l(mu_);
    return requests_;
  }
  int streams_started() const {
    std::lock_guard<std::mutex> l(mu_);
    return streams_started_;
  }
  // Waits until at least `n` streams were started.
  bool WaitForStreams(int n, std::chrono::milliseconds timeout = std::chrono::seconds(5)) {
    std::unique_lock<std::mutex> l(mu_);
    return cv_.wait_for(l, timeout, [&] { return streams_started_ >= n; });
  }

 private:
  mutable std::mutex mu_;
  std::condition_variable cv_;
  std::deque<StreamScript> scripts_;
  std::vector<HttpRequest> requests_;
  int streams_started_ = 0;
};

inline HttpResponse Response(long status, std::string body = "") {
  HttpResponse r;
  r.status = status;
  r.body = std::move(body);
  return r;
}

}  // namespace kilo::k8s::testing
