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

  // Makes these components required whatever they were added as; a name
  // that no component has is reported down ("not loaded"). Before serving.
  void require(const std::vector<std::string>& names) {
    for (const auto& n : names) required_names_.push_back(n);
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
      const bool required = c.required || named_required(c.name);
      nlohmann::json j = h.info;
      j["status"] = h.ok ? "up" : "down";
      j["required"] = required;
      if (!h.detail.empty()) j["detail"] = h.detail;
      r.components[c.name] = j;
      if (!h.ok && required) {
        r.ready = false;
        r.failing.push_back(c.name);
      }
    }
    for (const auto& n : required_names_) {
      if (r.components.contains(n)) continue;
      r.components[n] = {{"status", "down"}, {"required", true}, {"detail", "not loaded"}};
      r.ready = false;
      r.failing.push_back(n);
    }
    return r;
  }

 private:
  struct Component {
    std::string name;
    bool required;
    Probe probe;
  };
  bool named_required(const std::string& name) const {
    for (const auto& n : required_names_) {
      if (n == name) return true;
    }
    return false;
  }

  std::vector<Component> components_;
  std::vector<std::string> required_names_;  // "model:<name>"
};

}  // namespace atelier
