#include "k8s/transport.h"

#include <gtest/gtest.h>

namespace kilo::k8s {
namespace {

using namespace std::chrono_literals;

HttpResponse R(long status, std::optional<int> retry_after = std::nullopt, std::string body = "") {
  HttpResponse r;
  r.status = status;
  r.retry_after = retry_after;
  r.body = std::move(body);
  return r;
}

TEST(RetryAfter, Parse) {
  EXPECT_EQ(ParseRetryAfter("3"), 3);
  EXPECT_EQ(ParseRetryAfter("0"), 0);
  EXPECT_FALSE(ParseRetryAfter(""));
  EXPECT_FALSE(ParseRetryAfter("Wed, 21 Oct 2015 07:28:00 GMT"));
  EXPECT_FALSE(ParseRetryAfter("-1"));
}

TEST(RetryDelay, Table) {
  RetryOptions o;
  struct Case {
    const char* name;
    HttpResponse resp;
    int attempt;
    std::optional<std::chrono::milliseconds> want;
  } cases[] = {
      {"200 never", R(200, 5), 0, std::nullopt},
      {"404 never", R(404), 0, std::nullopt},
      {"429 with Retry-After", R(429, 2), 0, 2000ms},
      {"429 without Retry-After", R(429), 0, 1000ms},
      {"503 with Retry-After", R(503, 1), 0, 1000ms},
      {"500 without Retry-After is not retried", R(500), 0, std::nullopt},
      {"Retry-After clamped", R(429, 3600), 0, 30000ms},
      {"bounded", R(429, 1), 5, std::nullopt},
  };
  for (const auto& c : cases) {
    EXPECT_EQ(RetryDelay(c.resp, c.attempt, o), c.want) << c.name;
  }
}

TEST(DescribeHttpError, Authentication) {
  std::string m = DescribeHttpError(
      R(401, std::nullopt, R"({"kind":"Status","message":"Unauthorized"})"), "GET",
      "https://10.0.0.1:6443/api/v1/nodes", "kubeconfig /root/kc (context \"a\")");
  EXPECT_EQ(m,
            "the API server rejected our credentials (401 Unauthorized) for "
            "https://10.0.0.1:6443/api/v1/nodes: check the token in KUBECONFIG or the "
            "credentials of kubeconfig /root/kc (context \"a\")");
  std::string f = DescribeHttpError(
      R(403, std::nullopt,
        R"({"kind":"Status","message":"nodes is forbidden: User \"x\" cannot list"})"),
      "GET", "https://h/api/v1/nodes", "in-cluster service account (/sa)");
  EXPECT_NE(f.find("403 Forbidden"), std::string::npos);
  EXPECT_NE(f.find("cannot list"), std::string::npos);
  EXPECT_NE(f.find("RBAC"), std::string::npos);
}

TEST(DescribeHttpError, ServerMessageIncluded) {
  std::string m = DescribeHttpError(R(500, std::nullopt, "boom\n"), "PATCH", "https://h/x", "s");
  EXPECT_EQ(m, "PATCH https://h/x: API server error (500 Internal Server Error): boom");
}

TEST(QueryEscape, Escapes) {
  EXPECT_EQ(QueryEscape("abc-_.~"), "abc-_.~");
  EXPECT_EQ(QueryEscape("a+b/c=="), "a%2Bb%2Fc%3D%3D");
}

}  // namespace
}  // namespace kilo::k8s
