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
  // Raw bytes, as bytea's hex format, encoded straight into the literal.
  void bytes(std::string_view b) {
    open();
    out_ += "\"\\\\x";  // "\\x...": an escaped backslash, then bytea's hex format
    const std::size_t at = out_.size();
    out_.resize(at + 2 * b.size());
    writeHex(b, out_.data() + at);
    out_ += '"';
  }
  void number(std::int64_t v) {
    open();
    out_ += std::to_string(v);
  }
  // The literal, moved out of an expiring object: `std::move(ids).take()`, once, last. (A batch's
  // payload arrays reach hundreds of KB; copying them again was a visible share of the lane's
  // malloc time.)
  std::string take() && {
    if (out_.empty()) return "{}";
    out_ += '}';
    return std::move(out_);
  }

 private:
  void open() { out_ += out_.empty() ? '{' : ','; }
  static void writeHex(std::string_view b, char* p) {
    static constexpr char kHex[] = "0123456789abcdef";
    for (unsigned char c : b) {
      *p++ = kHex[c >> 4];
      *p++ = kHex[c & 0xf];
    }
  }
  std::string out_;
};

inline std::string textArray(const std::vector<std::string>& values) {
  ArrayLiteral a;
  for (const auto& v : values) a.text(v);
  return std::move(a).take();
}

}  // namespace tickstream::order
