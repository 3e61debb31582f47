#include "k8s/http1.h"

#include <http_parser.h>
#include <libdeflate.h>
#include <zlib.h>

#include <cctype>
#include <climits>
#include <memory>

namespace kilo::k8s {

std::string SerializeRequest(const Http1Request& req) {
  std::string out;
  out.reserve(256 + req.body.size());
  out += req.method;
  out += ' ';
  out += req.target.empty() ? "/" : req.target;
  out += " HTTP/1.1\r\nHost: ";
  out += req.host;
  out += "\r\n";
  for (const auto& [name, value] : req.headers) {
    out += name;
    out += ": ";
    out += value;
    out += "\r\n";
  }
  if (!req.body.empty() || req.force_content_length) {
    out += "Content-Length: " + std::to_string(req.body.size()) + "\r\n";
  }
  out += "\r\n";
  out += req.body;
  return out;
}

struct ResponseParser::Impl {
  http_parser parser;
  http_parser_settings settings;
  // How the body is decoded (Content-Encoding).
  enum Decode {
    kIdentity,  // handed on as it arrives
    kInflate,   // gzip or deflate to a stream callback: zlib, as it arrives
    kCollect,   // gzip to be collected: kept compressed, decoded whole at the end
  };
  Decode decode = kIdentity;
  bool inflating = false;  // zs is initialised
  z_stream zs{};
  std::string compressed;  // kCollect
  ~Impl() { EndInflate(); }
  void EndInflate() {
    if (inflating) inflateEnd(&zs);
    zs = z_stream{};
    inflating = false;
  }
};
namespace {
std::string Lower(std::string s) {
  for (auto& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return s;
}
std::string_view Trim(std::string_view v) {
  while (!v.empty() && std::isspace(static_cast<unsigned char>(v.front()))) v.remove_prefix(1);
  while (!v.empty() && std::isspace(static_cast<unsigned char>(v.back()))) v.remove_suffix(1);
  return v;
}
}  // namespace

// http-parser's C callbacks, friends of ResponseParser.
struct ResponseParserCallbacks {
  static ResponseParser* Self(http_parser* p) { return static_cast<ResponseParser*>(p->data); }

  static void EndHeader(ResponseParser* s) {
    if (!s->in_value_) return;
    std::string name = Lower(s->field_);
    std::string_view value = Trim(s->value_);
    if (name == "retry-after") {
      s->resp_.retry_after = ParseRetryAfter(value);
    } else if (name == "content-type") {
      s->resp_.content_type = std::string(value);
    } else if (name == "content-encoding") {
      s->encoding_ = Lower(std::string(value));
    }
    s->field_.clear();
    s->value_.clear();
    s->in_value_ = false;
  }
  static int OnField(http_parser* p, const char* at, size_t len) {
    ResponseParser* s = Self(p);
    EndHeader(s);
    s->field_.append(at, len);
    return 0;
  }
  static int OnValue(http_parser* p, const char* at, size_t len) {
    ResponseParser* s = Self(p);
    s->in_value_ = true;
    s->value_.append(at, len);
    return 0;
  }
  static int OnHeadersComplete(http_parser* p) {
    ResponseParser* s = Self(p);
    EndHeader(s);
    s->resp_.status = p->status_code;
    s->headers_done_ = true;
    const std::string& enc = s->encoding_;
    ResponseParser::Impl& impl = *s->impl_;
    // The headers of an interim (1xx) response may have come first.
    impl.EndInflate();
    impl.compressed.clear();
    impl.decode = ResponseParser::Impl::kIdentity;
    const bool gzip = enc == "gzip" || enc == "x-gzip";
    if (gzip && !s->Streamed()) {
      // A collected body (a LIST page) is decoded whole at its end, by
      // libdeflate: 3.6 times zlib's speed (crc32 included), and written
      // straight into the body. At 5,000 Nodes, zlib's inflate was half of
      // kgctl's CPU.
      impl.decode = ResponseParser::Impl::kCollect;
      if (p->content_length > 0 && p->content_length != ULLONG_MAX &&
          p->content_length < (64u << 20))
        impl.compressed.reserve(p->content_length);
    } else if (gzip || enc == "deflate") {
      if (!StartInflate(s)) return -1;  // an error (1 would mean "no body")
      impl.decode = ResponseParser::Impl::kInflate;
    } else if (!enc.empty() && enc != "identity") {
      s->body_error_ = "unsupported Content-Encoding \"" + enc + "\"";
      return -1;  // an error (1 would mean "no body")
    }
    return 0;
  }
  static bool StartInflate(ResponseParser* s) {
    ResponseParser::Impl& impl = *s->impl_;
    // 32 + MAX_WBITS: a gzip or zlib header, detected.
    if (inflateInit2(&impl.zs, 32 + MAX_WBITS) != Z_OK) {
      s->body_error_ = "inflate: out of memory";
      return false;
    }
    impl.inflating = true;
    return true;
  }
  // Hands decoded body bytes to the stream callback or the response.
  static int Deliver(ResponseParser* s, const char* at, size_t len) {
    if (s->Streamed()) {
      if (!(*s->stream_)(std::string_view(at, len))) {
        s->stopped_ = true;
        return 1;  // http-parser stops with HPE_CB_body
      }
      return 0;
    }
    s->resp_.body.append(at, len);
    return 0;
  }
  // Inflates the next compressed bytes with zlib.
  static int Inflate(ResponseParser* s, const char* at, size_t len) {
    ResponseParser::Impl& impl = *s->impl_;
    impl.zs.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(at));
    impl.zs.avail_in = static_cast<uInt>(len);
    char out[16384];
    while (impl.zs.avail_in > 0) {
      impl.zs.next_out = reinterpret_cast<Bytef*>(out);
      impl.zs.avail_out = sizeof out;
      int rc = inflate(&impl.zs, Z_NO_FLUSH);
      size_t n = sizeof out - impl.zs.avail_out;
      if (n > 0 && Deliver(s, out, n) != 0) return 1;
      if (rc == Z_STREAM_END) break;  // anything after the stream is ignored
      if (rc != Z_OK && rc != Z_BUF_ERROR) {
        s->body_error_ = std::string("malformed compressed body: ") +
                         (impl.zs.msg ? impl.zs.msg : "inflate error " + std::to_string(rc));
        return 1;
      }
      if (rc == Z_BUF_ERROR && n == 0) break;  // needs more input
    }
    return 0;
  }
  static int OnBody(http_parser* p, const char* at, size_t len) {
    ResponseParser* s = Self(p);
    ResponseParser::Impl& impl = *s->impl_;
    switch (impl.decode) {
      case ResponseParser::Impl::kIdentity:
        return Deliver(s, at, len);
      case ResponseParser::Impl::kCollect:
        impl.compressed.append(at, len);
        return 0;
      case ResponseParser::Impl::kInflate:
        break;
    }
    return Inflate(s, at, len);
  }
  // Decodes a collected gzip body into the response. libdeflate takes one
  // whole gzip member whose trailer's ISIZE is its length; anything else
  // (several members, bytes after the member, a truncated or malformed
  // body) goes through zlib as it always did, with zlib's result and errors.
  static bool DecodeCollected(ResponseParser* s) {
    ResponseParser::Impl& impl = *s->impl_;
    std::string in;
    in.swap(impl.compressed);
    std::string& body = s->resp_.body;
    body.clear();
    if (in.size() >= 18) {  // a gzip header and trailer at least
      const auto* t = reinterpret_cast<const unsigned char*>(in.data() + in.size() - 4);
      const size_t isize = static_cast<size_t>(t[0]) | static_cast<size_t>(t[1]) << 8 |
                           static_cast<size_t>(t[2]) << 16 | static_cast<size_t>(t[3]) << 24;
      // DEFLATE expands at most 1032:1: a larger ISIZE is a lie, not an
      // allocation to make; nor is one beyond any LIST page (256 MiB): zlib
      // then grows the body only as far as the data really goes.
      if (isize <= in.size() * 1032 && isize <= (size_t{256} << 20)) {
        static thread_local std::unique_ptr<libdeflate_decompressor,
                                            void (*)(libdeflate_decompressor*)>
            d(libdeflate_alloc_decompressor(), libdeflate_free_decompressor);
        // 64 bytes spare: a JSON decoder's padding (kJsonPadding), so that
        // a LIST page is decoded in place.
        body.reserve(isize + 64);
        body.resize(isize);
        size_t in_used = 0, out_len = 0;
        if (d &&
            libdeflate_gzip_decompress_ex(d.get(), in.data(), in.size(), body.data(), isize,
                                          &in_used, &out_len) == LIBDEFLATE_SUCCESS &&
            in_used == in.size() && out_len == isize)
          return true;
        body.clear();
      }
    }
    if (!StartInflate(s)) return false;
    Inflate(s, in.data(), in.size());
    impl.EndInflate();
    return s->body_error_.empty();
  }
  static int OnMessageComplete(http_parser* p) {
    ResponseParser* s = Self(p);
    if (p->status_code >= 100 && p->status_code < 200) {
      // An interim response (100 Continue): the real one follows.
      s->resp_ = HttpResponse{};
      s->encoding_.clear();
      s->headers_done_ = false;
      return 0;
    }
    if (s->impl_->decode == ResponseParser::Impl::kCollect && !DecodeCollected(s)) return -1;
    s->complete_ = true;
    s->keep_alive_ = http_should_keep_alive(p) != 0;
    // Stop here: what follows belongs to no request of ours.
    http_parser_pause(p, 1);
    return 0;
  }
};

ResponseParser::ResponseParser(const ChunkCallback* stream)
    : impl_(std::make_unique<Impl>()), stream_(stream) {
  http_parser_init(&impl_->parser, HTTP_RESPONSE);
  impl_->parser.data = this;
  http_parser_settings_init(&impl_->settings);
  impl_->settings.on_header_field = ResponseParserCallbacks::OnField;
  impl_->settings.on_header_value = ResponseParserCallbacks::OnValue;
  impl_->settings.on_headers_complete = ResponseParserCallbacks::OnHeadersComplete;
  impl_->settings.on_body = ResponseParserCallbacks::OnBody;
  impl_->settings.on_message_complete = ResponseParserCallbacks::OnMessageComplete;
}

ResponseParser::~ResponseParser() = default;

Status ResponseParser::Feed(std::string_view data) {
  if (data.empty()) return Status::Ok();
  if (done()) {
    trailing_ = true;
    return Status::Ok();
  }
  started_ = true;
  size_t n = http_parser_execute(&impl_->parser, &impl_->settings, data.data(), data.size());
  if (!body_error_.empty()) return Status::Error(body_error_);
  if (stopped_) return Status::Ok();
  auto err = static_cast<http_errno>(impl_->parser.http_errno);
  if (complete_) {
    if (n < data.size()) trailing_ = true;
    return Status::Ok();
  }
  if (err != HPE_OK) {
    return Status::Error(std::string("malformed HTTP response: ") + http_errno_description(err));
  }
  return Status::Ok();
}

Status ResponseParser::FeedEof() {
  if (done()) return Status::Ok();
  http_parser_execute(&impl_->parser, &impl_->settings, nullptr, 0);
  if (complete_) {
    // Close-delimited: the connection cannot be reused anyway.
    keep_alive_ = false;
    return Status::Ok();
  }
  if (!started_) return Status::Error("the server closed the connection without a response");
  if (!headers_done_) return Status::Error("the server closed the connection in the headers");
  return Status::Error("the server closed the connection before the end of the response");
}

}  // namespace kilo::k8s
