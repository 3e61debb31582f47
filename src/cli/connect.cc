#include "cli/connect.h"

#include <algorithm>
#include <cctype>
#include <iostream>
#include <map>
#include <set>
#include <sstream>

#include "core/endpoint.h"

#ifdef KILO_HAVE_K8S
#include <arpa/inet.h>
#include <netdb.h>
#include <signal.h>
#include <spawn.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <atomic>
#include <thread>

#include "cli/connect_apply.h"
#include "k8s/client.h"
#include "k8s/http_transport.h"
#include "k8s/informer.h"
#include "k8s/kubeconfig.h"
#include "netlink/netlink.h"
#include "netlink/rtnl.h"
#include "wg/wireguard.h"

extern char** environ;
#endif

namespace kilo::cli {

#ifndef KILO_HAVE_K8S

int RunConnect(const GlobalOptions&, const ConnectOptions&) {
  std::cerr << "this kgctl was built without the Kubernetes client; connect needs a live cluster\n";
  return 1;
}

#else

namespace {

// logfmt lines on stderr, filtered by --log-level. Never given key material
// other than public keys.
class Logger {
 public:
  explicit Logger(LogLevel level) : level_(level) {}
  void Debug(const std::string& msg,
             const std::vector<std::pair<std::string, std::string> >& kv = {}) {
    Log(LogLevel::kDebug, "debug", msg, kv);
  }
  void Info(const std::string& msg,
            const std::vector<std::pair<std::string, std::string> >& kv = {}) {
    Log(LogLevel::kInfo, "info", msg, kv);
  }
  void Warn(const std::string& msg,
            const std::vector<std::pair<std::string, std::string> >& kv = {}) {
    Log(LogLevel::kWarn, "warn", msg, kv);
  }
  void Error(const std::string& msg,
             const std::vector<std::pair<std::string, std::string> >& kv = {}) {
    Log(LogLevel::kError, "error", msg, kv);
  }
  bool debug() const { return level_ <= LogLevel::kDebug; }

 private:
  static std::string Quote(const std::string& v) {
    bool plain = !v.empty() && v.find_first_of(" \"=\n\t") == std::string::npos;
    if (plain) return v;
    std::string out = "\"";
    for (char ch : v) {
      if (ch == '"' || ch == '\\') out += '\\';
      if (ch == '\n') {
        out += "\\n";
        continue;
      }
      out += ch;
    }
    return out + "\"";
  }
  void Log(LogLevel l, const char* name, const std::string& msg,
           const std::vector<std::pair<std::string, std::string> >& kv) {
    if (level_ == LogLevel::kNone || l < level_) return;
    char ts[32];
    time_t now = time(nullptr);
    struct tm tm;
    gmtime_r(&now, &tm);
    strftime(ts, sizeof ts, "%Y-%m-%dT%H:%M:%SZ", &tm);
    std::ostringstream os;
    os << "ts=" << ts << " level=" << name << " msg=" << Quote(msg);
    for (const auto& [k, v] : kv) os << " " << k << "=" << Quote(v);
    os << "\n";
    std::lock_guard<std::mutex> lock(mu_);
    std::cerr << os.str() << std::flush;
  }
  LogLevel level_;
  std::mutex mu_;
};

std::string Hostname() {
  char buf[256] = {0};
  if (gethostname(buf, sizeof buf - 1) != 0) return "";
  std::string h = buf;
  std::transform(h.begin(), h.end(), h.begin(), [](unsigned char ch) { return std::tolower(ch); });
  return h;
}

std::optional<IPAddr> ResolveHost(const std::string& name) {
  addrinfo hints{};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_DGRAM;
  addrinfo* res = nullptr;
  if (getaddrinfo(name.c_str(), nullptr, &hints, &res) != 0 || !res) return std::nullopt;
  std::optional<IPAddr> out;
  char buf[INET6_ADDRSTRLEN];
  for (addrinfo* a = res; a && !out; a = a->ai_next) {
    const void* src =
        a->ai_family == AF_INET
            ? static_cast<const void*>(&reinterpret_cast<sockaddr_in*>(a->ai_addr)->sin_addr)
            : static_cast<const void*>(&reinterpret_cast<sockaddr_in6*>(a->ai_addr)->sin6_addr);
    if (inet_ntop(a->ai_family, src, buf, sizeof buf)) out = IPAddr::Parse(buf);
  }
  freeaddrinfo(res);
  return out;
}

// A `wireguard-go IFACE` child, used when the kernel cannot create a
// WireGuard link. It runs in its own process group so that a terminal's
// Ctrl-C reaches only kgctl, which then removes the routes before stopping it.
class WireGuardGo {
 public:
  ~WireGuardGo() = default;
  static Result<std::unique_ptr<WireGuardGo> > Start(const std::string& iface, bool debug,
                                                     netlink::NetlinkClient& nl) {
    using R = Result<std::unique_ptr<WireGuardGo> >;
    posix_spawnattr_t attr;
    posix_spawnattr_init(&attr);
    sigset_t empty;
    sigemptyset(&empty);
    posix_spawnattr_setsigmask(&attr, &empty);  // we block SIGINT/SIGTERM; the child must not
    posix_spawnattr_setpgroup(&attr, 0);
    posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETPGROUP);
    std::vector<std::string> env_s;
    for (char** e = environ; *e; ++e) {
      std::string v = *e;
      if (v.rfind("WG_PROCESS_FOREGROUND=", 0) == 0 || v.rfind("LOG_LEVEL=", 0) == 0) continue;
      env_s.push_back(v);
    }
    env_s.push_back("WG_PROCESS_FOREGROUND=1");
    env_s.push_back(std::string("LOG_LEVEL=") + (debug ? "debug" : "error"));
    std::vector<char*> envp;
    for (auto& v : env_s) envp.push_back(v.data());
    envp.push_back(nullptr);
    std::string prog = "wireguard-go";
    std::string arg = iface;
    char* argv[] = {prog.data(), arg.data(), nullptr};
    pid_t pid = 0;
    int rc = posix_spawnp(&pid, prog.c_str(), nullptr, &attr, argv, envp.data());
    posix_spawnattr_destroy(&attr);
    if (rc != 0)
      return R::Error(std::string("cannot start wireguard-go: ") + strerror(rc) +
                      "; install wireguard-go (or load the kernel module: modprobe wireguard)");
    auto w = std::unique_ptr<WireGuardGo>(new WireGuardGo(pid));
    // wireguard-go creates the TUN link, then the UAPI socket.
    const std::string sock = "/var/run/wireguard/" + iface + ".sock";
    for (int i = 0; i < 200; ++i) {
      int status = 0;
      if (waitpid(pid, &status, WNOHANG) == pid) {
        w->pid_ = 0;
        return R::Error("wireguard-go " + iface + " exited during start-up (status " +
                        std::to_string(status) + ")");
      }
      struct stat stbuf;
      auto link = nl.FindLink(iface);
      if (stat(sock.c_str(), &stbuf) == 0 && S_ISSOCK(stbuf.st_mode) && link.ok() &&
          link->has_value())
        return w;
      usleep(50 * 1000);
    }
    w->Stop();
    return R::Error("wireguard-go " + iface + " did not create " + sock + " within 10 s");
  }
  pid_t pid() const { return pid_; }
  // SIGTERM (wireguard-go then removes its interface), SIGKILL after 5 s.
  void Stop() {
    if (pid_ <= 0) return;
    kill(pid_, SIGTERM);
    for (int i = 0; i < 100; ++i) {
      if (waitpid(pid_, nullptr, WNOHANG) == pid_) {
        pid_ = 0;
        return;
      }
      usleep(50 * 1000);
    }
    kill(pid_, SIGKILL);
    waitpid(pid_, nullptr, 0);
    pid_ = 0;
  }
  // Leaves the child running (--clean-up=false).
  void Detach() { pid_ = 0; }

 private:
  explicit WireGuardGo(pid_t pid) : pid_(pid) {}
  pid_t pid_;
};

class Connector {
 public:
  Connector(const GlobalOptions& g, ConnectConfig c, Key private_key, Logger* log)
      : g_(g), c_(std::move(c)), private_key_(private_key), log_(log) {}

  int Run() {
    // Block the signals before any thread exists so that every thread
    // inherits the mask and only the main loop's sigtimedwait takes them.
    sigemptyset(&signals_);
    sigaddset(&signals_, SIGINT);
    sigaddset(&signals_, SIGTERM);
    pthread_sigmask(SIG_BLOCK, &signals_, nullptr);
    Status s = Setup();
    if (!s.ok()) {
      log_->Error("failed to connect", {{"err", s.message()}});
      CleanUp();
      std::cerr << s.message() << "\n";
      return 1;
    }
    Loop();
    CleanUp();
    return 0;
  }

 private:
  Status Setup() {
    k8s::LoadOptions lo;
    lo.kubeconfig_path = g_.kubeconfig;
    auto cfg = k8s::LoadClusterConfig(lo);
    if (!cfg.ok()) return cfg.status();
    auto t = k8s::HttpTransport::Create(*cfg);
    if (!t.ok()) return t.status();
    transport_ = std::move(*t);
    client_ = std::make_unique<k8s::KubeClient>(transport_.get());
    if (auto s = RegisterPeer(); !s.ok()) return s;
    if (auto s = SetUpInterface(); !s.ok()) return s;
    StartInformers();
    return Status::Ok();
  }

  // Creates the Peer (with --allowed-ip), or adopts an existing one with our
  // public key (its first allowed IP unless --allowed-ip is given).
  Status RegisterPeer() {
    const Key public_key = private_key_.Public();
    log_->Info("generated public key", {{"key", public_key.String()}});
    auto existing = client_->GetPeer(c_.peer_name);
    if (!existing.ok()) return existing.status().Wrap("failed to get peer " + c_.peer_name);
    if (!existing->has_value()) {
      if (!c_.allowed_ip)
        return Status::Error(
            "the Peer \"" + c_.peer_name +
            "\" does not exist yet: give this host's WireGuard IP with --allowed-ip, e.g. "
            "--allowed-ip 10.5.0.1/32");
      auto created = client_->CreatePeer(
          BuildPeerObject(c_.peer_name, *c_.allowed_ip, public_key, c_.persistent_keepalive));
      if (!created.ok()) return created.status().Wrap("failed to create peer");
      created_peer_ = true;
      log_->Info("created peer", {{"peer", c_.peer_name}});
    } else {
      const PeerObject& p = **existing;
      auto k = Key::Parse(p.public_key);
      if (!k || *k != public_key)
        return Status::Error("the Peer \"" + c_.peer_name +
                             "\" already exists with another public key: pass its private key with "
                             "--private-key FILE, or remove it (kubectl delete peer " +
                             c_.peer_name + ")");
      if (!c_.allowed_ip) {
        for (const auto& a : p.allowed_ips)
          if (auto pfx = IPPrefix::Parse(a)) {
            c_.allowed_ip = *pfx;
            break;
          }
        if (!c_.allowed_ip)
          return Status::Error("the Peer \"" + c_.peer_name +
                               "\" has no valid allowed IP; pass --allowed-ip");
      }
      log_->Info("using existing peer",
                 {{"peer", c_.peer_name}, {"allowed-ip", c_.allowed_ip->String()}});
    }
    return Status::Ok();
  }

  // The WireGuard interface (created, or an existing one adopted) with its
  // MTU and address, up; and the applier that keeps it as planned.
  Status SetUpInterface() {
    auto nl = netlink::RtnlClient::Open();
    if (!nl.ok()) return nl.status().Wrap("open rtnetlink");
    nl_ = std::move(*nl);
    wg_ = wg::NewWireGuardClient();
    if (auto s = CreateInterface(); !s.ok()) return s;
    if (auto s = nl_->SetLinkMTU(c_.iface, c_.mtu); !s.ok()) return s;
    ConnectApplyDeps deps;
    deps.nl = nl_.get();
    deps.wg = wg_.get();
    deps.lookup = [this](const std::string& name) {
      auto ip = ResolveHost(name);
      if (!ip) log_->Warn("cannot resolve endpoint", {{"name", name}});
      return ip;
    };
    ConnectApplyOptions ao;
    ao.iface = c_.iface;
    ao.mtu = c_.mtu;
    ao.private_key = private_key_;
    ao.own_link = made_link_;
    applier_ = std::make_unique<ConnectApplier>(std::move(deps), ao);
    added_address_ = !made_link_;
    if (auto s = applier_->ConvergeAddress(*c_.allowed_ip); !s.ok()) return s;
    log_->Info("set IP address of WireGuard interface", {{"IP", c_.allowed_ip->String()}});
    return nl_->SetLinkUp(c_.iface, true);
  }

  // Node and Peer informers; every event asks for a sync.
  void StartInformers() {
    k8s::InformerOptions io;
    io.log = [this](const std::string& m) { log_->Warn(m); };
    k8s::InformerHandlers<NodeObject> nh;
    nh.on_add = [this](const NodeObject&) { dirty_ = true; };
    nh.on_update = [this](const NodeObject&, const NodeObject&) { dirty_ = true; };
    nh.on_delete = [this](const NodeObject&) { dirty_ = true; };
    k8s::InformerHandlers<PeerObject> ph;
    ph.on_add = [this](const PeerObject&) { dirty_ = true; };
    ph.on_update = [this](const PeerObject&, const PeerObject&) { dirty_ = true; };
    ph.on_delete = [this](const PeerObject&) { dirty_ = true; };
    nodes_ = std::make_unique<k8s::Informer<NodeObject> >(transport_.get(), nh, io);
    peers_ = std::make_unique<k8s::Informer<PeerObject> >(transport_.get(), ph, io);
    nodes_->Start();
    peers_->Start();
    if (!nodes_->WaitForSync(std::chrono::seconds(30)) ||
        !peers_->WaitForSync(std::chrono::seconds(30)))
      log_->Warn("the Node and Peer caches did not sync within 30 s; retrying in the background",
                 {{"err", nodes_->last_error() + peers_->last_error()}});
  }

  Status CreateInterface() {
    auto link = nl_->FindLink(c_.iface);
    if (!link.ok()) return link.status();
    if (link->has_value()) {
      if (!wg_->Exists(c_.iface))
        return Status::Error(
            "interface " + c_.iface +
            " exists but is not a WireGuard interface; choose another with --interface");
      log_->Info("using existing WireGuard interface",
                 {{"name", c_.iface}, {"backend", wg_->Backend()}});
      return Status::Ok();
    }
    netlink::LinkSpec spec;
    spec.name = c_.iface;
    spec.kind = "wireguard";
    spec.mtu = c_.mtu;
    Status ks = nl_->CreateLink(spec);
    if (ks.ok()) {
      made_link_ = true;
      log_->Info("created WireGuard interface", {{"name", c_.iface}, {"backend", "kernel"}});
      return Status::Ok();
    }
    // No kernel WireGuard (module missing or not loadable here): fall back to
    // the userspace implementation, as kg's userspace manifests do.
    log_->Info("the kernel cannot create a WireGuard interface; starting wireguard-go",
               {{"err", ks.message()}});
    auto w = WireGuardGo::Start(c_.iface, log_->debug(), *nl_);
    if (!w.ok())
      return Status::Error("failed to create wg interface: " + ks.message() + "; and " + w.error());
    wggo_ = std::move(*w);
    made_link_ = true;
    log_->Info(
        "created WireGuard interface",
        {{"name", c_.iface}, {"backend", "wireguard-go"}, {"pid", std::to_string(wggo_->pid())}});
    return Status::Ok();
  }

  void Sync() {
    ClusterObjects objs;
    objs.nodes = nodes_->List();
    objs.peers = peers_->List();
    int64_t now = std::chrono::duration_cast<std::chrono::seconds>(
                      std::chrono::system_clock::now().time_since_epoch())
                      .count();
    auto st = ComputeConnectState(objs, g_, c_, now);
    if (!st.ok()) {
      log_->Error("failed to sync", {{"err", st.error()}});
      return;
    }
    for (const auto& w : st->warnings) {
      std::string line = w.String();
      if (warned_.insert(line).second) log_->Warn(line);
    }
    Report(applier_->Apply(*st, now), st->plan);
  }

  void Report(const ConnectApplyReport& r, const HostPlan& plan) {
    static const std::map<std::string, std::string> kFailed = {
        {"wireguard", "failed to configure WireGuard"},
        {"interface", "failed to set the interface address"},
        {"routes", "failed to update route table"}};
    for (const auto& e : r.errors) {
      const std::string step = e.substr(0, e.find(": "));
      auto it = kFailed.find(step);
      log_->Error(it != kFailed.end() ? it->second : "failed to sync",
                  {{"err", e.substr(std::min(e.size(), step.size() + 2))}});
    }
    if (r.wg_writes > 0)
      log_->Info("configured WireGuard",
                 {{"peers", std::to_string(r.wg_peers)}, {"writes", std::to_string(r.wg_writes)}});
    if (r.routes_added + r.routes_removed > 0) {
      log_->Info("updated routes", {{"added", std::to_string(r.routes_added)},
                                    {"removed", std::to_string(r.routes_removed)}});
      if (log_->debug())
        log_->Debug("routes", {{"routes", RenderConnectRoutes(plan.installed_routes, c_.iface)}});
    }
  }

  void Loop() {
    log_->Info("starting syncer",
               {{"resync-period", std::to_string(c_.resync_period.count()) + "ms"}});
    auto next = std::chrono::steady_clock::now();
    for (;;) {
      if (dirty_.exchange(false) || std::chrono::steady_clock::now() >= next) {
        Sync();
        next = std::chrono::steady_clock::now() + c_.resync_period;
      }
      timespec ts{0, 200 * 1000 * 1000};
      siginfo_t info;
      int sig = sigtimedwait(&signals_, &info, &ts);
      if (sig == SIGINT || sig == SIGTERM) {
        log_->Info("received signal", {{"signal", sig == SIGINT ? "interrupt" : "terminated"}});
        return;
      }
    }
  }

  void CleanUp() {
    if (nodes_) nodes_->Stop();
    if (peers_) peers_->Stop();
    if (!c_.clean_up) {
      if (wggo_) {
        log_->Info("leaving wireguard-go running (--clean-up=false)",
                   {{"pid", std::to_string(wggo_->pid())}});
        wggo_->Detach();
      }
      return;
    }
    if (nl_) {
      if (applier_) {
        auto rc = applier_->RemoveRoutes();
        if (!rc.ok()) log_->Error("failed to clean up routes", {{"err", rc.error()}});
      }
      if (made_link_) {
        (void)nl_->SetLinkUp(c_.iface, false);
        if (wggo_) wggo_->Stop();  // wireguard-go removes its TUN interface
        if (auto s = nl_->DeleteLink(c_.iface); !s.ok())
          log_->Error("failed to remove WireGuard interface", {{"err", s.message()}});
        else
          log_->Info("removed WireGuard interface", {{"name", c_.iface}});
      } else if (added_address_ && c_.allowed_ip) {
        if (auto link = nl_->FindLink(c_.iface); link.ok() && link->has_value())
          (void)nl_->DeleteAddress((*link)->index, *c_.allowed_ip);
      }
    }
    if (wggo_) wggo_->Stop();
    if (created_peer_ && client_) {
      if (auto s = client_->DeletePeer(c_.peer_name); !s.ok())
        log_->Error("failed to delete peer", {{"err", s.message()}});
      else
        log_->Info("deleted peer", {{"peer", c_.peer_name}});
    }
  }

  const GlobalOptions g_;
  ConnectConfig c_;
  const Key private_key_;
  Logger* log_;
  sigset_t signals_;
  std::unique_ptr<k8s::HttpTransport> transport_;
  std::unique_ptr<k8s::KubeClient> client_;
  std::unique_ptr<netlink::NetlinkClient> nl_;
  std::unique_ptr<wg::WireGuardClient> wg_;
  std::unique_ptr<WireGuardGo> wggo_;
  std::unique_ptr<ConnectApplier> applier_;
  std::unique_ptr<k8s::Informer<NodeObject> > nodes_;
  std::unique_ptr<k8s::Informer<PeerObject> > peers_;
  std::atomic<bool> dirty_{true};
  std::set<std::string> warned_;
  bool created_peer_ = false;
  bool made_link_ = false;
  bool added_address_ = false;
};

}  // namespace

int RunConnect(const GlobalOptions& g, const ConnectOptions& o) {
  auto c = ValidateConnectOptions(o, Hostname());
  if (!c.ok()) {
    std::cerr << c.error() << "\n";
    return 1;
  }
  Logger log(c->log_level);
  Key key;
  if (c->private_key_file.empty()) {
    key = Key::GeneratePrivate();  // in memory only, never written or printed
  } else {
    auto k = LoadPrivateKeyFile(c->private_key_file);
    if (!k.ok()) {
      std::cerr << k.error() << "\n";
      return 1;
    }
    key = *k;
  }
  if (geteuid() != 0)
    log.Warn("not running as root: creating the interface and routes needs CAP_NET_ADMIN");
  Connector conn(g, std::move(*c), key, &log);
  return conn.Run();
}

#endif  // KILO_HAVE_K8S

}  // namespace kilo::cli
