#pragma once

#include <map>
#include <mutex>
#include <string>

namespace tickstream::observability {

// Liveness and readiness as components report them.
//  live:  the process can make progress (a deadlocked or fatally broken one is not); /healthz.
//  ready: it should receive traffic: every component that registered has said it is ready
//         (the gateway has loaded its snapshots, the consumer has its partitions); /readyz.
// A component registers by calling setReady(name, false) early, so readiness cannot be
// reported before it has had its say: register every component before the HttpEndpoint
// starts, since with none registered the process counts as ready.
class Health {
 public:
  struct Component {
    bool ready = false;
    std::string detail;  // why not ready, shown by /readyz
  };

  void setReady(const std::string& component, bool ready, std::string detail = {});
  void setLive(bool live, std::string detail = {});

  bool live() const;
  bool ready() const;  // live and every component ready
  // A plain-text report, one line per component: "ok name" or "FAIL name: detail".
  std::string readinessReport() const;
  std::string livenessReport() const;

 private:
  mutable std::mutex mu_;
  bool live_ = true;
  std::string live_detail_;
  std::map<std::string, Component> components_;
};

}  // namespace tickstream::observability
