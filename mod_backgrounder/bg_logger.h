// Logger: how the core reports to operators. The httpd glue routes it to
// ap_log_error; tests capture it. Implementations must be thread-safe.
// Messages may carry a job's output verbatim (any byte but NUL): the sink
// escapes what it must (httpd's error log escapes control characters).
#ifndef BG_LOGGER_H
#define BG_LOGGER_H

#include <string>

namespace bg {

// Same order and meaning as httpd's APLOG_* levels.
enum class LogLevel { kEmerg = 0, kAlert, kCrit, kError, kWarn, kNotice, kInfo, kDebug };

class Logger {
 public:
  Logger() = default;
  Logger(const Logger&) = delete;
  Logger& operator=(const Logger&) = delete;
  virtual ~Logger() = default;
  virtual bool Enabled(LogLevel level) const = 0;
  virtual void Log(LogLevel level, const std::string& message) = 0;
};

}  // namespace bg

#endif  // BG_LOGGER_H
