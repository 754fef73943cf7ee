#include "app/db_copy.h"

#include <deque>

#include "store/database.h"
#include "store/migrations.h"

namespace atelier::app {
namespace {

// Column types: i integer, r real, t text, b blob; upper case: nullable.
struct Table {
  const char* name;
  const char* columns;
  const char* types;
  const char* order;  // primary key, for a stable read order
  bool identity;      // an integer id PostgreSQL generates
};

// In foreign-key order.
const Table kTables[] = {
    {"users", "id, email, password_hash, tier, role, created_at, disabled, tokens_valid_after",
     "ittttiii", "id", true},
    {"api_keys", "id, user_id, name, prefix, hash, tier, created_at, revoked_at", "iIttttiI", "id",
     true},
    {"usage_daily", "identity, day, units, requests", "ttii", "identity, day", false},
    {"collections", "id, name, owner, model, dimensions, created_at, version, visibility",
     "itttiiit", "id", true},
    {"documents", "id, collection_id, doc_id, text, metadata, vector, version", "iitttBi", "id",
     true},
    {"document_tombstones", "collection_id, doc_id, version", "iti", "collection_id, doc_id",
     false},
    {"rooms", "id, owner, name, room_type, blob, content_type, width, height, created_at",
     "ttttttiii", "id", false},
    {"designs",
     "id, owner, room_id, input_blob, input_type, style, room_type, extra_prompt, prompt, "
     "negative_prompt, preset_version, strength, seed, engine, status, error, output_blob, "
     "output_type, control_blob, cost, quota_day, idempotency_key, attempts, created_at, "
     "started_at, finished_at, engine_detail, canny_low, canny_high, request_hash",
     "ttTttttttttritttTTTrtTiiIItIIt", "id", false},
    {"wardrobe_items",
     "id, owner, name, brand, notes, blob, content_type, width, height, category, type, "
     "color_family, season, auto_tags, user_tags, embedding, embedding_model, created_at, "
     "updated_at, tag_embedding, tag_embedding_model",
     "tttttttiittttttBtiiBt", "id", false},
    {"wardrobe_feedback", "id, owner, event, item_ids, context, created_at", "ttttti", "id", false},
    {"chat_conversations", "id, owner, title, created_at, updated_at", "tttii", "id", false},
    {"chat_messages", "conversation_id, seq, owner, role, content, sources, created_at", "titttti",
     "conversation_id, seq", false},
    // Erased owners stay refused after a move (store/owners.h).
    {"erased_owners", "owner, erased_at", "ti", "owner", false},
};

db::Value::Type null_type(char t) {
  switch (t) {
    case 'I':
      return db::Value::Type::null_int;
    case 'R':
      return db::Value::Type::null_real;
    case 'B':
      return db::Value::Type::null_blob;
    default:
      return db::Value::Type::null_text;
  }
}

// One row as owned values, bound as views when written.
struct OwnedRow {
  std::vector<std::int64_t> ints;
  std::vector<double> reals;
  std::vector<std::string> texts;
  std::vector<char> nulls;
};

OwnedRow read_row(const db::Row& r, const std::string& types) {
  OwnedRow o;
  const std::size_t n = types.size();
  o.ints.resize(n);
  o.reals.resize(n);
  o.texts.resize(n);
  o.nulls.resize(n);
  for (std::size_t i = 0; i < n; ++i) {
    const int col = static_cast<int>(i);
    if (r.null(col)) {
      o.nulls[i] = 1;
      continue;
    }
    switch (types[i]) {
      case 'i':
      case 'I':
        o.ints[i] = r.integer(col);
        break;
      case 'r':
      case 'R':
        o.reals[i] = r.real(col);
        break;
      case 'b':
      case 'B':
        o.texts[i] = r.blob(col);
        break;
      default:
        o.texts[i] = r.text(col);
    }
  }
  return o;
}

db::Params bind_row(const OwnedRow& o, const std::string& types) {
  db::Params p;
  for (std::size_t i = 0; i < types.size(); ++i) {
    const char t = types[i];
    if (o.nulls[i]) {
      p.push_back(db::Value::null_of(null_type(t)));
    } else if (t == 'i' || t == 'I') {
      p.push_back(o.ints[i]);
    } else if (t == 'r' || t == 'R') {
      p.push_back(o.reals[i]);
    } else if (t == 'b' || t == 'B') {
      p.push_back(db::Blob{o.texts[i]});
    } else {
      p.push_back(std::string_view(o.texts[i]));
    }
  }
  return p;
}

Result<std::int64_t> count(db::Database& d, const char* sql) {
  ATELIER_ASSIGN_OR_RETURN(db::Lease c, d.lease());
  ATELIER_ASSIGN_OR_RETURN(
      auto n, db::first<std::int64_t>(*c, sql, {}, [](const db::Row& r) { return r.integer(0); }));
  return n.value_or(0);
}

}  // namespace

Result<std::vector<TableCopy>> copy_database(const std::string& from, const std::string& to,
                                             std::ostream& out) {
  // Statement texts outlive both databases (statements are cached by address).
  std::deque<std::string> sql;
  ATELIER_ASSIGN_OR_RETURN(auto source, db::open_database(from, 2));
  ATELIER_ASSIGN_OR_RETURN(auto target, db::open_database(to, 2));
  ATELIER_RETURN_IF_ERROR(source->migrate(schema_migrations()).status());
  ATELIER_RETURN_IF_ERROR(target->migrate(schema_migrations()).status());
  out << "copying " << source->describe() << " -> " << target->describe() << "\n";
  std::vector<TableCopy> report;
  for (const Table& t : kTables) {
    const std::string types = t.types;
    std::string marks;
    for (std::size_t i = 0; i < types.size(); ++i) marks += i ? ",?" : "?";
    const char* select = sql.emplace_back(std::string("SELECT ") + t.columns + " FROM " + t.name +
                                          " ORDER BY " + t.order)
                             .c_str();
    const char* insert = sql.emplace_back(std::string("INSERT INTO ") + t.name + "(" + t.columns +
                                          ") VALUES (" + marks + ") ON CONFLICT DO NOTHING")
                             .c_str();
    const char* counting = sql.emplace_back(std::string("SELECT COUNT(*) FROM ") + t.name).c_str();
    TableCopy tc{t.name};
    std::vector<OwnedRow> batch;
    Status failed;
    auto flush = [&]() -> Status {
      if (batch.empty()) return Status::ok();
      Status st = target->transaction([&](db::Connection& c) -> Status {
        std::int64_t n = 0;
        for (const auto& row : batch) {
          ATELIER_ASSIGN_OR_RETURN(auto changed, c.execute(insert, bind_row(row, types)));
          n += changed;
        }
        tc.copied += n;
        return Status::ok();
      });
      batch.clear();
      return st;
    };
    {
      ATELIER_ASSIGN_OR_RETURN(db::Lease c, source->lease());
      ATELIER_RETURN_IF_ERROR(c->each(select, {}, [&](const db::Row& r) {
        if (!failed.is_ok()) return;
        batch.push_back(read_row(r, types));
        ++tc.source;
        if (batch.size() >= 500) failed = flush();
      }));
    }
    ATELIER_RETURN_IF_ERROR(failed);
    ATELIER_RETURN_IF_ERROR(flush());
    if (t.identity && target->dialect() == db::Dialect::postgres) {
      // New rows continue after the copied ids.
      const char* setval = sql.emplace_back(std::string("SELECT setval(pg_get_serial_sequence('") +
                                            t.name + "', 'id'), COALESCE((SELECT MAX(id) FROM " +
                                            t.name + "), 0) + 1, false)")
                               .c_str();
      ATELIER_ASSIGN_OR_RETURN(db::Lease c, target->lease());
      ATELIER_RETURN_IF_ERROR(c->each(setval, {}, [](const db::Row&) {}));
    }
    ATELIER_ASSIGN_OR_RETURN(tc.target, count(*target, counting));
    out << "  " << t.name << ": " << tc.source << " in source, " << tc.copied << " copied, "
        << tc.target << " in target\n";
    report.push_back(tc);
  }
  for (const auto& tc : report) {
    if (tc.source != tc.target) {
      return Status::internal("counts differ for " + tc.table + ": " + std::to_string(tc.source) +
                              " in the source, " + std::to_string(tc.target) +
                              " in the target (it held other rows, or some were refused)");
    }
  }
  out << "verified: every table holds as many rows in the target as in the source\n";
  return report;
}

}  // namespace atelier::app
