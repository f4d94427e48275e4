#include "tickstream/observability/health.h"

namespace tickstream::observability {

void Health::setReady(const std::string& component, bool ready, std::string detail) {
  std::lock_guard lock(mu_);
  components_[component] = Component{ready, std::move(detail)};
}

void Health::setLive(bool live, std::string detail) {
  std::lock_guard lock(mu_);
  live_ = live;
  live_detail_ = std::move(detail);
}

bool Health::live() const {
  std::lock_guard lock(mu_);
  return live_;
}

bool Health::ready() const {
  std::lock_guard lock(mu_);
  if (!live_) return false;
  for (const auto& [name, c] : components_) {
    if (!c.ready) return false;
  }
  return true;
}

std::string Health::readinessReport() const {
  std::lock_guard lock(mu_);
  std::string out;
  if (!live_) out += "FAIL live: " + live_detail_ + "\n";
  for (const auto& [name, c] : components_) {
    out += c.ready ? "ok " + name : "FAIL " + name + (c.detail.empty() ? "" : ": " + c.detail);
    out += '\n';
  }
  if (out.empty()) out = "ok\n";
  return out;
}

std::string Health::livenessReport() const {
  std::lock_guard lock(mu_);
  return live_ ? "ok\n" : "FAIL " + live_detail_ + "\n";
}

}  // namespace tickstream::observability
