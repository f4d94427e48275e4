#pragma once

#include <cstdint>
#include <initializer_list>
#include <string>
#include <string_view>

// Structured logs: one event per line, a short message plus key/value fields.
//   logging::info("consumer assigned", {{"topic", topic}, {"partitions", n}});
// In JSON format (the default, for machines) a line is
//   {"ts":"2026-11-23T11:36:16.040123Z","level":"info","service":"gateway","msg":"...","topic":"md.ticks","partitions":8}
// In text format (for people at a terminal) it is
//   2026-11-23T11:36:16.040123Z info gateway consumer assigned topic=md.ticks partitions=8
namespace tickstream::logging {

enum class Level { Debug, Info, Warn, Error };
enum class Format { Json, Text };

struct LogConfig {
  std::string service = "tickstream";  // written in every line
  Level level = Level::Info;           // lines below it are dropped
  Format format = Format::Json;        // json for machines, text for people
};

// Parses "debug|info|warn|error" / "json|text"; throws std::invalid_argument naming the value.
Level parseLevel(std::string_view s);
Format parseFormat(std::string_view s);

// One key/value of an event. Strings are copied into the line immediately, so views into
// temporaries are fine.
class Field {
 public:
  enum class Kind { String, Int, Uint, Double, Bool };
  Field(std::string_view key, std::string_view v) : key_(key), kind_(Kind::String), str_(v) {}
  Field(std::string_view key, const std::string& v) : key_(key), kind_(Kind::String), str_(v) {}
  Field(std::string_view key, const char* v) : key_(key), kind_(Kind::String), str_(v) {}
  Field(std::string_view key, bool v) : key_(key), kind_(Kind::Bool), bool_(v) {}
  Field(std::string_view key, double v) : key_(key), kind_(Kind::Double), double_(v) {}
  Field(std::string_view key, int v) : key_(key), kind_(Kind::Int), int_(v) {}
  Field(std::string_view key, long v) : key_(key), kind_(Kind::Int), int_(v) {}
  Field(std::string_view key, long long v) : key_(key), kind_(Kind::Int), int_(v) {}
  Field(std::string_view key, unsigned v) : key_(key), kind_(Kind::Uint), uint_(v) {}
  Field(std::string_view key, unsigned long v) : key_(key), kind_(Kind::Uint), uint_(v) {}
  Field(std::string_view key, unsigned long long v) : key_(key), kind_(Kind::Uint), uint_(v) {}

  std::string_view key() const { return key_; }
  Kind kind() const { return kind_; }
  std::string_view str() const { return str_; }
  int64_t i64() const { return int_; }
  uint64_t u64() const { return uint_; }
  double f64() const { return double_; }
  bool b() const { return bool_; }

 private:
  std::string_view key_;
  Kind kind_;
  std::string_view str_;
  int64_t int_ = 0;
  uint64_t uint_ = 0;
  double double_ = 0;
  bool bool_ = false;
};
using Fields = std::initializer_list<Field>;

// Configures the process-wide logger (stderr). Safe to call again, e.g. after parsing flags.
void init(const LogConfig& config);

bool enabled(Level level);
void log(Level level, std::string_view msg, Fields fields = {});
inline void debug(std::string_view msg, Fields f = {}) { log(Level::Debug, msg, f); }
inline void info(std::string_view msg, Fields f = {}) { log(Level::Info, msg, f); }
inline void warn(std::string_view msg, Fields f = {}) { log(Level::Warn, msg, f); }
inline void error(std::string_view msg, Fields f = {}) { log(Level::Error, msg, f); }

// Formats one line without the timestamp prefix (what init()'s sink receives); exposed for tests.
std::string formatEvent(Format format, Level level, std::string_view service,
                        std::string_view msg, Fields fields);

}  // namespace tickstream::logging
