#include "bg_logger.h"

#include <cstdio>

namespace bg {

const char* MsgTag(MsgId id) {
  // One case per id: a tag given twice would still compile, the unit test
  // catches it; a name given twice does not compile.
  switch (id) {
#define BG_MESSAGE_ID_CASE(name, tag) \
  case MsgId::name:                   \
    return tag;
    BG_MESSAGE_IDS(BG_MESSAGE_ID_CASE)
#undef BG_MESSAGE_ID_CASE
    case MsgId::kNone:
      break;
  }
  return "";
}

std::string FormatLogMessageV(MsgId id, const char* fmt, va_list ap) {
  std::string out = MsgTag(id);
  if (!out.empty()) out += ": ";
  const size_t prefix = out.size();
  char buf[1024];
  va_list copy;
  va_copy(copy, ap);
  const int n = vsnprintf(buf, sizeof buf, fmt, copy);
  va_end(copy);
  if (n < 0) return out;
  if (static_cast<size_t>(n) < sizeof buf) return out.append(buf, static_cast<size_t>(n));
  out.resize(prefix + static_cast<size_t>(n) + 1);
  vsnprintf(&out[prefix], static_cast<size_t>(n) + 1, fmt, ap);
  out.resize(prefix + static_cast<size_t>(n));
  return out;
}

std::string FormatLogMessage(MsgId id, const char* fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  std::string out = FormatLogMessageV(id, fmt, ap);
  va_end(ap);
  return out;
}

void LogAt(Logger* log, const char* file, int line, LogLevel level, MsgId id, const char* fmt, ...) {
  if (!log->Enabled(level)) return;
  va_list ap;
  va_start(ap, fmt);
  const std::string message = FormatLogMessageV(id, fmt, ap);
  va_end(ap);
  log->Log(level, file, line, message);
}

}  // namespace bg
