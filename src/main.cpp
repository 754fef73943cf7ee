// Parses the command line and hands over to the composition root. Nothing
// else lives here.
#include <CLI/CLI.hpp>

#include <termios.h>
#include <unistd.h>

#include <iostream>

#include "app/app.h"
#include "config/config.h"

namespace {

// What the options write into, and the subcommands main dispatches on; it
// outlives the parse, which writes through the addresses CLI11 keeps.
struct CliArgs {
  std::string config_file, data_dir, models_dir, host;
  int port = -1;
  std::string key_name = "default", key_tier = "free", key_user;
  long long revoke_id = 0;
  std::string model_name, model_revision;
  std::string email, password, user_tier = "authenticated";
  bool password_stdin = false, admin = false;
  std::string copy_from, copy_to;

  CLI::App* serve = nullptr;
  CLI::App* migrate = nullptr;
  CLI::App* version = nullptr;
  CLI::App* config_show = nullptr;
  CLI::App* keys_create = nullptr;
  CLI::App* keys_list = nullptr;
  CLI::App* keys_revoke = nullptr;
  CLI::App* models_pull = nullptr;
  CLI::App* models_list = nullptr;
  CLI::App* models_verify = nullptr;
  CLI::App* users_create = nullptr;
  CLI::App* users_list = nullptr;
  CLI::App* users_disable = nullptr;
  CLI::App* users_enable = nullptr;
  CLI::App* users_set_tier = nullptr;
  CLI::App* db_copy = nullptr;
};

void add_common_options(CLI::App& cli, CliArgs& a) {
  cli.add_option("--config", a.config_file, "YAML or .env configuration file (ATELIER_CONFIG)");
  cli.add_option("--data-dir", a.data_dir, "data directory (ATELIER_DATA_DIR)");
  cli.add_option("--models-dir", a.models_dir, "models directory (ATELIER_MODELS_DIR)");
}

// serve, migrate and version: the commands outside any group.
void add_serve_commands(CLI::App& cli, CliArgs& a) {
  a.serve = cli.add_subcommand("serve", "run the HTTP server");
  a.serve->add_option("--host", a.host, "listen address (ATELIER_HOST)");
  a.serve->add_option("--port", a.port, "listen port (ATELIER_PORT)");
  a.migrate = cli.add_subcommand("migrate", "apply database migrations");
  a.version = cli.add_subcommand("version", "print the version");
}

void add_config_commands(CLI::App& cli, CliArgs& a) {
  auto* config = cli.add_subcommand("config", "configuration");
  config->require_subcommand(1);
  a.config_show =
      config->add_subcommand("show", "print the effective configuration, secrets masked");
}

void add_keys_commands(CLI::App& cli, CliArgs& a) {
  auto* keys = cli.add_subcommand("keys", "API keys");
  keys->require_subcommand(1);
  a.keys_create =
      keys->add_subcommand("create", "create a key; prints it once, alone on the last line");
  a.keys_create->add_option("--name", a.key_name, "label");
  a.keys_create->add_option("--tier", a.key_tier, "free, authenticated, premium or admin");
  a.keys_create->add_option("--user", a.key_user, "email of the user the key acts for");
  a.keys_list = keys->add_subcommand("list", "list keys (never their secrets)");
  a.keys_revoke = keys->add_subcommand("revoke", "revoke a key");
  a.keys_revoke->add_option("id", a.revoke_id, "key id")->required();
}

void add_models_commands(CLI::App& cli, CliArgs& a) {
  auto* models = cli.add_subcommand("models", "model folders (Hugging Face layout)");
  models->require_subcommand(1);
  a.models_pull = models->add_subcommand("pull", "download a model folder with SHA-256 checks");
  a.models_pull->add_option("name", a.model_name, "e.g. sentence-transformers/all-MiniLM-L6-v2")
      ->required();
  a.models_pull->add_option("--revision", a.model_revision,
                            "branch, tag or commit (default: the catalogue's)");
  a.models_list =
      models->add_subcommand("list", "the catalogue and the folders installed in the models path");
  a.models_verify =
      models->add_subcommand("verify", "re-hash installed models against their manifests");
  a.models_verify->add_option("name", a.model_name, "only this model");
}

void add_users_commands(CLI::App& cli, CliArgs& a) {
  auto* users = cli.add_subcommand("users", "user accounts");
  users->require_subcommand(1);
  a.users_create = users->add_subcommand("create", "create a user");
  a.users_create->add_option("--email", a.email)->required();
  a.users_create->add_option("--password", a.password, "password (or --password-stdin)");
  a.users_create->add_flag("--password-stdin", a.password_stdin,
                           "read the password from standard input");
  a.users_create->add_option("--tier", a.user_tier, "free, authenticated, premium or admin");
  a.users_create->add_flag("--admin", a.admin, "admin role (tier admin)");
  a.users_list = users->add_subcommand("list", "list users (id, email, tier, role, status)");
  a.users_disable =
      users->add_subcommand("disable", "refuse a user's logins, tokens and keys from now on");
  a.users_disable->add_option("email", a.email, "the user's email")->required();
  a.users_enable = users->add_subcommand("enable", "let a disabled user sign in again");
  a.users_enable->add_option("email", a.email, "the user's email")->required();
  a.users_set_tier = users->add_subcommand(
      "set-tier", "change a user's tier (admin: admin role); they sign in again to get it");
  a.users_set_tier->add_option("email", a.email, "the user's email")->required();
  a.users_set_tier->add_option("tier", a.user_tier, "free, authenticated, premium or admin")
      ->required();
}

void add_db_commands(CLI::App& cli, CliArgs& a) {
  auto* dbcmd = cli.add_subcommand("db", "the database");
  dbcmd->require_subcommand(1);
  a.db_copy = dbcmd->add_subcommand(
      "copy", "copy every row to another database (idempotent, verified by counts)");
  a.db_copy->add_option("--from", a.copy_from,
                        "sqlite:PATH or postgresql://... (default: the configured database)");
  a.db_copy->add_option("--to", a.copy_to, "sqlite:PATH or postgresql://user:pass@host:port/db")
      ->required();
}

// The configuration sources: the file, the environment, and the flags given.
atelier::ConfigSource config_source(const CliArgs& a) {
  atelier::ConfigSource src;
  src.file = a.config_file;
  src.env = atelier::environment_settings();
  if (!a.data_dir.empty()) src.flags["data_dir"] = a.data_dir;
  if (!a.models_dir.empty()) src.flags["models_dir"] = a.models_dir;
  if (!a.host.empty()) src.flags["host"] = a.host;
  if (a.port >= 0) src.flags["port"] = std::to_string(a.port);
  return src;
}

// A line of standard input; on a terminal after a prompt, without echo.
std::string read_password() {
  const bool tty = ::isatty(0) != 0;
  termios saved{};
  if (tty) {
    std::cerr << "password: " << std::flush;
    if (::tcgetattr(0, &saved) == 0) {
      termios quiet = saved;
      quiet.c_lflag &= ~static_cast<tcflag_t>(ECHO);
      ::tcsetattr(0, TCSAFLUSH, &quiet);
    }
  }
  std::string password;
  std::getline(std::cin, password);
  if (tty) {
    ::tcsetattr(0, TCSAFLUSH, &saved);
    std::cerr << "\n";
  }
  return password;
}

int run_users_create(const atelier::Config& c, CliArgs& a) {
  // --password-stdin, or nothing given on a terminal: ask.
  if (a.password_stdin || (a.password.empty() && ::isatty(0) != 0)) a.password = read_password();
  if (a.password.empty()) {
    std::cerr << "a password is required (--password or --password-stdin)\n";
    return 2;
  }
  return atelier::app::users_create(c, a.email, a.password, a.user_tier, a.admin);
}

// `config show`: the effective configuration even when some of it is
// invalid, then what is invalid (exit 2), so a profile can be inspected
// before it is fixed.
int show_config(const atelier::ConfigSource& src, const char* argv0) {
  std::vector<std::string> problems;
  auto cfg = atelier::load_config(src, &problems);
  if (!cfg.is_ok()) {
    std::cerr << cfg.status().message() << "\n";
    return 2;
  }
  atelier::app::discover_paths(*cfg, argv0);
  const int rc = atelier::app::config_show(*cfg);
  if (problems.empty()) return rc;
  std::cerr << "invalid configuration:\n";
  for (const auto& p : problems) std::cerr << "  - " << p << "\n";
  return 2;
}

// Every command's help names the options all of them take.
void add_common_footer(CLI::App& app) {
  for (CLI::App* sub : app.get_subcommands([](CLI::App*) { return true; })) {
    sub->footer(
        "Every command also takes --config, --data-dir and --models-dir (see atelier --help).");
    add_common_footer(*sub);
  }
}

// Runs the one subcommand that was parsed (version is handled before).
int run_command(const atelier::Config& c, CliArgs& a) {
  if (a.serve->parsed()) return atelier::app::serve(c);
  if (a.migrate->parsed()) return atelier::app::migrate(c);
  if (a.db_copy->parsed()) return atelier::app::db_copy(c, a.copy_from, a.copy_to);
  if (a.config_show->parsed()) return atelier::app::config_show(c);
  if (a.keys_create->parsed())
    return atelier::app::keys_create(c, a.key_name, a.key_tier, a.key_user);
  if (a.keys_list->parsed()) return atelier::app::keys_list(c);
  if (a.models_pull->parsed()) return atelier::app::models_pull(c, a.model_name, a.model_revision);
  if (a.models_list->parsed()) return atelier::app::models_list(c);
  if (a.models_verify->parsed()) return atelier::app::models_verify(c, a.model_name);
  if (a.keys_revoke->parsed()) return atelier::app::keys_revoke(c, a.revoke_id);
  if (a.users_create->parsed()) return run_users_create(c, a);
  if (a.users_list->parsed()) return atelier::app::users_list(c);
  if (a.users_disable->parsed()) return atelier::app::users_disable(c, a.email, true);
  if (a.users_enable->parsed()) return atelier::app::users_disable(c, a.email, false);
  if (a.users_set_tier->parsed()) return atelier::app::users_set_tier(c, a.email, a.user_tier);
  return 2;
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App cli{"atelier: AI for fashion and interior styling"};
  cli.set_version_flag("--version", std::string("atelier ") + atelier::app::kVersion);
  cli.option_defaults()->always_capture_default();
  cli.require_subcommand(1);
  // Common flags work after the subcommand too (`atelier serve --data-dir X`),
  // as people type them: subcommands created below inherit this.
  cli.fallthrough();
  CliArgs args;
  add_common_options(cli, args);
  add_serve_commands(cli, args);
  add_config_commands(cli, args);
  add_keys_commands(cli, args);
  add_models_commands(cli, args);
  add_users_commands(cli, args);
  add_db_commands(cli, args);
  add_common_footer(cli);

  CLI11_PARSE(cli, argc, argv);

  atelier::ConfigSource src = config_source(args);
  if (args.version->parsed()) {
    std::cout << "atelier " << atelier::app::kVersion << "\n";
    return 0;
  }
  if (args.config_show->parsed()) return show_config(src, argv[0]);
  auto cfg = atelier::load_config(src);
  if (!cfg.is_ok()) {
    std::cerr << cfg.status().message() << "\n";
    return 2;
  }
  atelier::Config c = std::move(cfg).value();
  atelier::app::discover_paths(c, argv[0]);
  return run_command(c, args);
}
