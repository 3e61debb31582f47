#pragma once
// Structured logging on spdlog: one line per event with stable keys, as
// logfmt (`level=info msg="..." node=a`) or JSON. Values are escaped; private
// keys must never be passed in.

#include <initializer_list>
#include <string>
#include <string_view>
#include <utility>

namespace kilo::agent {

enum class LogLevel { kAll, kDebug, kInfo, kWarn, kError, kNone };
enum class LogFormat { kLogfmt, kJson };

bool ParseLogLevel(std::string_view s, LogLevel* out);
bool ParseLogFormat(std::string_view s, LogFormat* out);

// Configures the process-wide logger (stderr). Thread-safe after setup.
void SetupLogging(LogLevel level, LogFormat format);

using Field = std::pair<std::string_view, std::string>;
void Log(LogLevel level, std::string_view msg, std::initializer_list<Field> fields = {});
inline void Debug(std::string_view m, std::initializer_list<Field> f = {}) {
  Log(LogLevel::kDebug, m, f);
}
inline void Info(std::string_view m, std::initializer_list<Field> f = {}) {
  Log(LogLevel::kInfo, m, f);
}
inline void Warn(std::string_view m, std::initializer_list<Field> f = {}) {
  Log(LogLevel::kWarn, m, f);
}
inline void Error(std::string_view m, std::initializer_list<Field> f = {}) {
  Log(LogLevel::kError, m, f);
}

// Renders one line (without newline); exposed for tests.
std::string FormatLine(LogFormat format, std::string_view level, std::string_view msg,
                       std::initializer_list<Field> fields, std::string_view ts);

}  // namespace kilo::agent
