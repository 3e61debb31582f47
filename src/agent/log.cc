#include "agent/log.h"

#include <spdlog/sinks/stdout_sinks.h>
#include <spdlog/spdlog.h>

#include <chrono>
#include <cstdio>
#include <ctime>

namespace kilo::agent {
namespace {

LogLevel g_level = LogLevel::kInfo;
LogFormat g_format = LogFormat::kLogfmt;
std::shared_ptr<spdlog::logger> g_logger;

const char* LevelName(LogLevel l) {
  switch (l) {
    case LogLevel::kDebug:
      return "debug";
    case LogLevel::kInfo:
      return "info";
    case LogLevel::kWarn:
      return "warn";
    case LogLevel::kError:
      return "error";
    default:
      return "info";
  }
}

void Escape(std::string* out, std::string_view v, bool json) {
  for (unsigned char c : v) {
    if (c == '"' || c == '\\') {
      out->push_back('\\');
      out->push_back(static_cast<char>(c));
    } else if (c == '\n') {
      *out += "\\n";
    } else if (c < 0x20) {
      char b[8];
      std::snprintf(b, sizeof b, json ? "\\u%04x" : "\\x%02x", c);
      *out += b;
    } else {
      out->push_back(static_cast<char>(c));
    }
  }
}

bool NeedsQuote(std::string_view v) {
  if (v.empty()) return true;
  for (unsigned char c : v)
    if (c <= ' ' || c == '"' || c == '=' || c == '\\') return true;
  return false;
}

void Append(std::string* out, LogFormat f, std::string_view k, std::string_view v, bool first) {
  if (f == LogFormat::kJson) {
    if (!first) out->push_back(',');
    out->push_back('"');
    Escape(out, k, true);
    *out += "\":\"";
    Escape(out, v, true);
    out->push_back('"');
  } else {
    if (!first) out->push_back(' ');
    out->append(k);
    out->push_back('=');
    if (NeedsQuote(v)) {
      out->push_back('"');
      Escape(out, v, false);
      out->push_back('"');
    } else {
      out->append(v);
    }
  }
}

std::string Now() {
  auto now = std::chrono::system_clock::now();
  auto t = std::chrono::system_clock::to_time_t(now);
  auto ms =
      std::chrono::duration_cast<std::chrono::milliseconds>(now.time_since_epoch()).count() % 1000;
  std::tm tm;
  gmtime_r(&t, &tm);
  char buf[40];
  std::snprintf(buf, sizeof buf, "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", tm.tm_year + 1900,
                tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, static_cast<int>(ms));
  return buf;
}

}  // namespace

bool ParseLogLevel(std::string_view s, LogLevel* out) {
  if (s == "all")
    *out = LogLevel::kAll;
  else if (s == "debug")
    *out = LogLevel::kDebug;
  else if (s == "info")
    *out = LogLevel::kInfo;
  else if (s == "warn")
    *out = LogLevel::kWarn;
  else if (s == "error")
    *out = LogLevel::kError;
  else if (s == "none")
    *out = LogLevel::kNone;
  else
    return false;
  return true;
}

bool ParseLogFormat(std::string_view s, LogFormat* out) {
  if (s == "logfmt")
    *out = LogFormat::kLogfmt;
  else if (s == "json")
    *out = LogFormat::kJson;
  else
    return false;
  return true;
}

void SetupLogging(LogLevel level, LogFormat format) {
  g_level = level;
  g_format = format;
  g_logger = spdlog::stderr_logger_mt("kg");
  g_logger->set_pattern("%v");
  g_logger->set_level(spdlog::level::trace);
  g_logger->flush_on(spdlog::level::trace);
}

std::string FormatLine(LogFormat format, std::string_view level, std::string_view msg,
                       std::initializer_list<Field> fields, std::string_view ts) {
  std::string out;
  out.reserve(128);
  if (format == LogFormat::kJson) out.push_back('{');
  Append(&out, format, "ts", ts, true);
  Append(&out, format, "level", level, false);
  Append(&out, format, "msg", msg, false);
  for (const auto& [k, v] : fields) Append(&out, format, k, v, false);
  if (format == LogFormat::kJson) out.push_back('}');
  return out;
}

void Log(LogLevel level, std::string_view msg, std::initializer_list<Field> fields) {
  if (g_level == LogLevel::kNone || level < g_level) return;
  std::string line = FormatLine(g_format, LevelName(level), msg, fields, Now());
  if (g_logger) {
    g_logger->info(line);
  } else {
    std::fprintf(stderr, "%s\n", line.c_str());
  }
}

}  // namespace kilo::agent
