#include "k8s/http1.h"

#include <gtest/gtest.h>
#include <zlib.h>

#include <string>
#include <vector>

namespace kilo::k8s {
namespace {

TEST(SerializeRequest, GetAndPatch) {
  Http1Request get;
  get.target = "/api/v1/nodes?limit=500";
  get.host = "10.0.0.1:6443";
  get.headers = {{"Accept", "application/json"}};
  EXPECT_EQ(SerializeRequest(get),
            "GET /api/v1/nodes?limit=500 HTTP/1.1\r\nHost: 10.0.0.1:6443\r\n"
            "Accept: application/json\r\n\r\n");
  Http1Request patch;
  patch.method = "PATCH";
  patch.target = "/api/v1/nodes/a";
  patch.host = "api";
  patch.body = "{}";
  patch.force_content_length = true;
  EXPECT_EQ(SerializeRequest(patch),
            "PATCH /api/v1/nodes/a HTTP/1.1\r\nHost: api\r\nContent-Length: 2\r\n\r\n{}");
  patch.body.clear();
  EXPECT_NE(SerializeRequest(patch).find("Content-Length: 0\r\n"), std::string::npos);
}

struct FramingCase {
  const char* name;
  std::string wire;
  bool needs_eof;  // close-delimited: complete only at the end of the stream
  bool keep_alive;
};

// Every response is parsed whole and split at every byte boundary into two
// pieces, and byte by byte: the result must not depend on how TCP cut it.
TEST(ResponseParser, FramingAtEveryBoundary) {
  const std::vector<FramingCase> cases = {
      {"content-length",
       "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 11\r\n\r\n"
       "{\"a\":\"xyz\"}",
       false, true},
      {"chunked",
       "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n"
       "4\r\n{\"a\"\r\n7;ext=1\r\n:\"xyz\"}\r\n0\r\nTrailer: x\r\n\r\n",
       false, true},
      {"close-delimited",
       "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nConnection: close\r\n\r\n"
       "{\"a\":\"xyz\"}",
       true, false},
      {"http/1.0", "HTTP/1.0 200 OK\r\nContent-Type: application/json\r\n\r\n{\"a\":\"xyz\"}", true,
       false},
  };
  for (const auto& c : cases) {
    std::vector<std::vector<std::string>> splits;
    for (size_t i = 0; i <= c.wire.size(); ++i)
      splits.push_back({c.wire.substr(0, i), c.wire.substr(i)});
    std::vector<std::string> bytes;
    for (char ch : c.wire) bytes.emplace_back(1, ch);
    splits.push_back(bytes);
    for (const auto& pieces : splits) {
      ResponseParser p;
      for (const auto& piece : pieces) ASSERT_TRUE(p.Feed(piece).ok()) << c.name;
      EXPECT_EQ(p.done(), !c.needs_eof) << c.name;
      ASSERT_TRUE(p.FeedEof().ok()) << c.name;
      ASSERT_TRUE(p.done()) << c.name;
      EXPECT_EQ(p.response().status, 200) << c.name;
      EXPECT_EQ(p.response().content_type, "application/json") << c.name;
      EXPECT_EQ(p.response().body, "{\"a\":\"xyz\"}") << c.name;
      EXPECT_EQ(p.keep_alive(), c.keep_alive) << c.name;
    }
  }
}

TEST(ResponseParser, StreamedChunksSplitAnywhereArriveWhole) {
  // A watch: two events in three chunks, the second event cut across chunks.
  const std::string events = "{\"type\":\"ADDED\"}\n{\"type\":\"MODIFIED\"}\n";
  const std::string wire =
      "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"
      "11\r\n{\"type\":\"ADDED\"}\n\r\n"
      "a\r\n{\"type\":\"M\r\n"
      "a\r\nODIFIED\"}\n\r\n"
      "0\r\n\r\n";
  for (size_t i = 0; i <= wire.size(); ++i) {
    for (size_t j = i; j <= wire.size(); j += 7) {
      std::string got;
      ChunkCallback cb = [&](std::string_view s) {
        got.append(s);
        return true;
      };
      ResponseParser p(&cb);
      ASSERT_TRUE(p.Feed(wire.substr(0, i)).ok());
      ASSERT_TRUE(p.Feed(wire.substr(i, j - i)).ok());
      ASSERT_TRUE(p.Feed(wire.substr(j)).ok());
      ASSERT_TRUE(p.done()) << i << " " << j;
      EXPECT_EQ(got, events) << i << " " << j;
      EXPECT_TRUE(p.response().body.empty());
      EXPECT_TRUE(p.keep_alive());
    }
  }
}

TEST(ResponseParser, ErrorBodyOfAStreamIsCollected) {
  std::string got;
  ChunkCallback cb = [&](std::string_view s) {
    got.append(s);
    return true;
  };
  ResponseParser p(&cb);
  ASSERT_TRUE(p.Feed("HTTP/1.1 410 Gone\r\nContent-Length: 4\r\n\r\ngone").ok());
  EXPECT_TRUE(p.done());
  EXPECT_EQ(p.response().status, 410);
  EXPECT_EQ(p.response().body, "gone");
  EXPECT_EQ(got, "");
}

TEST(ResponseParser, CallbackStopsTheStream) {
  int calls = 0;
  ChunkCallback cb = [&](std::string_view) { return ++calls < 1; };
  ResponseParser p(&cb);
  ASSERT_TRUE(
      p.Feed("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n1\r\na\r\n1\r\nb\r\n").ok());
  EXPECT_TRUE(p.stopped());
  EXPECT_TRUE(p.done());
  EXPECT_FALSE(p.keep_alive());
  EXPECT_EQ(calls, 1);
}

TEST(ResponseParser, HeadersWeKeep) {
  ResponseParser p;
  ASSERT_TRUE(p.Feed("HTTP/1.1 429 Too Many Requests\r\nretry-after:  7 \r\n"
                     "Connection: close\r\nContent-Length: 0\r\n\r\n")
                  .ok());
  ASSERT_TRUE(p.done());
  EXPECT_EQ(p.response().status, 429);
  EXPECT_EQ(p.response().retry_after, 7);
  EXPECT_FALSE(p.keep_alive());
}

TEST(ResponseParser, InterimResponseIsSkipped) {
  ResponseParser p;
  ASSERT_TRUE(p.Feed("HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 201 Created\r\nContent-Length: 2\r\n"
                     "\r\nok")
                  .ok());
  ASSERT_TRUE(p.done());
  EXPECT_EQ(p.response().status, 201);
  EXPECT_EQ(p.response().body, "ok");
}

TEST(ResponseParser, TruncatedAndMalformed) {
  struct Case {
    const char* name;
    std::string wire;
    std::string error;  // of FeedEof, or of Feed when feed_fails
    bool feed_fails;
  };
  const std::vector<Case> cases = {
      {"nothing", "", "without a response", false},
      {"in headers", "HTTP/1.1 200 OK\r\nContent-Le", "in the headers", false},
      {"short body", "HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nabc", "before the end", false},
      {"chunk cut", "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nab",
       "before the end", false},
      {"garbage", "SSH-2.0-OpenSSH_9.2\r\n", "malformed HTTP response", true},
  };
  for (const auto& c : cases) {
    ResponseParser p;
    Status s = p.Feed(c.wire);
    if (c.feed_fails) {
      ASSERT_FALSE(s.ok()) << c.name;
      EXPECT_NE(s.message().find(c.error), std::string::npos) << c.name << ": " << s.message();
      continue;
    }
    ASSERT_TRUE(s.ok()) << c.name << ": " << s.message();
    Status e = p.FeedEof();
    ASSERT_FALSE(e.ok()) << c.name;
    EXPECT_NE(e.message().find(c.error), std::string::npos) << c.name << ": " << e.message();
  }
}

TEST(ResponseParser, BytesAfterTheResponseAreNoticed) {
  ResponseParser p;
  ASSERT_TRUE(p.Feed("HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nokHTTP/1.1 200 OK\r\n").ok());
  EXPECT_TRUE(p.done());
  EXPECT_TRUE(p.trailing());
  EXPECT_FALSE(p.keep_alive());
  EXPECT_EQ(p.response().body, "ok");
}

std::string Gzip(const std::string& in) {
  z_stream zs{};
  deflateInit2(&zs, Z_BEST_COMPRESSION, Z_DEFLATED, 16 + MAX_WBITS, 8, Z_DEFAULT_STRATEGY);
  std::string out(deflateBound(&zs, in.size()) + 32, '\0');
  zs.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(in.data()));
  zs.avail_in = static_cast<uInt>(in.size());
  zs.next_out = reinterpret_cast<Bytef*>(out.data());
  zs.avail_out = static_cast<uInt>(out.size());
  deflate(&zs, Z_FINISH);
  out.resize(zs.total_out);
  deflateEnd(&zs);
  return out;
}

// A gzipped body sent chunked, `chunk` bytes of it a chunk.
std::string GzipChunkedWire(const std::string& gz, size_t chunk) {
  std::string w = "HTTP/1.1 200 OK\r\nContent-Encoding: gzip\r\nTransfer-Encoding: chunked\r\n\r\n";
  for (size_t i = 0; i < gz.size(); i += chunk) {
    std::string piece = gz.substr(i, chunk);
    char len[16];
    std::snprintf(len, sizeof len, "%zx\r\n", piece.size());
    w += len + piece + "\r\n";
  }
  return w + "0\r\n\r\n";
}

TEST(ResponseParser, GzipBodySplitAnywhere) {
  std::string body;
  for (int i = 0; i < 2000; ++i)
    body += "{\"metadata\":{\"name\":\"node-" + std::to_string(i) + "\"}}";
  const std::string gz = Gzip(body);
  ASSERT_LT(gz.size(), body.size() / 5);
  const std::string wire =
      "HTTP/1.1 200 OK\r\nContent-Encoding: gzip\r\nContent-Length: " + std::to_string(gz.size()) +
      "\r\n\r\n" + gz;
  for (size_t i = 0; i <= wire.size(); i += 97) {
    ResponseParser p;
    ASSERT_TRUE(p.Feed(wire.substr(0, i)).ok());
    ASSERT_TRUE(p.Feed(wire.substr(i)).ok());
    ASSERT_TRUE(p.done());
    EXPECT_EQ(p.response().body, body) << i;
    EXPECT_TRUE(p.keep_alive());
  }
  // Streamed and chunked: the callback sees the inflated bytes.
  const std::string chunked = GzipChunkedWire(gz, 1000);
  std::string got;
  ChunkCallback cb = [&](std::string_view s) {
    got.append(s);
    return true;
  };
  ResponseParser p(&cb);
  for (size_t i = 0; i < chunked.size(); i += 333) ASSERT_TRUE(p.Feed(chunked.substr(i, 333)).ok());
  ASSERT_TRUE(p.done());
  EXPECT_EQ(got, body);
}

std::string GzipWire(const std::string& gz) {
  return "HTTP/1.1 200 OK\r\nContent-Encoding: gzip\r\nContent-Length: " +
         std::to_string(gz.size()) + "\r\n\r\n" + gz;
}

// A collected gzip body is decoded whole (libdeflate) when it is one gzip
// member whose trailer is right; anything else as zlib always decoded it.
TEST(ResponseParser, CollectedGzipBodyOddCases) {
  std::string body(100000, 'x');
  for (size_t i = 0; i < body.size(); i += 7) body[i] = static_cast<char>('a' + i % 23);
  const std::string gz = Gzip(body);
  struct Case {
    const char* name;
    std::string gz;
    std::string want;  // the body; "" = an error
  } cases[] = {
      {"one member", gz, body},
      // zlib stops at the end of the first member and ignores the rest.
      {"two members", gz + Gzip("more"), body},
      {"bytes after the member", gz + "garbage!", body},
      {"empty body", Gzip(""), ""},
  };
  for (const auto& c : cases) {
    ResponseParser p;
    ASSERT_TRUE(p.Feed(GzipWire(c.gz)).ok()) << c.name;
    ASSERT_TRUE(p.done()) << c.name;
    EXPECT_TRUE(p.response().body == c.want) << c.name;
  }
  // A wrong length or checksum in the trailer is an error, and a huge
  // length is not an allocation.
  for (size_t at : {gz.size() - 1, gz.size() - 5}) {
    for (char v : {'\x01', '\xff'}) {
      std::string bad = gz;
      bad[at] = v;
      if (at == gz.size() - 1 && v == '\xff') bad.replace(gz.size() - 4, 4, "\xff\xff\xff\xff");
      ResponseParser p;
      Status s = p.Feed(GzipWire(bad));
      ASSERT_FALSE(s.ok()) << at << " " << int(v);
      EXPECT_NE(s.message().find("malformed compressed body"), std::string::npos) << s.message();
      EXPECT_FALSE(p.done());
    }
  }
  // Chunked, as kube-apiserver sends a gzipped body, fed in pieces.
  const std::string chunked = GzipChunkedWire(gz, 4096);
  ResponseParser pc;
  for (size_t i = 0; i < chunked.size(); i += 1000)
    ASSERT_TRUE(pc.Feed(chunked.substr(i, 1000)).ok());
  ASSERT_TRUE(pc.done());
  EXPECT_TRUE(pc.keep_alive());
  EXPECT_TRUE(pc.response().body == body);
  // Truncated: what zlib could inflate, as before.
  ResponseParser p;
  ASSERT_TRUE(p.Feed(GzipWire(gz.substr(0, gz.size() - 8))).ok());
  ASSERT_TRUE(p.done());
  EXPECT_EQ(p.response().body, body);
}

// An error status's gzip body is collected (and decoded) even with a stream
// callback.
TEST(ResponseParser, GzipErrorBodyOfAStreamIsDecoded) {
  const std::string status = "{\"kind\":\"Status\",\"code\":410}";
  const std::string gz = Gzip(status);
  int calls = 0;
  ChunkCallback cb = [&](std::string_view) {
    ++calls;
    return true;
  };
  ResponseParser p(&cb);
  ASSERT_TRUE(p.Feed("HTTP/1.1 410 Gone\r\nContent-Encoding: gzip\r\nContent-Length: " +
                     std::to_string(gz.size()) + "\r\n\r\n" + gz)
                  .ok());
  ASSERT_TRUE(p.done());
  EXPECT_EQ(p.response().body, status);
  EXPECT_EQ(calls, 0);
}

TEST(ResponseParser, GzipAfterAnInterimResponse) {
  const std::string gz = Gzip("{}");
  ResponseParser p;
  ASSERT_TRUE(p.Feed("HTTP/1.1 100 Continue\r\nContent-Encoding: gzip\r\n\r\n"
                     "HTTP/1.1 200 OK\r\nContent-Encoding: gzip\r\nContent-Length: " +
                     std::to_string(gz.size()) + "\r\n\r\n" + gz)
                  .ok());
  ASSERT_TRUE(p.done());
  EXPECT_EQ(p.response().body, "{}");
}

TEST(ResponseParser, BadOrUnknownEncoding) {
  ResponseParser bad;
  Status s =
      bad.Feed("HTTP/1.1 200 OK\r\nContent-Encoding: gzip\r\nContent-Length: 5\r\n\r\nnotgz");
  ASSERT_FALSE(s.ok());
  EXPECT_NE(s.message().find("malformed compressed body"), std::string::npos) << s.message();
  // The error stops parsing (found by fuzz_http_response: http-parser took
  // the callback's 1 for "no body" and went on).
  ResponseParser br;
  s = br.Feed("HTTP/1.1 200 OK\r\nContent-Encoding: br\r\nContent-Length: 1\r\n\r\nx");
  ASSERT_FALSE(s.ok());
  EXPECT_FALSE(br.done());
  EXPECT_EQ(br.response().body, "");
  EXPECT_NE(s.message().find("unsupported Content-Encoding \"br\""), std::string::npos)
      << s.message();
}

}  // namespace
}  // namespace kilo::k8s
