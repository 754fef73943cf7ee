// Accounts: register, login, tokens, API keys, /v1/me, export and deletion.
#pragma once

#include "http/route_deps.h"
#include "http/router.h"
#include "identity/account_repository.h"
#include "platform/user_data.h"

namespace atelier::api {

// `data` lists every capability's part of a user's data (export, deletion);
// it must outlive the router and be complete before the server starts.
void add_account_routes(http::Router& router, ApiDeps& deps, const UserDataRegistry& data,
                        AccountRepository& accounts);

}  // namespace atelier::api
