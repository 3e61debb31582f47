#pragma once
// List/watch informers: keep a local cache of Nodes or Peers in sync with the
// API server and call handlers on every change, in the manner of client-go's
// reflector + informer.
//
// LIST is paginated (limit=500 + continue); WATCH resumes from the last seen
// resourceVersion with bookmarks and a random timeoutSeconds in [300, 600] so
// that agents do not reconnect in lockstep. A 410 Gone (HTTP or an ERROR
// event) triggers a relist whose differences to the cache are delivered as
// add/update/delete events. Disconnects and errors reconnect with exponential
// backoff and jitter (0.8 s doubling to 30 s, reset after a healthy watch).

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <functional>
#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "core/api_json.h"
#include "core/objects.h"
#include "core/status.h"
#include "k8s/transport.h"
#include "k8s/watch_stream.h"

namespace kilo::k8s {

inline constexpr const char* kNodesPath = "/api/v1/nodes";
inline constexpr const char* kPeersPath = "/apis/kilo.squat.ai/v1alpha1/peers";

// Per-type knowledge: where the objects live and where core's decoder puts
// them (core/api_json.h).
template <typename T>
struct ResourceTraits;

template <>
struct ResourceTraits<NodeObject> {
  static constexpr const char* kPath = kNodesPath;
  static constexpr const char* kKind = "Node";
  static constexpr ObjectKind kObjectKind = ObjectKind::kNode;
  static std::vector<NodeObject>& Items(ListPage& page) { return page.nodes; }
  static std::optional<NodeObject>& Object(ApiWatchEvent& ev) { return ev.node; }
};

template <>
struct ResourceTraits<PeerObject> {
  static constexpr const char* kPath = kPeersPath;
  static constexpr const char* kKind = "Peer";
  static constexpr ObjectKind kObjectKind = ObjectKind::kPeer;
  static std::vector<PeerObject>& Items(ListPage& page) { return page.peers; }
  static std::optional<PeerObject>& Object(ApiWatchEvent& ev) { return ev.peer; }
};

// One paginated LIST, as the informer does it (and kgctl on a live cluster).
struct ListRequest {
  std::string path;  // e.g. kNodesPath
  int page_size = 500;
  std::chrono::milliseconds timeout{std::chrono::seconds(60)};
  CancelToken* cancel = nullptr;
};

template <typename T>
struct ListCallbacks {
  // Each object, in API order.
  std::function<void(T&& obj)> on_object;
  // The continue token expired mid-list and the list starts over: forget
  // the objects received so far. May be empty when on_object never stores.
  std::function<void()> on_restart;
  // An item that could not be decoded (skipped). May be empty.
  std::function<void(const std::string& why)> on_skipped;
  // Between pages: true stops the list ("stopped"). May be empty.
  std::function<bool()> stop;
};

// Lists every object at req.path page by page (limit + continue; a 410 on a
// continue token restarts once without it), decoding each page with core's
// decoder. Returns the list's resourceVersion. On an HTTP error the message
// is DescribeHttpError's and `*http_status` (optional) the status.
template <typename T>
Result<std::string> ListObjects(Transport* transport, const ListRequest& req,
                                const ListCallbacks<T>& cb, int* http_status = nullptr);

// Handlers are called from the informer's thread, one at a time, without any
// informer lock held (they may call Get/List). Any may be empty.
template <typename T>
struct InformerHandlers {
  std::function<void(const T& obj)> on_add;
  std::function<void(const T& old_obj, const T& new_obj)> on_update;
  std::function<void(const T& old_obj)> on_delete;
  // Called once after the first LIST has been delivered.
  std::function<void()> on_synced;
  // Applied to every decoded object before it is cached or handed to the
  // handlers (client-go's SetTransform): drops what the user of the cache
  // never reads, so that thousands of Nodes stay small.
  std::function<void(T* obj)> transform;
};

struct InformerOptions {
  std::string path;  // empty = ResourceTraits<T>::kPath
  int page_size = 500;
  std::chrono::seconds min_watch_timeout{300};
  std::chrono::seconds max_watch_timeout{600};
  BackoffOptions backoff;
  // A watch that delivered an event or lasted this long was healthy: the
  // backoff starts again from its initial delay and a clean close re-watches
  // at once. Shorter, event-less watches back off (a server that closes every
  // watch at once must not be hammered). 1 s is client-go's "very short
  // watch" rule; longer would let a proxy that cuts watches every few seconds
  // push every agent to the 30 s maximum delay, i.e. changes seen late.
  std::chrono::milliseconds healthy_watch{std::chrono::seconds(1)};
  std::chrono::milliseconds list_timeout{std::chrono::seconds(60)};
  // Injected randomness in [0, 1) (jitter, watch timeouts); nullptr = seeded.
  std::function<double()> uniform01;
  // Replaces waiting between attempts (tests record the delays). nullptr =
  // wait on a condition variable that Stop() wakes.
  std::function<void(std::chrono::milliseconds)> sleep;
  std::function<std::chrono::steady_clock::time_point()> now;
  // Warnings (disconnects, discarded frames); nullptr = a line on stderr.
  std::function<void(const std::string&)> log;
};

// Counters, for tests and metrics.
struct InformerStats {
  int64_t lists = 0;                                // completed LISTs (initial + relists)
  int64_t relists = 0;                              // relists after 410 Gone
  int64_t watches = 0;                              // watch requests started
  int64_t events = 0;                               // watch events applied (incl. bookmarks)
  int64_t errors = 0;                               // failed LISTs/watches
  int64_t discarded_frames = 0;                     // incomplete or unparsable watch frames
  std::vector<std::chrono::milliseconds> backoffs;  // the most recent 64 delays
};

template <typename T>
class Informer {
 public:
  // REQUIRES: transport outlives the informer.
  Informer(Transport* transport, InformerHandlers<T> handlers, InformerOptions opts = {});
  // Stops and joins.
  ~Informer();
  Informer(const Informer&) = delete;
  Informer& operator=(const Informer&) = delete;

  // Starts the background thread. REQUIRES: called at most once.
  void Start();
  // Wakes the thread (cancelling an in-flight request) and joins it. No
  // handler runs after Stop() returns. Idempotent.
  // REQUIRES: not called from a handler (it would join its own thread).
  void Stop();

  // True once the first LIST has been delivered to the handlers.
  bool HasSynced() const { return synced_.load(std::memory_order_acquire); }
  // Waits until HasSynced() or the timeout passes. Returns HasSynced().
  bool WaitForSync(std::chrono::milliseconds timeout) const;

  // The cached object named `name`. Thread-safe.
  std::optional<T> Get(const std::string& name) const;
  // All cached objects, sorted by name. Thread-safe.
  std::vector<T> List() const;
  // Calls `fn` for every cached object, sorted by name, under the cache's
  // lock: no copy (List() copies them all), but the watch waits meanwhile.
  // REQUIRES: `fn` calls nothing of this informer. Thread-safe.
  void ForEach(const std::function<void(const T&)>& fn) const;
  size_t size() const;
  // The resourceVersion the next watch resumes from.
  std::string resource_version() const;
  // The last LIST/watch error, "" after a successful LIST or healthy watch.
  std::string last_error() const;
  InformerStats stats() const;

 private:
  enum class WatchOutcome { kClosed, kGone, kError };
  struct WatchResult {
    WatchOutcome outcome = WatchOutcome::kClosed;
    bool healthy = false;
    std::optional<int> retry_after;
    std::string error;
  };

  void Run();
  Status ListAndReplace();
  WatchResult WatchOnce();
  // Applies one decoded watch frame. Returns false to end the watch; sets
  // *result for Gone/ERROR events.
  bool ApplyFrame(std::string_view frame, WatchResult* result);
  void Upsert(T obj);
  void Remove(const std::string& name, const std::string& rv);
  void SleepFor(std::chrono::milliseconds d);
  void Warn(const std::string& msg);
  void SetError(const std::string& e);
  std::chrono::steady_clock::time_point Now() const;
  bool stopping() const { return stopping_.load(std::memory_order_acquire); }

  Transport* const transport_;
  const InformerHandlers<T> handlers_;
  const InformerOptions opts_;
  const std::string path_;
  std::function<double()> uniform01_;
  Backoff backoff_;  // informer thread only
  CancelToken cancel_;

  mutable std::mutex mu_;
  mutable std::condition_variable cv_;
  std::map<std::string, T> cache_;  // guarded by mu_
  std::string rv_;                  // guarded by mu_
  std::string last_error_;          // guarded by mu_
  InformerStats stats_;             // guarded by mu_

  std::atomic<bool> synced_{false};
  std::atomic<bool> stopping_{false};
  std::thread thread_;
};

extern template Result<std::string> ListObjects<NodeObject>(Transport*, const ListRequest&,
                                                            const ListCallbacks<NodeObject>&, int*);
extern template Result<std::string> ListObjects<PeerObject>(Transport*, const ListRequest&,
                                                            const ListCallbacks<PeerObject>&, int*);
extern template class Informer<NodeObject>;
extern template class Informer<PeerObject>;
using NodeInformer = Informer<NodeObject>;
using PeerInformer = Informer<PeerObject>;

}  // namespace kilo::k8s
