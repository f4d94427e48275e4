#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

// PostgreSQL array literals for unnest() parameters: the store's batch statements send one
// parameter per column instead of one statement per row (order_store_batch.cpp,
// order_store_changes.cpp).
namespace tickstream::order {

class ArrayLiteral {
 public:
  void text(std::string_view s) {
    open();
    out_ += '"';
    for (char c : s) {
      if (c == '"' || c == '\\') out_ += '\\';
      out_ += c;
    }
    out_ += '"';
  }
  void bytes(std::string_view b) {
    static constexpr char kHex[] = "0123456789abcdef";
    open();
    out_ += "\"\\\\x";  // "\\x...": an escaped backslash, then bytea's hex format
    for (unsigned char c : b) {
      out_ += kHex[c >> 4];
      out_ += kHex[c & 0xf];
    }
    out_ += '"';
  }
  void number(std::int64_t v) {
    open();
    out_ += std::to_string(v);
  }
  std::string str() const { return out_.empty() ? "{}" : out_ + "}"; }

 private:
  void open() { out_ += out_.empty() ? '{' : ','; }
  std::string out_;
};

inline std::string textArray(const std::vector<std::string>& values) {
  ArrayLiteral a;
  for (const auto& v : values) a.text(v);
  return a.str();
}

}  // namespace tickstream::order
