#include "accounts/module.h"

#include "accounts/routes.h"

namespace atelier::accounts {
namespace {

// Accounts: registration, login, tokens, API keys, /v1/me, and each user's
// export and deletion across every capability (the user-data registry is
// complete once all modules have started; it is read per request).
class AccountsModule final : public Module {
 public:
  const char* name() const override { return "accounts"; }
  Status start(Platform& p) override {
    api::add_account_routes(p.router, p.deps, p.user_data, p.accounts);
    return Status::ok();
  }
};

}  // namespace

ModulePtr make_module() {
  return std::make_unique<AccountsModule>();
}

}  // namespace atelier::accounts
