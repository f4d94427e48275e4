#include "page_token.h"

#include <algorithm>
#include <charconv>
#include <string_view>

namespace tickstream::order {
namespace {

// FNV-1a 64: the digest only has to tell filter sets apart for one client, not resist attack
// (a forged token can only page through the caller's own account's orders).
void mix(std::uint64_t& h, std::string_view bytes) {
  for (unsigned char c : bytes) {
    h ^= c;
    h *= 0x100000001b3ULL;
  }
  h ^= 0xff;  // field separator, so ("ab","c") and ("a","bc") differ
  h *= 0x100000001b3ULL;
}

constexpr char kHex[] = "0123456789abcdef";

}  // namespace

std::uint64_t filterDigest(const std::string& account, std::vector<v1::OrderStatus> statuses,
                           const std::string& symbol) {
  std::sort(statuses.begin(), statuses.end());
  statuses.erase(std::unique(statuses.begin(), statuses.end()), statuses.end());
  std::uint64_t h = 0xcbf29ce484222325ULL;
  mix(h, account);
  for (auto s : statuses) mix(h, std::to_string(static_cast<int>(s)));
  mix(h, symbol);
  return h;
}

// Plain text "v1|<digest>|<created_ts_ns>|<order_id>", hex-encoded so it is one opaque word.
std::string encodePageToken(const PageCursor& cursor, std::uint64_t filter_digest) {
  const std::string plain = "v1|" + std::to_string(filter_digest) + "|" + std::to_string(cursor.created_ts_ns) +
                            "|" + cursor.order_id;
  std::string out;
  out.reserve(plain.size() * 2);
  for (unsigned char c : plain) {
    out.push_back(kHex[c >> 4]);
    out.push_back(kHex[c & 0xf]);
  }
  return out;
}

std::optional<PageCursor> decodePageToken(const std::string& token, std::uint64_t filter_digest) {
  if (token.size() % 2 != 0 || token.size() > 1024) return std::nullopt;
  std::string plain;
  for (std::size_t i = 0; i < token.size(); i += 2) {
    unsigned v = 0;
    auto [p, ec] = std::from_chars(token.data() + i, token.data() + i + 2, v, 16);
    if (ec != std::errc() || p != token.data() + i + 2) return std::nullopt;
    plain.push_back(static_cast<char>(v));
  }
  std::string_view s(plain);
  auto field = [&s]() -> std::optional<std::string_view> {
    auto bar = s.find('|');
    if (bar == std::string_view::npos) return std::nullopt;
    auto f = s.substr(0, bar);
    s.remove_prefix(bar + 1);
    return f;
  };
  auto version = field();
  auto digest = field();
  auto created = field();
  if (!version || *version != "v1" || !digest || !created || s.empty()) return std::nullopt;
  std::uint64_t d = 0;
  PageCursor cursor;
  if (std::from_chars(digest->data(), digest->data() + digest->size(), d).ec != std::errc() || d != filter_digest) {
    return std::nullopt;
  }
  if (std::from_chars(created->data(), created->data() + created->size(), cursor.created_ts_ns).ec != std::errc()) {
    return std::nullopt;
  }
  cursor.order_id = std::string(s);
  return cursor;
}

}  // namespace tickstream::order
