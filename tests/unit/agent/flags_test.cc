// kg's command line (agent/flags.h): every flag's default and parsed value,
// and every bad value's error, which names the flag, the value and what to do.

#include "agent/flags.h"

#include <gtest/gtest.h>

#include <initializer_list>
#include <string>
#include <vector>

namespace kilo::agent {
namespace {

Result<ParsedFlags> Parse(std::initializer_list<const char*> args) {
  std::vector<const char*> argv = {"kg"};
  argv.insert(argv.end(), args.begin(), args.end());
  return ParseFlags(static_cast<int>(argv.size()), argv.data(), "node-1");
}

KgOptions Options(std::initializer_list<const char*> args) {
  auto p = Parse(args);
  EXPECT_TRUE(p.ok()) << p.error();
  if (!p.ok()) return {};
  EXPECT_EQ(p->action, ParsedFlags::Action::kRun);
  return p->options;
}

TEST(KgFlags, DefaultsAreKilos) {
  const KgOptions k = Options({});
  const AgentOptions& o = k.agent;
  EXPECT_EQ(o.hostname, "node-1");  // the host's name
  EXPECT_EQ(o.iface, "kilo0");
  EXPECT_EQ(o.port, 51820);
  EXPECT_EQ(o.subnet.String(), "10.4.0.0/16");
  EXPECT_EQ(o.granularity, Granularity::kLocation);
  EXPECT_EQ(o.encapsulate, Encapsulation::kAlways);
  EXPECT_EQ(o.compatibility, Compatibility::kNone);
  EXPECT_TRUE(o.local);
  EXPECT_TRUE(o.cni);
  EXPECT_EQ(o.cni_path, "/etc/cni/net.d/10-kilo.conflist");
  EXPECT_TRUE(o.create_interface);
  EXPECT_TRUE(o.clean_up);
  EXPECT_FALSE(o.clean_up_interface);
  EXPECT_FALSE(o.mtu.has_value());
  EXPECT_TRUE(k.mtu_auto);
  EXPECT_FALSE(o.prioritise_private_addresses);
  EXPECT_TRUE(o.service_cidrs.empty());
  EXPECT_FALSE(o.iptables_forward_rules);
  EXPECT_EQ(o.topology_label, "topology.kubernetes.io/region");
  EXPECT_EQ(o.key_path, "/var/lib/kilo/key");
  EXPECT_TRUE(k.internal_cidrs.empty());
  EXPECT_EQ(k.log_level, LogLevel::kInfo);
  EXPECT_EQ(k.log_format, LogFormat::kLogfmt);
  EXPECT_EQ(k.kubeconfig, "");
  EXPECT_EQ(k.master, "");
  EXPECT_EQ(k.listen, ":1107");
  EXPECT_EQ(k.resync_period, std::chrono::seconds(30));
  EXPECT_EQ(k.firewall, fw::Backend::kNftables);
}

TEST(KgFlags, EveryFlagIsParsed) {
  const KgOptions k = Options({"--backend=kubernetes",
                               "--clean-up=false",
                               "--clean-up-interface",
                               "--cni=false",
                               "--cni-path=/tmp/cni.conflist",
                               "--compatibility=flannel",
                               "--create-interface=false",
                               "--encapsulate=crosssubnet",
                               "--hostname=worker-7",
                               "--interface=wg9",
                               "--internal-cidr=10.0.0.7/8,192.168.0.0/16",
                               "--iptables-forward-rules",
                               "--kubeconfig=/etc/kube.conf",
                               "--listen=127.0.0.1:9107",
                               "--local=false",
                               "--log-level=debug",
                               "--log-format=json",
                               "--master=https://10.0.0.1:6443",
                               "--mesh-granularity=full",
                               "--mtu=1380",
                               "--port=51821",
                               "--prioritise-private-addresses",
                               "--resync-period=1m30s",
                               "--service-cidr=10.43.0.0/16,fd43::/108",
                               "--subnet=10.9.0.1/16",
                               "--topology-label=example.com/zone",
                               "--key-file=/tmp/kg.key",
                               "--firewall=iptables"});
  const AgentOptions& o = k.agent;
  EXPECT_FALSE(o.clean_up);
  EXPECT_TRUE(o.clean_up_interface);
  EXPECT_FALSE(o.cni);
  EXPECT_EQ(o.cni_path, "/tmp/cni.conflist");
  EXPECT_EQ(o.compatibility, Compatibility::kFlannel);
  EXPECT_FALSE(o.create_interface);
  EXPECT_EQ(o.encapsulate, Encapsulation::kCrossSubnet);
  EXPECT_EQ(o.hostname, "worker-7");
  EXPECT_EQ(o.iface, "wg9");
  ASSERT_EQ(k.internal_cidrs.size(), 2u);
  EXPECT_EQ(k.internal_cidrs[0].String(), "10.0.0.0/8");  // network form
  EXPECT_EQ(k.internal_cidrs[1].String(), "192.168.0.0/16");
  EXPECT_TRUE(o.iptables_forward_rules);
  EXPECT_EQ(k.kubeconfig, "/etc/kube.conf");
  EXPECT_EQ(k.listen, "127.0.0.1:9107");
  EXPECT_FALSE(o.local);
  EXPECT_EQ(k.log_level, LogLevel::kDebug);
  EXPECT_EQ(k.log_format, LogFormat::kJson);
  EXPECT_EQ(k.master, "https://10.0.0.1:6443");
  EXPECT_EQ(o.granularity, Granularity::kFull);
  EXPECT_EQ(o.mtu, 1380);
  EXPECT_FALSE(k.mtu_auto);
  EXPECT_EQ(o.port, 51821);
  EXPECT_TRUE(o.prioritise_private_addresses);
  EXPECT_EQ(k.resync_period, std::chrono::seconds(90));
  ASSERT_EQ(o.service_cidrs.size(), 2u);
  EXPECT_EQ(o.service_cidrs[1].String(), "fd43::/108");
  EXPECT_EQ(o.subnet.String(), "10.9.0.0/16");  // network form
  EXPECT_EQ(o.topology_label, "example.com/zone");
  EXPECT_EQ(o.key_path, "/tmp/kg.key");
  EXPECT_EQ(k.firewall, fw::Backend::kIptables);
}

TEST(KgFlags, SpaceSeparatedValuesAndRepeatedListsAndNoCleanUp) {
  const KgOptions k = Options({"--hostname", "n2", "--service-cidr", "10.43.0.0/16",
                               "--service-cidr", "10.44.0.0/16", "--no-clean-up", "--resync-period",
                               "500ms", "--compatibility", "cilium", "--encapsulate", "never"});
  EXPECT_EQ(k.agent.hostname, "n2");
  EXPECT_EQ(k.agent.service_cidrs.size(), 2u);
  EXPECT_FALSE(k.agent.clean_up);
  EXPECT_EQ(k.resync_period, std::chrono::milliseconds(500));
  EXPECT_EQ(k.agent.compatibility, Compatibility::kCilium);
  EXPECT_EQ(k.agent.encapsulate, Encapsulation::kNever);
}

struct Bad {
  std::vector<const char*> args;
  const char* error;  // the whole message
};

TEST(KgFlags, BadValuesNameTheFlagTheValueAndWhatToDo) {
  const Bad cases[] = {
      {{"--backend=etcd"}, "--backend etcd unknown; possible values are: kubernetes"},
      {{"--compatibility=calico"}, "--compatibility must be flannel or cilium; got \"calico\""},
      {{"--encapsulate=sometimes"},
       "--encapsulate must be never, crosssubnet or always; got \"sometimes\""},
      {{"--interface=a/b"},
       "--interface must be an interface name (1-15 characters, no '/' or spaces); got \"a/b\""},
      {{"--interface=abcdefghijklmnop"},
       "--interface must be an interface name (1-15 characters, no '/' or spaces); got "
       "\"abcdefghijklmnop\""},
      {{"--internal-cidr=10.0.0.1"},
       "--internal-cidr must be a CIDR, e.g. 10.0.0.0/8; got \"10.0.0.1\""},
      {{"--log-level=loud"},
       "--log-level must be one of all, debug, info, warn, error, none; got \"loud\""},
      {{"--log-format=xml"}, "--log-format must be logfmt or json; got \"xml\""},
      {{"--mesh-granularity=galaxy"},
       "--mesh-granularity must be location, full or cross; got \"galaxy\""},
      {{"--mtu=big"}, "--mtu must be auto or a number between 576 and 65535; got \"big\""},
      {{"--mtu=1420abc"}, "--mtu must be auto or a number between 576 and 65535; got \"1420abc\""},
      {{"--mtu=100"}, "--mtu must be auto or a number between 576 and 65535; got \"100\""},
      {{"--mtu=70000"}, "--mtu must be auto or a number between 576 and 65535; got \"70000\""},
      {{"--port=0"}, "--port must be between 1 and 65535; got 0"},
      {{"--port=65536"}, "--port must be between 1 and 65535; got 65536"},
      {{"--resync-period=30"},
       "--resync-period must be a positive duration such as 30s or 1m30s; got \"30\""},
      {{"--resync-period=0"},
       "--resync-period must be a positive duration such as 30s or 1m30s; got \"0\""},
      {{"--resync-period=-5s"},
       "--resync-period must be a positive duration such as 30s or 1m30s; got \"-5s\""},
      {{"--service-cidr=10.43.0.0/33"},
       "--service-cidr must be a CIDR, e.g. 10.43.0.0/16; got \"10.43.0.0/33\""},
      {{"--subnet=10.4.0.0"}, "--subnet must be a CIDR, e.g. 10.4.0.0/16; got \"10.4.0.0\""},
  };
  for (const auto& c : cases) {
    std::vector<const char*> argv = {"kg"};
    argv.insert(argv.end(), c.args.begin(), c.args.end());
    auto p = ParseFlags(static_cast<int>(argv.size()), argv.data(), "node-1");
    ASSERT_FALSE(p.ok()) << c.args[0];
    EXPECT_EQ(p.error(), c.error) << c.args[0];
  }
}

TEST(KgFlags, FirewallBackendErrorNamesTheFlag) {
  auto p = Parse({"--firewall=pf"});
  ASSERT_FALSE(p.ok());
  EXPECT_NE(p.error().find("pf"), std::string::npos) << p.error();
  EXPECT_NE(p.error().find("nftables"), std::string::npos) << p.error();
}

TEST(KgFlags, MalformedCommandLinesPointToHelp) {
  for (auto args : {std::vector<const char*>{"--no-such-flag"},
                    {"--port=abc"},
                    {"--port"},
                    {"--resync-period="},
                    {"stray"}}) {
    std::vector<const char*> argv = {"kg"};
    argv.insert(argv.end(), args.begin(), args.end());
    auto p = ParseFlags(static_cast<int>(argv.size()), argv.data(), "node-1");
    ASSERT_FALSE(p.ok()) << args[0];
    const std::string suffix = "; run `kg --help` for usage";
    ASSERT_GT(p.error().size(), suffix.size()) << p.error();
    EXPECT_EQ(p.error().substr(p.error().size() - suffix.size()), suffix) << p.error();
  }
}

TEST(KgFlags, EmptyHostnameEverywhereIsAnError) {
  const char* argv[] = {"kg"};
  auto p = ParseFlags(1, argv, "");
  ASSERT_FALSE(p.ok());
  EXPECT_EQ(p.error(), "--hostname is empty and so is the host's name; pass --hostname NODE");
}

TEST(KgFlags, HelpAndVersionWinOverBadFlags) {
  auto h = Parse({"--port=0", "--help"});
  ASSERT_TRUE(h.ok()) << h.error();
  EXPECT_EQ(h->action, ParsedFlags::Action::kHelp);
  for (const char* flag : {"--backend",
                           "--clean-up",
                           "--clean-up-interface",
                           "--cni",
                           "--cni-path",
                           "--compatibility",
                           "--create-interface",
                           "--encapsulate",
                           "--hostname",
                           "--interface",
                           "--internal-cidr",
                           "--iptables-forward-rules",
                           "--kubeconfig",
                           "--listen",
                           "--local",
                           "--log-level",
                           "--log-format",
                           "--master",
                           "--mesh-granularity",
                           "--mtu",
                           "--port",
                           "--prioritise-private-addresses",
                           "--resync-period",
                           "--service-cidr",
                           "--subnet",
                           "--topology-label",
                           "--key-file",
                           "--firewall",
                           "--version"})
    EXPECT_NE(h->help.find(flag), std::string::npos) << flag;
  auto v = Parse({"--mtu=big", "--version"});
  ASSERT_TRUE(v.ok()) << v.error();
  EXPECT_EQ(v->action, ParsedFlags::Action::kVersion);
}

}  // namespace
}  // namespace kilo::agent
