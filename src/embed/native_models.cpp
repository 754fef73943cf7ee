#include "embed/native_models.h"

#include <cblas.h>

#include <filesystem>
#include <sstream>

#include "engines/native/encoders.h"
#include "obs/log.h"

namespace atelier::embed {

namespace fs = std::filesystem;

namespace {

bool is_model_dir(const fs::path& d) {
  std::error_code ec;
  return fs::is_regular_file(d / "config.json", ec) &&
         fs::is_regular_file(d / "model.safetensors", ec);
}

std::vector<std::string> split_list(const std::string& s) {
  std::vector<std::string> out;
  std::stringstream in(s);
  std::string item;
  while (std::getline(in, item, ',')) {
    auto b = item.find_first_not_of(" \t"), e = item.find_last_not_of(" \t");
    if (b != std::string::npos) out.push_back(item.substr(b, e - b + 1));
  }
  return out;
}

}  // namespace

std::map<std::string, std::string> find_hf_folders(const std::string& models_path) {
  std::map<std::string, std::string> out;  // name -> directory; the first path entry wins
  std::size_t start = 0;
  while (start <= models_path.size()) {
    auto end = models_path.find(':', start);
    if (end == std::string::npos) end = models_path.size();
    const fs::path root = models_path.substr(start, end - start);
    start = end + 1;
    std::error_code ec;
    if (root.empty() || !fs::is_directory(root, ec)) continue;
    for (auto it = fs::recursive_directory_iterator(
             root, fs::directory_options::skip_permission_denied, ec);
         it != fs::recursive_directory_iterator(); it.increment(ec)) {
      if (ec) break;
      if (it.depth() > 1) {
        it.disable_recursion_pending();
        continue;
      }
      if (!it->is_directory(ec) || !is_model_dir(it->path())) continue;
      const std::string name = fs::relative(it->path(), root, ec).generic_string();
      out.emplace(name, it->path().string());
      it.disable_recursion_pending();
    }
  }
  return out;
}

std::unique_ptr<NativeModels> load_native_models(const Config& c,
                                                 engines::EmbedderRegistry& embedders,
                                                 Metrics& metrics, HealthRegistry& health) {
  auto out = std::make_unique<NativeModels>();
  if (c.native_models == "none" || c.native_models.empty()) return out;
  // OpenBLAS keeps one process-wide pool; the flat vector index shares it.
  if (c.encoder_threads > 0) openblas_set_num_threads(c.encoder_threads);
  auto found = find_hf_folders(c.models_dir);
  std::map<std::string, std::string> wanted;
  if (c.native_models == "auto") {
    wanted = found;
  } else {
    for (const auto& name : split_list(c.native_models)) {
      auto it = found.find(name);
      if (it == found.end()) {
        out->errors[name] =
            std::string("no folder '")
                .append(name)
                .append("' with config.json and model.safetensors in the models path (")
                .append(c.models_dir)
                .append("); fetch it with `atelier models pull ")
                .append(name)
                .append("`");
      } else {
        wanted.insert(*it);
      }
    }
  }
  engines::native::NativeOptions opt;
  opt.batch_max = static_cast<std::size_t>(c.encoder_batch_max);
  opt.window = std::chrono::microseconds(static_cast<long>(c.batch_window_ms * 1000));
  opt.queue_capacity = static_cast<std::size_t>(c.inference_queue);
  opt.observer = [&metrics](const std::string& batcher) { return metrics.model_observer(batcher); };
  for (const auto& [name, dir] : wanted) {
    if (embedders.text(name)) continue;
    auto m = engines::native::load_hf_folder(dir, name, opt);
    if (!m.is_ok()) {
      // Folders of other architectures are not ours to serve; say so once.
      out->errors[name] = m.status().message();
      log::warn("model not loaded",
                {{"model", name}, {"path", dir}, {"error", m.status().message()}});
      continue;
    }
    log::info("model loaded", {{"model", name}, {"path", dir}, {"architecture", m->architecture}});
    if (m->image) {
      embedders.add_image_model(name, m->image->dimensions());
      out->image[name] = std::move(m->image);
    }
    embedders.add(std::move(m->text));
    out->loaded.push_back(name);
  }
  for (const auto& [name, why] : out->errors) {
    health.add("model:" + name, false, [why = why] { return ComponentHealth{false, why, {}}; });
  }
  for (const auto& name : out->loaded) {
    health.add("model:" + name, false, [] {
      return ComponentHealth{true, "", {{"runtime", "native (OpenBLAS)"}}};
    });
  }
  return out;
}

}  // namespace atelier::embed
