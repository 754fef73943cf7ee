// Model folders from a Hugging Face-compatible hub: `atelier models pull`,
// `list` and `verify`.
//
// pull downloads every file a catalogue entry lists from
// {endpoint}/{name}/resolve/{revision}/{file} into a staging folder, checks
// each one, and only then moves the folder into place (a failed pull leaves
// nothing half-written). A file is checked against, in order: the SHA-256
// pinned in the catalogue; else the hub's X-Linked-Etag (the SHA-256 of a
// large file stored in LFS); else the hub's ETag when it is a git blob SHA-1
// (small files). What each file was checked against is reported and written,
// with its SHA-256 and size, to the folder's atelier-manifest.json, which
// `verify` re-checks later.
//
// Thread safety: none needed (a CLI command).
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "core/status.h"

namespace atelier::models {

struct CatalogFile {
  std::string path;    // relative, inside the model folder
  std::string sha256;  // pinned; empty: check against the hub's headers
  bool optional = false;
};

struct CatalogEntry {
  std::string name;  // "owner/model", as on the hub
  std::string revision = "main";
  std::string architecture;  // bert | clip
  std::string license;
  std::string description;
  std::vector<CatalogFile> files;
};

Result<std::vector<CatalogEntry>> load_catalog(const std::string& path);

// "owner/name" or "name": letters, digits, '.', '_' and '-' only, no "..".
bool valid_model_name(const std::string& name);

struct PullOptions {
  std::string endpoint = "https://huggingface.co";
  std::string dest_root;  // the folder lands at dest_root/name
  std::string revision;   // overrides the catalogue's
  std::string token;      // bearer token for gated or private models
  std::function<void(const std::string& file, std::uint64_t got, std::uint64_t total)> progress;
};

struct PulledFile {
  std::string path, sha256, checked_against;
  std::uint64_t bytes = 0;
};

Result<std::vector<PulledFile>> pull(const CatalogEntry& entry, const PullOptions& opt);

struct VerifyReport {
  std::string name, dir;
  int files = 0;
  std::vector<std::string> problems;  // empty: every file matched
};

// Re-hashes the files of a pulled folder against its atelier-manifest.json.
Result<VerifyReport> verify_folder(const std::string& dir, const std::string& name);
// Re-hashes the files a MANIFEST.tsv (name, file, bytes, sha256 columns; the
// shared models' format) lists, relative to its folder.
Result<std::vector<VerifyReport>> verify_tsv(const std::string& manifest_tsv);

std::string sha256_file(const std::string& path);

}  // namespace atelier::models
