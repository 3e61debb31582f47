#include "k8s/http1.h"

#include <http_parser.h>
#include <zlib.h>

#include <cctype>

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
  // A gzip or deflate body (Content-Encoding) is inflated as it arrives.
  bool inflating = false;
  z_stream zs{};
  ~Impl() {
    if (inflating) inflateEnd(&zs);
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
    if (impl.inflating) {  // the headers of an interim (1xx) response came first
      inflateEnd(&impl.zs);
      impl.zs = z_stream{};
      impl.inflating = false;
    }
    if (enc == "gzip" || enc == "x-gzip" || enc == "deflate") {
      // 32 + MAX_WBITS: a gzip or zlib header, detected.
      if (inflateInit2(&impl.zs, 32 + MAX_WBITS) != Z_OK) {
        s->body_error_ = "inflate: out of memory";
        return -1;  // an error (1 would mean "no body")
      }
      impl.inflating = true;
    } else if (!enc.empty() && enc != "identity") {
      s->body_error_ = "unsupported Content-Encoding \"" + enc + "\"";
      return -1;  // an error (1 would mean "no body")
    }
    return 0;
  }
  // Hands decoded body bytes to the stream callback or the response.
  static int Deliver(ResponseParser* s, const char* at, size_t len) {
    if (s->stream_ && s->resp_.status >= 200 && s->resp_.status < 300) {
      if (!(*s->stream_)(std::string_view(at, len))) {
        s->stopped_ = true;
        return 1;  // http-parser stops with HPE_CB_body
      }
      return 0;
    }
    s->resp_.body.append(at, len);
    return 0;
  }
  static int OnBody(http_parser* p, const char* at, size_t len) {
    ResponseParser* s = Self(p);
    ResponseParser::Impl& impl = *s->impl_;
    if (!impl.inflating) return Deliver(s, at, len);
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
  static int OnMessageComplete(http_parser* p) {
    ResponseParser* s = Self(p);
    if (p->status_code >= 100 && p->status_code < 200) {
      // An interim response (100 Continue): the real one follows.
      s->resp_ = HttpResponse{};
      s->encoding_.clear();
      s->headers_done_ = false;
      return 0;
    }
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
