// `atelier models pull|list|verify`: the CLI face of models/hub.
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <iostream>

#include "app/app.h"
#include "embed/native_models.h"
#include "models/hub.h"
#include "net/http_client.h"

namespace atelier::app {

namespace fs = std::filesystem;

namespace {

std::string first_models_dir(const Config& c) {
  auto end = c.models_dir.find(':');
  return c.models_dir.substr(0, end);
}

std::string human(double b) {
  const char* units[] = {"B", "KB", "MB", "GB"};
  int u = 0;
  while (b >= 1000 && u < 3) {
    b /= 1000;
    ++u;
  }
  char buf[32];
  std::snprintf(buf, sizeof buf, u ? "%.1f %s" : "%.0f %s", b, units[u]);
  return buf;
}

// A bar redrawn in place on a terminal; on a pipe, a line per quarter.
class Progress {
 public:
  explicit Progress(bool tty) : tty_(tty) {}
  void update(const std::string& file, std::uint64_t got, std::uint64_t total) {
    if (file != file_) {
      finish();
      file_ = file;
      quarter_ = -1;
    }
    if (tty_) {
      const int width = 30;
      const int filled =
          total ? static_cast<int>(width * static_cast<double>(got) / static_cast<double>(total))
                : 0;
      std::fprintf(stderr, "\r  %-28s [%s%s] %s%s", file.c_str(),
                   std::string(static_cast<std::size_t>(filled), '#').c_str(),
                   std::string(static_cast<std::size_t>(width - filled), '.').c_str(),
                   human(static_cast<double>(got)).c_str(),
                   total ? (" / " + human(static_cast<double>(total))).c_str() : "");
      std::fflush(stderr);
      open_ = true;
    } else if (total) {
      const int q = static_cast<int>(4 * got / total);
      if (q != quarter_) {
        quarter_ = q;
        std::fprintf(stderr, "  %s %d%% of %s\n", file.c_str(), 25 * q,
                     human(static_cast<double>(total)).c_str());
      }
    }
  }
  void finish() {
    if (open_) std::fputc('\n', stderr);
    open_ = false;
  }

 private:
  bool tty_;
  bool open_ = false;
  int quarter_ = -1;
  std::string file_;
};

}  // namespace

int models_pull(const Config& c, const std::string& name, const std::string& revision) {
  if (c.model_catalog.empty()) {
    std::cerr << "no model catalogue (config/models.json); set ATELIER_MODEL_CATALOG\n";
    return 2;
  }
  auto catalog = models::load_catalog(c.model_catalog);
  if (!catalog.is_ok()) {
    std::cerr << catalog.status().message() << "\n";
    return 2;
  }
  const models::CatalogEntry* entry = nullptr;
  for (const auto& e : *catalog)
    if (e.name == name) entry = &e;
  if (!entry) {
    std::cerr << "unknown model '" << name << "'; `atelier models list` shows the catalogue ("
              << c.model_catalog << ")\n";
    return 2;
  }
  const std::string dest = first_models_dir(c);
  if (dest.empty()) {
    std::cerr << "no models directory: set --models-dir or ATELIER_MODELS_DIR\n";
    return 2;
  }
  net::global_init();
  models::PullOptions opt;
  opt.endpoint = c.hf_endpoint;
  opt.dest_root = dest;
  opt.revision = revision;
  if (const char* t = std::getenv("HF_TOKEN")) opt.token = t;
  Progress bar(::isatty(2));
  opt.progress = [&bar](const std::string& f, std::uint64_t got, std::uint64_t total) {
    bar.update(f, got, total);
  };
  std::cerr << "pulling " << name << " from " << c.hf_endpoint << " into " << dest << "\n";
  auto r = models::pull(*entry, opt);
  bar.finish();
  if (!r.is_ok()) {
    std::cerr << "pull failed: " << r.status().message() << "\n";
    return 1;
  }
  for (const auto& f : *r)
    std::cout << f.path << "\t" << f.bytes << "\t" << f.sha256 << "\t" << f.checked_against << "\n";
  std::cout << "installed " << name << " in " << (fs::path(dest) / name).string() << "\n";
  return 0;
}

int models_list(const Config& c) {
  auto installed = embed::find_hf_folders(c.models_dir);
  std::cout << "name\tstate\tarchitecture\tpath\n";
  if (!c.model_catalog.empty()) {
    auto catalog = models::load_catalog(c.model_catalog);
    if (catalog.is_ok()) {
      for (const auto& e : *catalog) {
        auto it = installed.find(e.name);
        std::cout << e.name << "\t" << (it == installed.end() ? "available" : "installed") << "\t"
                  << e.architecture << "\t" << (it == installed.end() ? "-" : it->second) << "\n";
        if (it != installed.end()) installed.erase(it);
      }
    }
  }
  for (const auto& [name, dir] : installed) std::cout << name << "\tinstalled\t-\t" << dir << "\n";
  return 0;
}

int models_verify(const Config& c, const std::string& only) {
  int bad = 0, checked = 0;
  auto report = [&](const models::VerifyReport& r) {
    if (!only.empty() && r.name != only) return;
    ++checked;
    if (r.problems.empty()) {
      std::cout << "ok\t" << r.name << "\t" << r.files << " files\t" << r.dir << "\n";
    } else {
      ++bad;
      for (const auto& p : r.problems) std::cout << "FAILED\t" << r.name << "\t" << p << "\n";
    }
  };
  for (const auto& [name, dir] : embed::find_hf_folders(c.models_dir)) {
    auto r = models::verify_folder(dir, name);
    if (r.is_ok())
      report(*r);
    else if (only == name)
      std::cout << "unverifiable\t" << name << "\t" << r.status().message() << "\n";
  }
  std::size_t start = 0;
  while (start <= c.models_dir.size()) {  // the shared models' MANIFEST.tsv
    auto end = c.models_dir.find(':', start);
    if (end == std::string::npos) end = c.models_dir.size();
    const fs::path tsv = fs::path(c.models_dir.substr(start, end - start)) / "MANIFEST.tsv";
    start = end + 1;
    std::error_code ec;
    if (!fs::is_regular_file(tsv, ec)) continue;
    auto rs = models::verify_tsv(tsv.string());
    if (rs.is_ok())
      for (const auto& r : *rs) report(r);
  }
  if (!only.empty() && checked == 0) {
    std::cerr << "no verifiable model '" << only << "' in the models path\n";
    return 1;
  }
  return bad ? 1 : 0;
}

}  // namespace atelier::app
