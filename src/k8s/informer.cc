#include "k8s/informer.h"

#include <algorithm>
#include <cstdio>
#include <memory>
#include <random>

namespace kilo::k8s {

template <typename T>
Informer<T>::Informer(Transport* transport, InformerHandlers<T> handlers, InformerOptions opts)
    : transport_(transport),
      handlers_(std::move(handlers)),
      opts_(std::move(opts)),
      path_(opts_.path.empty() ? ResourceTraits<T>::kPath : opts_.path),
      uniform01_(opts_.uniform01),
      backoff_(opts_.backoff, opts_.uniform01) {
  if (!uniform01_) {
    auto rng = std::make_shared<std::mt19937_64>(std::random_device{}());
    uniform01_ = [rng] { return std::uniform_real_distribution<double>(0.0, 1.0)(*rng); };
  }
}

template <typename T>
Informer<T>::~Informer() {
  Stop();
}

template <typename T>
void Informer<T>::Start() {
  thread_ = std::thread([this] { Run(); });
}

template <typename T>
void Informer<T>::Stop() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    stopping_.store(true, std::memory_order_release);
  }
  cancel_.Cancel();
  cv_.notify_all();
  if (thread_.joinable()) thread_.join();
}

template <typename T>
bool Informer<T>::WaitForSync(std::chrono::milliseconds timeout) const {
  std::unique_lock<std::mutex> lock(mu_);
  cv_.wait_for(lock, timeout, [this] { return HasSynced() || stopping(); });
  return HasSynced();
}

template <typename T>
std::optional<T> Informer<T>::Get(const std::string& name) const {
  std::lock_guard<std::mutex> lock(mu_);
  auto it = cache_.find(name);
  if (it == cache_.end()) return std::nullopt;
  return it->second;
}

template <typename T>
std::vector<T> Informer<T>::List() const {
  std::lock_guard<std::mutex> lock(mu_);
  std::vector<T> out;
  out.reserve(cache_.size());
  for (const auto& [_, v] : cache_) out.push_back(v);
  return out;
}

template <typename T>
void Informer<T>::ForEach(const std::function<void(const T&)>& fn) const {
  std::lock_guard<std::mutex> lock(mu_);
  for (const auto& [_, v] : cache_) fn(v);
}

template <typename T>
size_t Informer<T>::size() const {
  std::lock_guard<std::mutex> lock(mu_);
  return cache_.size();
}

template <typename T>
std::string Informer<T>::resource_version() const {
  std::lock_guard<std::mutex> lock(mu_);
  return rv_;
}

template <typename T>
std::string Informer<T>::last_error() const {
  std::lock_guard<std::mutex> lock(mu_);
  return last_error_;
}

template <typename T>
InformerStats Informer<T>::stats() const {
  std::lock_guard<std::mutex> lock(mu_);
  return stats_;
}

template <typename T>
std::chrono::steady_clock::time_point Informer<T>::Now() const {
  return opts_.now ? opts_.now() : std::chrono::steady_clock::now();
}

template <typename T>
void Informer<T>::Warn(const std::string& msg) {
  if (opts_.log) {
    opts_.log(msg);
  } else {
    // kilo_k8s has no logger of its own (kgctl links it statically, and
    // Debian ships spdlog shared only): kg passes its own in opts_.log.
    std::fprintf(stderr, "warning: %s\n", msg.c_str());
  }
}

template <typename T>
void Informer<T>::SetError(const std::string& e) {
  std::lock_guard<std::mutex> lock(mu_);
  last_error_ = e;
  if (!e.empty()) ++stats_.errors;
}

template <typename T>
void Informer<T>::SleepFor(std::chrono::milliseconds d) {
  {
    std::lock_guard<std::mutex> lock(mu_);
    stats_.backoffs.push_back(d);
    if (stats_.backoffs.size() > 64) stats_.backoffs.erase(stats_.backoffs.begin());
  }
  if (opts_.sleep) {
    opts_.sleep(d);
    return;
  }
  std::unique_lock<std::mutex> lock(mu_);
  cv_.wait_for(lock, d, [this] { return stopping(); });
}

template <typename T>
void Informer<T>::Run() {
  bool need_list = true;
  while (!stopping()) {
    if (need_list) {
      Status s = ListAndReplace();
      if (stopping()) break;
      if (!s.ok()) {
        std::string msg = std::string("list ") + ResourceTraits<T>::kKind + "s: " + s.message();
        Warn(msg);
        SetError(msg);
        SleepFor(backoff_.Next());
        continue;
      }
      need_list = false;
    }
    WatchResult w = WatchOnce();
    if (stopping()) break;
    if (w.healthy) {
      backoff_.Reset();
      SetError("");
    }
    switch (w.outcome) {
      case WatchOutcome::kGone:
        // The resourceVersion was compacted away: only a fresh LIST can tell
        // us what changed. Relist at once unless this keeps happening.
        need_list = true;
        {
          std::lock_guard<std::mutex> lock(mu_);
          ++stats_.relists;
        }
        if (!w.healthy) SleepFor(backoff_.Next());
        break;
      case WatchOutcome::kClosed:
        // Normal end (timeoutSeconds or the server closing watches).
        if (!w.healthy) SleepFor(backoff_.Next());
        break;
      case WatchOutcome::kError: {
        std::string msg = std::string("watch ") + ResourceTraits<T>::kKind + "s: " + w.error;
        Warn(msg);
        SetError(msg);
        std::chrono::milliseconds d = backoff_.Next();
        if (w.retry_after) {
          d = std::max<std::chrono::milliseconds>(d, std::chrono::seconds(*w.retry_after));
          d = std::min<std::chrono::milliseconds>(d, opts_.backoff.max);
        }
        SleepFor(d);
        break;
      }
    }
  }
}

template <typename T>
Result<std::string> ListObjects(Transport* transport, const ListRequest& lr,
                                const ListCallbacks<T>& cb, int* http_status) {
  std::string cont;
  std::string list_rv;
  bool restarted = false;
  for (;;) {
    std::string q = lr.path + "?limit=" + std::to_string(lr.page_size);
    if (!cont.empty()) q += "&continue=" + QueryEscape(cont);
    HttpRequest req;
    req.path = q;
    req.timeout = lr.timeout;
    req.cancel = lr.cancel;
    auto r = transport->Do(req);
    if (!r) return r.status();
    if (r->status == 410 && !cont.empty() && !restarted) {
      // The continue token expired mid-list: start over without it.
      restarted = true;
      cont.clear();
      if (cb.on_restart) cb.on_restart();
      continue;
    }
    if (r->status != 200) {
      if (http_status) *http_status = r->status;
      return Result<std::string>::Error(
          DescribeHttpError(*r, "GET", transport->server() + q, transport->credential_source()));
    }
    // A page of 100 Nodes is ~1 MB: decoded in place when the body has the
    // decoder's padding spare (a gzipped body has: ResponseParser).
    auto page = DecodeListPagePadded(r->body, ResourceTraits<T>::kObjectKind);
    r->body.clear();
    r->body.shrink_to_fit();
    if (!page) {
      return Result<std::string>::Error("GET " + transport->server() + q +
                                        ": response is not JSON");
    }
    if (cb.on_skipped)
      for (const auto& why : page->skipped) cb.on_skipped(why);
    for (T& obj : ResourceTraits<T>::Items(*page)) cb.on_object(std::move(obj));
    if (!page->resource_version.empty()) list_rv = std::move(page->resource_version);
    if (page->continue_token.empty()) break;
    cont = std::move(page->continue_token);
    if (cb.stop && cb.stop()) return Result<std::string>::Error("stopped");
  }
  return list_rv;
}

template <typename T>
Status Informer<T>::ListAndReplace() {
  std::map<std::string, T> fresh;
  ListRequest lr;
  lr.path = path_;
  lr.page_size = opts_.page_size;
  lr.timeout = opts_.list_timeout;
  lr.cancel = &cancel_;
  ListCallbacks<T> cb;
  cb.on_object = [&](T&& obj) {
    if (handlers_.transform) handlers_.transform(&obj);
    std::string name = obj.name;
    fresh.insert_or_assign(std::move(name), std::move(obj));
  };
  cb.on_restart = [&] { fresh.clear(); };
  cb.on_skipped = [&](const std::string& why) {
    Warn(std::string("list ") + ResourceTraits<T>::kKind + "s: skipping an object: " + why);
  };
  cb.stop = [this] { return stopping(); };
  auto listed = ListObjects<T>(transport_, lr, cb);
  if (!listed) return listed.status();
  std::string list_rv = std::move(*listed);

  // Diff against the cache and deliver the differences as events.
  std::vector<T> added;
  std::vector<std::pair<T, T>> updated;
  std::vector<T> deleted;
  {
    std::lock_guard<std::mutex> lock(mu_);
    for (auto& [name, obj] : fresh) {
      auto it = cache_.find(name);
      if (it == cache_.end()) {
        added.push_back(obj);
      } else if (it->second.resource_version != obj.resource_version) {
        updated.emplace_back(it->second, obj);
      }
    }
    for (auto& [name, obj] : cache_) {
      if (!fresh.count(name)) deleted.push_back(obj);
    }
    cache_ = std::move(fresh);
    rv_ = list_rv;
    ++stats_.lists;
    last_error_.clear();
  }
  for (const T& o : added) {
    if (handlers_.on_add) handlers_.on_add(o);
  }
  for (const auto& [o, n] : updated) {
    if (handlers_.on_update) handlers_.on_update(o, n);
  }
  for (const T& o : deleted) {
    if (handlers_.on_delete) handlers_.on_delete(o);
  }
  if (!synced_.load(std::memory_order_acquire)) {
    {
      std::lock_guard<std::mutex> lock(mu_);
      synced_.store(true, std::memory_order_release);
    }
    cv_.notify_all();
    if (handlers_.on_synced) handlers_.on_synced();
  }
  return Status::Ok();
}

template <typename T>
typename Informer<T>::WatchResult Informer<T>::WatchOnce() {
  WatchResult result;
  const auto span = opts_.max_watch_timeout - opts_.min_watch_timeout;
  const int64_t timeout_s =
      opts_.min_watch_timeout.count() +
      static_cast<int64_t>(uniform01_() * static_cast<double>(span.count() + 1));
  std::string rv = resource_version();
  HttpRequest req;
  req.path = path_ + "?watch=true&allowWatchBookmarks=true&resourceVersion=" + QueryEscape(rv) +
             "&timeoutSeconds=" + std::to_string(std::max<int64_t>(1, timeout_s));
  // A silently dead connection must not hang forever: allow the server's
  // timeout plus a margin.
  req.timeout = std::chrono::seconds(std::max<int64_t>(1, timeout_s) + 30);
  req.cancel = &cancel_;
  {
    std::lock_guard<std::mutex> lock(mu_);
    ++stats_.watches;
  }
  const auto started = Now();
  int64_t events = 0;
  bool ended_early = false;
  FrameSplitter splitter;
  auto on_frame = [&](std::string_view frame) {
    if (!ApplyFrame(frame, &result)) {
      ended_early = true;
      return false;
    }
    ++events;
    return true;
  };
  auto r = transport_->Stream(req, [&](std::string_view chunk) {
    if (stopping()) return false;
    bool ok = splitter.Feed(chunk, on_frame);
    if (!ok && !ended_early) {
      result.outcome = WatchOutcome::kError;
      result.error = "watch frame larger than the limit";
      ended_early = true;
    }
    return ok;
  });
  result.healthy =
      events > 0 || (r.ok() && r->status == 200 && Now() - started >= opts_.healthy_watch);
  if (ended_early) return result;
  if (splitter.pending() > 0) {
    // The stream was cut inside an event: drop the fragment; the next watch
    // resumes from the last complete event, so nothing is lost.
    {
      std::lock_guard<std::mutex> lock(mu_);
      ++stats_.discarded_frames;
    }
    Warn(std::string("watch ") + ResourceTraits<T>::kKind + "s: stream ended inside an event (" +
         std::to_string(splitter.pending()) + " bytes discarded); resuming");
  }
  if (!r.ok()) {
    result.outcome = WatchOutcome::kError;
    result.error = r.error();
    return result;
  }
  if (r->status == 410) {
    result.outcome = WatchOutcome::kGone;
    return result;
  }
  if (r->status != 200) {
    result.outcome = WatchOutcome::kError;
    result.retry_after = r->retry_after;
    result.error = DescribeHttpError(*r, "GET", transport_->server() + req.path,
                                     transport_->credential_source());
    return result;
  }
  result.outcome = WatchOutcome::kClosed;
  return result;
}

template <typename T>
bool Informer<T>::ApplyFrame(std::string_view frame, WatchResult* result) {
  std::optional<ApiWatchEvent> ev = DecodeWatchEvent(frame, ResourceTraits<T>::kObjectKind);
  if (!ev) {
    {
      std::lock_guard<std::mutex> lock(mu_);
      ++stats_.discarded_frames;
    }
    result->outcome = WatchOutcome::kError;
    result->error = "unparsable watch event (" + std::to_string(frame.size()) + " bytes)";
    return false;
  }
  const std::string& type = ev->type;
  if (!ev->has_object) {
    result->outcome = WatchOutcome::kError;
    result->error = "watch event " + type + " without an object";
    return false;
  }
  {
    std::lock_guard<std::mutex> lock(mu_);
    ++stats_.events;
  }
  if (type == "ADDED" || type == "MODIFIED") {
    std::optional<T>& decoded = ResourceTraits<T>::Object(*ev);
    if (!decoded) {
      Warn(std::string("watch ") + ResourceTraits<T>::kKind +
           "s: skipping an object: " + ev->error);
      if (!ev->resource_version.empty()) {
        std::lock_guard<std::mutex> lock(mu_);
        rv_ = ev->resource_version;
      }
      return true;
    }
    if (handlers_.transform) handlers_.transform(&*decoded);
    Upsert(std::move(*decoded));
    return true;
  }
  if (type == "DELETED") {
    Remove(ev->name, ev->resource_version);
    return true;
  }
  if (type == "BOOKMARK") {
    if (!ev->resource_version.empty()) {
      std::lock_guard<std::mutex> lock(mu_);
      rv_ = ev->resource_version;
    }
    return true;
  }
  if (type == "ERROR") {
    // The object is a metav1.Status; 410 means our resourceVersion is too old.
    if (ev->code == 410) {
      result->outcome = WatchOutcome::kGone;
    } else {
      result->outcome = WatchOutcome::kError;
      result->error = "ERROR event (code " + std::to_string(ev->code) + "): " + ev->message;
    }
    return false;
  }
  Warn(std::string("watch ") + ResourceTraits<T>::kKind + "s: ignoring event type \"" + type +
       "\"");
  return true;
}

template <typename T>
void Informer<T>::Upsert(T obj) {
  std::optional<T> old;
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (!obj.resource_version.empty()) rv_ = obj.resource_version;
    auto it = cache_.find(obj.name);
    if (it == cache_.end()) {
      cache_.emplace(obj.name, obj);
    } else {
      old = std::move(it->second);
      it->second = obj;
    }
  }
  if (old) {
    if (handlers_.on_update) handlers_.on_update(*old, obj);
  } else if (handlers_.on_add) {
    handlers_.on_add(obj);
  }
}

template <typename T>
void Informer<T>::Remove(const std::string& name, const std::string& rv) {
  std::optional<T> old;
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (!rv.empty()) rv_ = rv;
    auto it = cache_.find(name);
    if (it != cache_.end()) {
      old = std::move(it->second);
      cache_.erase(it);
    }
  }
  if (old && handlers_.on_delete) handlers_.on_delete(*old);
}

template Result<std::string> ListObjects<NodeObject>(Transport*, const ListRequest&,
                                                     const ListCallbacks<NodeObject>&, int*);
template Result<std::string> ListObjects<PeerObject>(Transport*, const ListRequest&,
                                                     const ListCallbacks<PeerObject>&, int*);
template class Informer<NodeObject>;
template class Informer<PeerObject>;

}  // namespace kilo::k8s
