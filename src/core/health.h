// Components report their health here; /health/ready and /health/detailed
// read it. A component marked `required` makes readiness fail when it is down
// (the database, a required model, a saturated work queue).
//
// Thread safety: add() before serving; check() from any thread.
#pragma once

#include <nlohmann/json.hpp>

#include <functional>
#include <string>
#include <vector>

namespace atelier {

struct ComponentHealth {
  bool ok = true;
  std::string detail;
  nlohmann::json info = nlohmann::json::object();
};

class HealthRegistry {
 public:
  using Probe = std::function<ComponentHealth()>;

  void add(std::string name, bool required, Probe probe) {
    components_.push_back({std::move(name), required, std::move(probe)});
  }

  struct Report {
    bool ready = true;
    std::vector<std::string> failing;  // required components that are down
    nlohmann::json components = nlohmann::json::object();
  };

  Report check() const {
    Report r;
    for (const auto& c : components_) {
      ComponentHealth h;
      try {
        h = c.probe();
      } catch (const std::exception& e) {
        h = {false, e.what(), nlohmann::json::object()};
      }
      nlohmann::json j = h.info;
      j["status"] = h.ok ? "up" : "down";
      j["required"] = c.required;
      if (!h.detail.empty()) j["detail"] = h.detail;
      r.components[c.name] = j;
      if (!h.ok && c.required) {
        r.ready = false;
        r.failing.push_back(c.name);
      }
    }
    return r;
  }

 private:
  struct Component {
    std::string name;
    bool required;
    Probe probe;
  };
  std::vector<Component> components_;
};

}  // namespace atelier
