// The composition root: the only place that knows every concrete type. It
// builds the store, identity, limits, pool, metrics, routes, pipeline and
// server from a Config, and implements the CLI commands on top of them.
#pragma once

#include <optional>
#include <string>

#include "config/config.h"
#include "core/status.h"

namespace atelier::app {

extern const char* const kVersion;

// Fills models_dir and docs_dir when the configuration leaves them empty.
void discover_paths(Config& c, const std::string& argv0);

int serve(const Config& c);
int migrate(const Config& c);
// `atelier db copy`: `from` empty means the configured database.
int db_copy(const Config& c, const std::string& from, const std::string& to);
int config_show(const Config& c);
int keys_create(const Config& c, const std::string& name, const std::string& tier,
                const std::string& user_email);
int keys_list(const Config& c);
int keys_revoke(const Config& c, long long id);
// `models pull|list|verify` (app/models_cli.cpp). Exit codes: 0 ok, 1 a
// check failed or a download broke, 2 bad arguments.
int models_pull(const Config& c, const std::string& name, const std::string& revision);
int models_list(const Config& c);
int models_verify(const Config& c, const std::string& name);
int users_create(const Config& c, const std::string& email, const std::string& password,
                 const std::string& tier, bool admin);
int users_list(const Config& c);
// `users disable|enable EMAIL`: disabling also ends the tokens issued so far.
int users_disable(const Config& c, const std::string& email, bool disabled);
int users_set_tier(const Config& c, const std::string& email, const std::string& tier);

}  // namespace atelier::app
