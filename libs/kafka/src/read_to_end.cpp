#include "tickstream/kafka/read_to_end.h"

#include <algorithm>
#include <stdexcept>
#include <vector>

namespace tickstream::kafka {

void readToEnd(Consumer& reader, const std::string& topic, const std::map<int32_t, int64_t>& starts,
               const std::function<void(const Message&)>& fn, std::chrono::milliseconds timeout) {
  using namespace std::chrono_literals;
  std::map<int32_t, int64_t> end;
  std::vector<TopicPartitionOffset> assignment;
  for (const auto& [p, start] : starts) {
    const auto [low, high] = reader.watermarks(topic, p, 10s);
    const int64_t from = start < 0 ? low : std::max(start, low);
    if (from < high) {
      end[p] = high;
      assignment.push_back({topic, p, from});
    }
  }
  if (assignment.empty()) return;
  reader.assign(assignment);
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  while (!end.empty()) {
    if (std::chrono::steady_clock::now() > deadline) {
      throw std::runtime_error("reading " + topic + ": high watermarks not reached in time");
    }
    auto m = reader.poll(500ms);
    if (!m) continue;
    if (!m->ok()) throw std::runtime_error("reading " + topic + ": " + m->errorString());
    fn(*m);
    if (auto it = end.find(m->partition()); it != end.end() && m->offset() + 1 >= it->second) {
      end.erase(it);
    }
  }
  reader.assign({});
}

}  // namespace tickstream::kafka
