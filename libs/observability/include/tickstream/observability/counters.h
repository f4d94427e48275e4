#pragma once

#include <prometheus/counter.h>
#include <prometheus/registry.h>

#include <cstdint>
#include <string>

// Services count on their hot threads in plain integers and mirror them into Prometheus from
// a slower loop, so the hot path never touches an atomic it does not own.
namespace tickstream::observability {

// An unlabelled counter registered in `registry`.
inline prometheus::Counter& registerCounter(prometheus::Registry& registry, const std::string& name,
                                            const std::string& help) {
  return prometheus::BuildCounter().Name(name).Help(help).Register(registry).Add({});
}

// Adds to `counter` what the plain integer grew since `last` (which it then updates).
inline void advance(prometheus::Counter& counter, uint64_t now, uint64_t& last) {
  if (now > last) {
    counter.Increment(static_cast<double>(now - last));
    last = now;
  }
}

}  // namespace tickstream::observability
