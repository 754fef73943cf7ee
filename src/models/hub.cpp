#include "models/hub.h"

#include <openssl/evp.h>
#include <sodium.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <map>
#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <regex>
#include <sstream>

#include "net/download.h"

namespace atelier::models {

namespace fs = std::filesystem;

namespace {

std::string to_hex(const unsigned char* p, std::size_t n) {
  static const char* hex = "0123456789abcdef";
  std::string s;
  for (std::size_t i = 0; i < n; ++i) {
    s.push_back(hex[p[i] >> 4]);
    s.push_back(hex[p[i] & 15]);
  }
  return s;
}

bool is_hex(const std::string& s, std::size_t len) {
  return s.size() == len && s.find_first_not_of("0123456789abcdef") == std::string::npos;
}

std::string unquote(std::string s) {
  if (s.rfind("W/", 0) == 0) s = s.substr(2);
  if (s.size() >= 2 && s.front() == '"' && s.back() == '"') s = s.substr(1, s.size() - 2);
  return s;
}

// Git's blob id: SHA-1 of "blob <size>\0" + content.
std::string git_blob_sha1(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  const std::string body = ss.str();
  const std::string head = "blob " + std::to_string(body.size()) + std::string(1, '\0');
  std::unique_ptr<EVP_MD_CTX, decltype(&EVP_MD_CTX_free)> ctx(EVP_MD_CTX_new(), &EVP_MD_CTX_free);
  unsigned char md[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  EVP_DigestInit_ex(ctx.get(), EVP_sha1(), nullptr);
  EVP_DigestUpdate(ctx.get(), head.data(), head.size());
  EVP_DigestUpdate(ctx.get(), body.data(), body.size());
  EVP_DigestFinal_ex(ctx.get(), md, &len);
  return to_hex(md, len);
}

bool valid_relative_path(const std::string& p) {
  static const std::regex re("^[A-Za-z0-9._-]+(/[A-Za-z0-9._-]+)*$");
  return std::regex_match(p, re) && p.find("..") == std::string::npos;
}

}  // namespace

bool valid_model_name(const std::string& name) {
  static const std::regex re("^[A-Za-z0-9._-]+(/[A-Za-z0-9._-]+)?$");
  return std::regex_match(name, re) && name.find("..") == std::string::npos;
}

std::string sha256_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return "";
  crypto_hash_sha256_state st;
  crypto_hash_sha256_init(&st);
  std::vector<char> buf(1 << 20);
  while (in) {
    in.read(buf.data(), static_cast<std::streamsize>(buf.size()));
    const auto n = in.gcount();
    if (n > 0)
      crypto_hash_sha256_update(&st, reinterpret_cast<const unsigned char*>(buf.data()),
                                static_cast<unsigned long long>(n));
  }
  unsigned char d[crypto_hash_sha256_BYTES];
  crypto_hash_sha256_final(&st, d);
  return to_hex(d, sizeof d);
}

Result<std::vector<CatalogEntry>> load_catalog(const std::string& path) {
  std::ifstream in(path);
  if (!in) return Status::not_found(path + ": cannot open the model catalogue");
  auto j = nlohmann::json::parse(in, nullptr, false);
  if (j.is_discarded() || !j.is_object() || !j.contains("models") || !j["models"].is_array())
    return Status::invalid_argument(path + ": expected {\"models\": [...]}");
  std::vector<CatalogEntry> out;
  try {
    for (const auto& m : j["models"]) {
      CatalogEntry e;
      e.name = m.at("name").get<std::string>();
      e.revision = m.value("revision", "main");
      e.architecture = m.value("architecture", "");
      e.license = m.value("license", "");
      e.description = m.value("description", "");
      if (!valid_model_name(e.name))
        return Status::invalid_argument(path + ": invalid model name '" + e.name + "'");
      for (const auto& f : m.at("files")) {
        CatalogFile cf;
        if (f.is_string()) {
          cf.path = f.get<std::string>();
        } else {
          cf.path = f.at("path").get<std::string>();
          cf.sha256 = f.value("sha256", "");
          cf.optional = f.value("optional", false);
        }
        if (!valid_relative_path(cf.path))
          return Status::invalid_argument(path + ": " + e.name + ": invalid file path '" + cf.path +
                                          "'");
        if (!cf.sha256.empty() && !is_hex(cf.sha256, 64))
          return Status::invalid_argument(path + ": " + e.name + "/" + cf.path +
                                          ": sha256 must be 64 hex digits");
        e.files.push_back(cf);
      }
      out.push_back(std::move(e));
    }
  } catch (const nlohmann::json::exception& ex) {
    return Status::invalid_argument(path + ": " + ex.what());
  }
  return out;
}

namespace {

// Which checksum a downloaded file is held to, in order of trust: the
// catalogue's, the hub's X-Linked-Etag (LFS files' SHA-256), an ETag that is
// a SHA-256, an ETag that is a git blob SHA-1; else it is marked unverified.
// A mismatch fails the pull.
Status check_file(const CatalogEntry& entry, const CatalogFile& f, net::DownloadResult& r,
                  const fs::path& target, PulledFile* pf) {
  const std::string linked =
      unquote(r.headers.count("x-linked-etag") ? r.headers["x-linked-etag"] : "");
  const std::string etag = unquote(r.headers.count("etag") ? r.headers["etag"] : "");
  std::string want;
  if (!f.sha256.empty()) {
    want = f.sha256;
    pf->checked_against = "catalogue sha256";
  } else if (is_hex(linked, 64)) {
    want = linked;
    pf->checked_against = "hub X-Linked-Etag (sha256)";
  } else if (is_hex(etag, 64)) {
    want = etag;
    pf->checked_against = "hub ETag (sha256)";
  } else if (is_hex(etag, 40)) {
    const std::string sha1 = git_blob_sha1(target.string());
    if (sha1 != etag)
      return Status::invalid_argument(std::string(entry.name)
                                          .append("/")
                                          .append(f.path)
                                          .append(": git blob SHA-1 ")
                                          .append(sha1)
                                          .append(" does not match the hub's ETag ")
                                          .append(etag)
                                          .append("; nothing was installed"));
    pf->checked_against = "hub ETag (git blob sha1)";
  } else {
    pf->checked_against = "unverified (no checksum published)";
  }
  if (!want.empty() && want != r.sha256_hex)
    return Status::invalid_argument(entry.name + "/" + f.path + ": SHA-256 " + r.sha256_hex +
                                    " does not match " + pf->checked_against + " " + want +
                                    "; nothing was installed");
  if (r.headers.count("x-linked-size") && r.headers["x-linked-size"] != std::to_string(r.bytes))
    return Status::invalid_argument(entry.name + "/" + f.path + ": got " + std::to_string(r.bytes) +
                                    " bytes, the hub announced " + r.headers["x-linked-size"]);
  return Status::ok();
}

// One file of the model into the staging folder, checked; none when an
// optional file is not there.
Result<std::optional<PulledFile>> pull_file(const CatalogEntry& entry, const CatalogFile& f,
                                            const std::string& base_url, const fs::path& staging,
                                            const PullOptions& opt) {
  const fs::path target = staging / f.path;
  std::error_code ec;
  fs::create_directories(target.parent_path(), ec);
  net::DownloadRequest req;
  req.url = base_url + "/" + f.path;
  req.path = target.string();
  if (!opt.token.empty()) req.headers.emplace_back("Authorization", "Bearer " + opt.token);
  if (opt.progress)
    req.progress = [&](std::uint64_t got, std::uint64_t total) {
      opt.progress(f.path, got, total);
    };
  ATELIER_ASSIGN_OR_RETURN(net::DownloadResult r, net::download(req));
  if (r.status == 404 && f.optional) {
    fs::remove(target, ec);
    return std::optional<PulledFile>();
  }
  if (r.status != 200)
    return Status::unavailable(
        req.url + " answered HTTP " + std::to_string(r.status) +
        (r.status == 401 || r.status == 403 ? " (a gated model? set HF_TOKEN)" : ""));
  PulledFile pf{f.path, r.sha256_hex, "", r.bytes};
  ATELIER_RETURN_IF_ERROR(check_file(entry, f, r, target, &pf));
  return std::optional<PulledFile>(std::move(pf));
}

void write_manifest(const fs::path& folder, const CatalogEntry& entry, const std::string& revision,
                    const std::string& source, const std::vector<PulledFile>& pulled) {
  nlohmann::ordered_json m;
  m["name"] = entry.name;
  m["revision"] = revision;
  m["source"] = source;
  m["architecture"] = entry.architecture;
  m["license"] = entry.license;
  auto& files = m["files"] = nlohmann::ordered_json::object();
  for (const auto& p : pulled)
    files[p.path] = {
        {"sha256", p.sha256}, {"bytes", p.bytes}, {"checked_against", p.checked_against}};
  std::ofstream(folder / "atelier-manifest.json") << m.dump(2) << "\n";
}

// Swaps the finished folder in; an older copy goes only once the new one is whole.
Status swap_in(const fs::path& staging, const fs::path& dest, const fs::path& old) {
  std::error_code ec;
  const bool had = fs::exists(dest, ec);
  if (had) fs::rename(dest, old, ec);
  if (ec) return Status::internal(dest.string() + ": " + ec.message());
  fs::create_directories(dest.parent_path(), ec);
  fs::rename(staging, dest, ec);
  if (ec) {
    std::error_code e2;
    if (had) fs::rename(old, dest, e2);
    return Status::internal(dest.string() + ": " + ec.message());
  }
  if (had) fs::remove_all(old, ec);
  return Status::ok();
}

// A folder removed when it goes out of scope, unless kept.
struct StagingFolder {
  explicit StagingFolder(fs::path p) : path(std::move(p)) {}
  StagingFolder(const StagingFolder&) = delete;
  StagingFolder& operator=(const StagingFolder&) = delete;
  ~StagingFolder() {
    std::error_code e;
    if (!keep) fs::remove_all(path, e);
  }
  fs::path path;
  bool keep = false;
};

}  // namespace

Result<std::vector<PulledFile>> pull(const CatalogEntry& entry, const PullOptions& opt) {
  if (!valid_model_name(entry.name))
    return Status::invalid_argument("invalid model name '" + entry.name + "'");
  const std::string revision = opt.revision.empty() ? entry.revision : opt.revision;
  if (!valid_model_name(revision) || revision.find('/') != std::string::npos)
    return Status::invalid_argument("invalid revision '" + revision + "'");
  const std::string pid = std::to_string(::getpid());
  StagingFolder staging(fs::path(opt.dest_root) / (entry.name + ".partial-" + pid));
  std::error_code ec;
  fs::remove_all(staging.path, ec);
  fs::create_directories(staging.path, ec);
  if (ec) return Status::internal(staging.path.string() + ": " + ec.message());

  std::string endpoint = opt.endpoint;
  while (!endpoint.empty() && endpoint.back() == '/') endpoint.pop_back();
  const std::string base_url = endpoint + "/" + entry.name + "/resolve/" + revision;
  std::vector<PulledFile> pulled;
  for (const auto& f : entry.files) {
    ATELIER_ASSIGN_OR_RETURN(auto got, pull_file(entry, f, base_url, staging.path, opt));
    if (got) pulled.push_back(std::move(*got));
  }
  write_manifest(staging.path, entry, revision, endpoint + "/" + entry.name, pulled);
  ATELIER_RETURN_IF_ERROR(swap_in(staging.path, fs::path(opt.dest_root) / entry.name,
                                  fs::path(opt.dest_root) / (entry.name + ".old-" + pid)));
  staging.keep = true;
  return pulled;
}

Result<VerifyReport> verify_folder(const std::string& dir, const std::string& name) {
  VerifyReport rep{name, dir, 0, {}};
  std::ifstream in(fs::path(dir) / "atelier-manifest.json");
  if (!in) return Status::not_found(dir + ": no atelier-manifest.json (not pulled by atelier)");
  auto j = nlohmann::json::parse(in, nullptr, false);
  if (j.is_discarded() || !j.contains("files") || !j["files"].is_object())
    return Status::invalid_argument(dir + "/atelier-manifest.json is malformed");
  for (auto& [path, f] : j["files"].items()) {
    ++rep.files;
    const fs::path p = fs::path(dir) / path;
    std::error_code ec;
    if (!fs::is_regular_file(p, ec)) {
      rep.problems.push_back(path + ": missing");
      continue;
    }
    const auto size = fs::file_size(p, ec);
    if (f.contains("bytes") && size != f["bytes"].get<std::uint64_t>()) {
      rep.problems.push_back(path + ": " + std::to_string(size) + " bytes, expected " +
                             std::to_string(f["bytes"].get<std::uint64_t>()));
      continue;
    }
    const std::string got = sha256_file(p.string());
    if (got != f.value("sha256", ""))
      rep.problems.push_back(std::string(path)
                                 .append(": SHA-256 ")
                                 .append(got)
                                 .append(" does not match the manifest"));
  }
  return rep;
}

Result<std::vector<VerifyReport>> verify_tsv(const std::string& manifest_tsv) {
  std::ifstream in(manifest_tsv);
  if (!in) return Status::not_found(manifest_tsv + ": cannot open");
  const fs::path root = fs::path(manifest_tsv).parent_path();
  std::string line;
  std::getline(in, line);  // header: name file bytes sha256 ...
  std::map<std::string, VerifyReport> by_name;
  while (std::getline(in, line)) {
    std::vector<std::string> cols;
    std::stringstream ss(line);
    std::string col;
    while (std::getline(ss, col, '\t')) cols.push_back(col);
    if (cols.size() < 4) continue;
    auto& rep = by_name[cols[0]];
    rep.name = cols[0];
    rep.dir = (root / cols[1]).parent_path().string();
    ++rep.files;
    const fs::path p = root / cols[1];
    std::error_code ec;
    if (!fs::is_regular_file(p, ec)) {
      rep.problems.push_back(cols[1] + ": missing");
      continue;
    }
    if (std::to_string(fs::file_size(p, ec)) != cols[2]) {
      rep.problems.push_back(cols[1] + ": size differs from the manifest");
      continue;
    }
    if (sha256_file(p.string()) != cols[3])
      rep.problems.push_back(cols[1] + ": SHA-256 does not match the manifest");
  }
  std::vector<VerifyReport> out;
  for (auto& [k, v] : by_name) out.push_back(std::move(v));
  return out;
}

}  // namespace atelier::models
