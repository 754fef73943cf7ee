#include "app/sql_store.h"

#include "auth/account_repository.h"
#include "design/design_repository.h"
#include "quota/usage_repository.h"
#include "search/collection_repository.h"
#include "store/migrations.h"

namespace atelier {
namespace {

class SqlStore final : public Store {
 public:
  explicit SqlStore(db::DatabasePtr db)
      : db_(std::move(db)), accounts_(*db_), usage_(*db_), collections_(*db_), designs_(*db_) {}

  Result<int> migrate() override { return db_->migrate(schema_migrations()); }
  Result<int> schema_version() override { return db_->schema_version(); }
  Status ping() override { return db_->ping(); }
  std::string describe() const override { return db_->describe(); }

  Result<User> create_user(const User& u) override { return accounts_.create_user(u); }
  Result<User> find_user(std::int64_t id) override { return accounts_.find_user(id); }
  Result<User> find_user_by_email(const std::string& email) override {
    return accounts_.find_user_by_email(email);
  }
  Status set_user_disabled(std::int64_t id, bool disabled,
                           std::int64_t tokens_valid_after) override {
    return accounts_.set_user_disabled(id, disabled, tokens_valid_after);
  }
  Status delete_user(std::int64_t id, const std::vector<std::string>& identities) override {
    return accounts_.delete_user(id, identities);
  }
  Result<ApiKey> create_api_key(const ApiKey& k) override { return accounts_.create_api_key(k); }
  Result<ApiKey> find_api_key_by_hash(const std::string& hash) override {
    return accounts_.find_api_key_by_hash(hash);
  }
  Result<std::vector<ApiKey>> list_api_keys() override { return accounts_.list_api_keys(); }
  Status revoke_api_key(std::int64_t id) override { return accounts_.revoke_api_key(id); }

  Status add_usage(const std::vector<UsageDelta>& deltas) override {
    return usage_.add_usage(deltas);
  }
  Result<Usage> get_usage(const std::string& identity, const std::string& day) override {
    return usage_.get_usage(identity, day);
  }

  Result<Collection> create_collection(const std::string& name, const std::string& owner,
                                       const std::string& model, int dimensions,
                                       const std::string& visibility) override {
    return collections_.create(name, owner, model, dimensions, visibility);
  }
  Status delete_collection(std::int64_t id) override { return collections_.remove(id); }
  Result<Collection> find_collection(const std::string& name) override {
    return collections_.find(name);
  }
  Result<std::vector<Collection>> list_collections() override { return collections_.list(); }
  Result<UpsertCounts> upsert_documents(std::int64_t collection_id,
                                        const std::vector<DocumentRecord>& docs) override {
    return collections_.upsert_documents(collection_id, docs);
  }
  Status delete_document(std::int64_t collection_id, const std::string& id) override {
    return collections_.delete_document(collection_id, id);
  }
  Status scan_documents(std::int64_t collection_id,
                        const std::function<void(const DocumentRecord&)>& f) override {
    return collections_.scan_documents(collection_id, f);
  }
  Result<DocumentRecord> get_document(std::int64_t collection_id, const std::string& id) override {
    return collections_.get_document(collection_id, id);
  }

  Result<Room> create_room(const Room& r) override { return designs_.create_room(r); }
  Result<Room> find_room(const std::string& owner, const std::string& id) override {
    return designs_.find_room(owner, id);
  }
  Result<std::vector<Room>> list_rooms(const std::string& owner) override {
    return designs_.list_rooms(owner);
  }
  Status delete_room(const std::string& owner, const std::string& id) override {
    return designs_.delete_room(owner, id);
  }
  Result<Design> create_design(const Design& d) override { return designs_.create_design(d); }
  Result<Design> find_design(const std::string& owner, const std::string& id) override {
    return designs_.find_design(owner, id);
  }
  Result<Design> find_design_by_key(const std::string& owner, const std::string& key) override {
    return designs_.find_design_by_key(owner, key);
  }
  Result<DesignPage> list_designs(const std::string& owner,
                                  const std::optional<std::string>& room_id, int limit,
                                  const std::optional<std::string>& cursor) override {
    return designs_.list_designs(owner, room_id, limit, cursor);
  }
  Result<bool> update_design(const Design& d,
                             const std::optional<std::string>& only_if_status) override {
    return designs_.update_design(d, only_if_status);
  }
  Result<std::vector<Design>> designs_with_status(
      const std::vector<std::string>& statuses) override {
    return designs_.designs_with_status(statuses);
  }
  Status delete_design(const std::string& owner, const std::string& id) override {
    return designs_.delete_design(owner, id);
  }
  Result<std::vector<std::pair<std::string, std::string>>> designs_before(
      std::int64_t ms) override {
    return designs_.designs_before(ms);
  }
  Result<double> design_spend(const std::string& owner, std::int64_t since_ms) override {
    return designs_.design_spend(owner, since_ms);
  }
  Status delete_design_data(const std::string& owner) override {
    return designs_.delete_design_data(owner);
  }
  Result<std::vector<std::string>> referenced_blobs() override {
    return designs_.referenced_blobs();
  }

 private:
  db::DatabasePtr db_;
  AccountRepository accounts_;
  UsageRepository usage_;
  CollectionRepository collections_;
  DesignRepository designs_;
};

}  // namespace

StorePtr make_sql_store(db::DatabasePtr database) {
  return std::make_unique<SqlStore>(std::move(database));
}

Result<StorePtr> open_store(const std::string& url, int pool) {
  ATELIER_ASSIGN_OR_RETURN(auto database, db::open_database(url, pool));
  return make_sql_store(std::move(database));
}

Result<StorePtr> open_sqlite_store(const std::string& path, int pool) {
  return open_store("sqlite:" + path, pool);
}

}  // namespace atelier
