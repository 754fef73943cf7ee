// Parses the command line and hands over to the composition root. Nothing
// else lives here.
#include <CLI/CLI.hpp>

#include <unistd.h>
#include <iostream>

#include "app/app.h"
#include "config/config.h"

int main(int argc, char** argv) {
  CLI::App cli{"atelier: AI for fashion and interior styling"};
  cli.require_subcommand(1);
  // Common flags work after the subcommand too (`atelier serve --data-dir X`),
  // as people type them: subcommands created below inherit this.
  cli.fallthrough();
  atelier::ConfigSource src;
  std::string config_file, data_dir, models_dir, host;
  int port = -1;
  cli.add_option("--config", config_file, "YAML or .env configuration file (ATELIER_CONFIG)");
  cli.add_option("--data-dir", data_dir, "data directory (ATELIER_DATA_DIR)");
  cli.add_option("--models-dir", models_dir, "models directory (ATELIER_MODELS_DIR)");

  auto* serve = cli.add_subcommand("serve", "run the HTTP server");
  serve->add_option("--host", host, "listen address (ATELIER_HOST)");
  serve->add_option("--port", port, "listen port (ATELIER_PORT)");
  auto* migrate = cli.add_subcommand("migrate", "apply database migrations");
  auto* version = cli.add_subcommand("version", "print the version");

  auto* config = cli.add_subcommand("config", "configuration");
  config->require_subcommand(1);
  auto* config_show =
      config->add_subcommand("show", "print the effective configuration, secrets masked");

  auto* keys = cli.add_subcommand("keys", "API keys");
  keys->require_subcommand(1);
  std::string key_name = "default", key_tier = "free", key_user;
  long long revoke_id = 0;
  auto* keys_create =
      keys->add_subcommand("create", "create a key; prints it once, alone on the last line");
  keys_create->add_option("--name", key_name, "label");
  keys_create->add_option("--tier", key_tier, "free, authenticated, premium or admin");
  keys_create->add_option("--user", key_user, "email of the user the key acts for");
  auto* keys_list = keys->add_subcommand("list", "list keys (never their secrets)");
  auto* keys_revoke = keys->add_subcommand("revoke", "revoke a key");
  keys_revoke->add_option("id", revoke_id, "key id")->required();

  auto* models = cli.add_subcommand("models", "model folders (Hugging Face layout)");
  models->require_subcommand(1);
  std::string model_name, model_revision;
  auto* models_pull = models->add_subcommand("pull", "download a model folder with SHA-256 checks");
  models_pull->add_option("name", model_name, "e.g. sentence-transformers/all-MiniLM-L6-v2")
      ->required();
  models_pull->add_option("--revision", model_revision,
                          "branch, tag or commit (default: the catalogue's)");
  auto* models_list =
      models->add_subcommand("list", "the catalogue and the folders installed in the models path");
  auto* models_verify =
      models->add_subcommand("verify", "re-hash installed models against their manifests");
  models_verify->add_option("name", model_name, "only this model");

  auto* users = cli.add_subcommand("users", "user accounts");
  users->require_subcommand(1);
  std::string email, password, user_tier = "authenticated";
  bool password_stdin = false, admin = false;
  auto* users_create = users->add_subcommand("create", "create a user");
  users_create->add_option("--email", email)->required();
  users_create->add_option("--password", password, "password (or --password-stdin)");
  users_create->add_flag("--password-stdin", password_stdin,
                         "read the password from standard input");
  users_create->add_option("--tier", user_tier, "free, authenticated, premium or admin");
  users_create->add_flag("--admin", admin, "admin role (tier admin)");

  auto* dbcmd = cli.add_subcommand("db", "the database");
  dbcmd->require_subcommand(1);
  std::string copy_from, copy_to;
  auto* db_copy = dbcmd->add_subcommand(
      "copy", "copy every row to another database (idempotent, verified by counts)");
  db_copy->add_option("--from", copy_from,
                      "sqlite:PATH or postgresql://... (default: the configured database)");
  db_copy->add_option("--to", copy_to, "sqlite:PATH or postgresql://user:pass@host:port/db")
      ->required();

  CLI11_PARSE(cli, argc, argv);

  src.file = config_file;
  src.env = atelier::environment_settings();
  if (!data_dir.empty()) src.flags["data_dir"] = data_dir;
  if (!models_dir.empty()) src.flags["models_dir"] = models_dir;
  if (!host.empty()) src.flags["host"] = host;
  if (port >= 0) src.flags["port"] = std::to_string(port);

  if (version->parsed()) {
    std::cout << "atelier " << atelier::app::kVersion << "\n";
    return 0;
  }
  auto cfg = atelier::load_config(src);
  if (!cfg.is_ok()) {
    std::cerr << cfg.status().message() << "\n";
    return 2;
  }
  atelier::Config c = std::move(cfg).value();
  atelier::app::discover_paths(c, argv[0]);

  if (serve->parsed()) return atelier::app::serve(c);
  if (migrate->parsed()) return atelier::app::migrate(c);
  if (db_copy->parsed()) return atelier::app::db_copy(c, copy_from, copy_to);
  if (config_show->parsed()) return atelier::app::config_show(c);
  if (keys_create->parsed()) return atelier::app::keys_create(c, key_name, key_tier, key_user);
  if (keys_list->parsed()) return atelier::app::keys_list(c);
  if (models_pull->parsed()) return atelier::app::models_pull(c, model_name, model_revision);
  if (models_list->parsed()) return atelier::app::models_list(c);
  if (models_verify->parsed()) return atelier::app::models_verify(c, model_name);
  if (keys_revoke->parsed()) return atelier::app::keys_revoke(c, revoke_id);
  if (users_create->parsed()) {
    if (password_stdin) std::getline(std::cin, password);
    if (password.empty()) {
      std::cerr << "a password is required (--password or --password-stdin)\n";
      return 2;
    }
    return atelier::app::users_create(c, email, password, user_tier, admin);
  }
  return 2;
}
