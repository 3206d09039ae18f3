// Logger: how the core reports to operators. The httpd glue routes it to
// ap_log_error; tests capture it. Implementations must be thread-safe.
// Messages may carry a job's output verbatim (any byte but NUL): the sink
// escapes what it must (httpd's error log escapes control characters).
//
// The core logs only through BG_LOG, which records the caller's source file
// and line (httpd prints them at LogLevel debug and in its error log format's
// %F) and puts the message id first. httpd already prints the module's name
// ("[backgrounder:error]"), so no message starts with "mod_backgrounder:".
#ifndef BG_LOGGER_H
#define BG_LOGGER_H

#include <cstdarg>
#include <string>

namespace bg {

// Same order and meaning as httpd's APLOG_* levels.
enum class LogLevel { kEmerg = 0, kAlert, kCrit, kError, kWarn, kNotice, kInfo, kDebug };

// Every message an operator may alert on has a stable id, the first word of
// the message ("BG0001: store error during ..."), as httpd's own AH01234.
// This list is the only place ids are assigned, and README.md's table of
// message ids lists each with its level, meaning and what to do (a unit test
// checks that the two agree and that no id appears twice). Never renumber
// or reuse an id: give a new message a new one; retire an old one by
// leaving its number unused (BG0023 is unused: it never shipped).
#define BG_MESSAGE_IDS(X)                                                                          \
  X(kStoreError, "BG0001")          /* the store fails: no job starts */                         \
  X(kStoreRecovered, "BG0002")      /* the store answers again */                                \
  X(kHistoryWriteFailed, "BG0003")  /* a history write failed, retried later */                  \
  X(kHistoryDropped, "BG0004")      /* a history record is lost for good */                      \
  X(kHistoryTruncated, "BG0005")    /* a record stored without detail and output */              \
  X(kRunAbandoned, "BG0006")        /* a run's lease expired unreleased */                       \
  X(kSlotSkipped, "BG0007")         /* misfire=skip: a slot started too late */                  \
  X(kSlotNotStarted, "BG0008")      /* a slot could not start */                                 \
  X(kLeaseLost, "BG0009")           /* a running job's lease is no longer ours */                \
  X(kJobFailed, "BG0010")           /* a run ended in failure */                                 \
  X(kJobTimeout, "BG0011")          /* a run reached its timeout */                              \
  X(kJobLeaseLost, "BG0012")        /* a run ended because its lease was lost */                 \
  X(kJobInterrupted, "BG0013")      /* a run was cancelled by a hard stop */                     \
  X(kAttemptFailed, "BG0014")       /* an attempt failed; retry= tries again */                  \
  X(kLeaseGoneAtEnd, "BG0015")      /* the lease was no longer ours at the run's end */          \
  X(kLeaseNotReleased, "BG0016")    /* the lease could not be released at the run's end */       \
  X(kNotActive, "BG0017")           /* this child cannot become the active scheduler */          \
  X(kSchedulerFailed, "BG0018")     /* the scheduler thread failed: no job runs in this child */ \
  X(kStoreRefused, "BG0019")        /* the store cannot be opened or its schema is refused */     \
  X(kChildStartFailed, "BG0020")    /* the scheduler cannot start in a child */                  \
  X(kConfigRefused, "BG0021")       /* the configuration is refused (httpd does not start) */     \
  X(kStoreUnusable, "BG0022")       /* the store is unusable at start: no job runs */            \
  X(kNoStatusSecret, "BG0024")      /* the status page refuses every action */                   \
  X(kNoCurl, "BG0025")              /* libcurl is missing: url= jobs fail */                     \
  X(kNoLockFile, "BG0026")          /* the scheduler lock file cannot be created */              \
  X(kInternalError, "BG0027")       /* an unexpected exception in a hook */                      \
  X(kActionRefused, "BG0028")       /* the status page refused an action */                      \
  X(kActionRequested, "BG0029")     /* an operator steered a job on the status page */           \
  X(kNoCounters, "BG0030")          /* no shared memory for the status page's counters */        \
  X(kTzdataDiffers, "BG0031")       /* this server's time-zone rules differ from the farm's */    \
  X(kNoCalendar, "BG0032")          /* a job's zone cannot be loaded: it does not run */

enum class MsgId {
  kNone,  // an ordinary message: no id
#define BG_MESSAGE_ID_ENUM(name, tag) name,
  BG_MESSAGE_IDS(BG_MESSAGE_ID_ENUM)
#undef BG_MESSAGE_ID_ENUM
};

// The id's tag ("BG0001"); "" for MsgId::kNone or a value outside the enum.
// Pure function.
const char* MsgTag(MsgId id);

class Logger {
 public:
  Logger() = default;
  Logger(const Logger&) = delete;
  Logger& operator=(const Logger&) = delete;
  virtual ~Logger() = default;
  virtual bool Enabled(LogLevel level) const = 0;
  // `file` and `line`: where the message was logged (__FILE__, __LINE__ of
  // the BG_LOG call), for the sink to show as httpd shows its own.
  virtual void Log(LogLevel level, const char* file, int line, const std::string& message) = 0;
};

// The message as BG_LOG logs it: printf's formatting of `fmt`, after
// "BGnnnn: " when `id` is not MsgId::kNone. Any length. Pure function.
std::string FormatLogMessage(MsgId id, const char* fmt, ...) __attribute__((format(printf, 2, 3)));
std::string FormatLogMessageV(MsgId id, const char* fmt, va_list ap);

// Formats and logs when `log` has `level` enabled (formatting nothing
// otherwise). Call it through BG_LOG.
void LogAt(Logger* log, const char* file, int line, LogLevel level, MsgId id, const char* fmt, ...)
    __attribute__((format(printf, 6, 7)));

}  // namespace bg

// BG_LOG(logger, LogLevel::kError, MsgId::kStoreError, "store error during %s", what)
#define BG_LOG(log, level, id, ...) ::bg::LogAt((log), __FILE__, __LINE__, (level), (id), __VA_ARGS__)

#endif  // BG_LOGGER_H
