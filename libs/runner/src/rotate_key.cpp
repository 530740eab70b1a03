#include "migrate/runner/rotate_key.hpp"

#include <pqxx/pqxx>

#include <map>
#include <memory>
#include <optional>
#include <vector>

#include "migrate/core/error.hpp"
#include "migrate/core/interrupt.hpp"
#include "migrate/crypto/key_ring.hpp"
#include "migrate/crypto/stored_password.hpp"
#include "migrate/pg/connection.hpp"
#include "migrate/pg/errors.hpp"
#include "migrate/pg/quote.hpp"
#include "migrate/registry/password_rotations.hpp"
#include "migrate/registry/tenant_registry.hpp"
#include "migrate/runner/password_storage.hpp"

namespace migrate::runner {
namespace {

// One tenant row as rotate-key sees it: decrypted, or the reason it is not.
struct Row {
  std::string id;
  std::string label;  // the slug, or "(id X)"
  std::optional<crypto::OpenedPassword> opened;
  std::string problem;
};

std::vector<Row> read_rows(pqxx::work& tx, const std::string& table, bool lock, const crypto::KeyRing& ring) {
  const auto result = tx.exec("SELECT id::text, slug::text, db_password_encrypted::text FROM " + table +
                              " ORDER BY id" + (lock ? " FOR UPDATE" : ""));
  std::vector<Row> rows;
  rows.reserve(result.size());
  for (const auto& record : result) {
    Row row;
    row.id = record[0].as<std::string>("");
    const auto slug = record[1].as<std::string>("");
    row.label = slug.empty() ? "(id " + row.id + ")" : slug;
    if (row.id.empty()) {
      row.problem = "the row has no id, so it cannot be updated";
    } else if (record[2].is_null()) {
      row.problem = "db_password_encrypted is NULL";
    } else {
      try {
        row.opened = crypto::open_password(record[2].c_str(), ring);
      } catch (const crypto::DecryptError& error) {
        row.problem = std::string("cannot decrypt db_password_encrypted: ") + error.what();
      }
    }
    rows.push_back(std::move(row));
  }
  return rows;
}

// The counts, the same for a dry run and a rotation.
void report_counts(const std::vector<Row>& rows, const crypto::KeyRing& ring, crypto::Format format,
                   Reporter& reporter) {
  std::vector<int> per_key(ring.keys().size(), 0);
  std::map<crypto::Format, int> from;
  for (const auto& row : rows) {
    ++per_key[row.opened->key_index];
    ++from[row.opened->format];
  }
  reporter.line("tenants: " + std::to_string(rows.size()) + " (every status)");
  for (std::size_t i = 0; i < per_key.size(); ++i)
    reporter.line("under " + ring.keys()[i].name + " (key id " + ring.keys()[i].id +
                  "): " + std::to_string(per_key[i]));
  int previous = 0;
  for (std::size_t i = 1; i < per_key.size(); ++i) previous += per_key[i];
  reporter.line("under " + std::string(crypto::previous_keys_variable) + ": " + std::to_string(previous));
  for (const auto& [was, count] : from)
    reporter.line(std::string(crypto::format_name(was)) + " -> " + std::string(crypto::format_name(format)) + ": " +
                  std::to_string(count));
}

std::unique_ptr<pg::Connection> open_central(const config::Settings& settings) {
  const auto target = pg::Target::parse(
      settings.central_connection, settings.knexfile.filename().string() + ": " + settings.environment + ".connection");
  try {
    return std::make_unique<pg::Connection>(target, pg::ConnectOptions{settings.connect_timeout});
  } catch (const Error& error) {
    throw InputError(std::string("central database unreachable: ") + pg::scrub(error.what()) +
                     " (check connection in " + settings.knexfile.filename().string() + ", environment " +
                     settings.environment + ")");
  }
}

// A rotate-password left half done holds a new password in its side table, sealed under the key
// of its day: re-encrypting the tenants rows alone would leave it under a key about to be retired.
void refuse_pending_rotations(const config::Settings& settings, pg::Connection& central) {
  std::vector<std::string> ids;
  try {
    registry::PasswordRotations rotations(central, settings.tenants_table);
    registry::TenantRegistry tenants(central, settings.tenants_table);
    // A side row whose tenant is gone (removed by an undone provision) has nothing to finish.
    if (rotations.exists())
      for (const auto& id : rotations.pending_tenant_ids())
        if (tenants.id_exists(id)) ids.push_back(id);
  } catch (const Error& error) {
    throw InputError(std::string("cannot read the password rotations table: ") + error.what() +
                     "; nothing was changed");
  }
  if (ids.empty()) return;
  std::string list;
  for (const auto& id : ids) list += (list.empty() ? "" : ", ") + id;
  throw InputError("a password rotation is unfinished for tenant id " + list +
                   ": run migrate rotate-password for each (it completes it) before rotate-key; nothing was changed");
}

}  // namespace

int rotate_key(const config::Settings& settings, bool dry_run, Reporter& reporter) {
  const auto ring = crypto::KeyRing::from_environment();
  const auto format = storage_format(settings.encryption_format);
  const auto central = open_central(settings);
  const auto table = pg::quote_qualified(settings.tenants_table);
  refuse_pending_rotations(settings, *central);
  const std::string target =
      ring.current().name + " (key id " + ring.current().id + "), format " + std::string(crypto::format_name(format));

  std::unique_ptr<pqxx::work> tx;
  std::vector<Row> rows;
  try {
    tx = std::make_unique<pqxx::work>(*central, "rotate-key");
    // Waits for a row another session holds as long as the knexfile's lock wait, not forever.
    tx->exec("SET LOCAL lock_timeout = '" + std::to_string(settings.lock_wait.count()) + "s'");
    rows = read_rows(*tx, table, !dry_run, ring);
  } catch (const InterruptedError&) {
    throw;
  } catch (...) {
    try {
      pg::rethrow_as_error(central.get());
    } catch (const Error& error) {
      throw InputError("cannot read tenants table " + settings.tenants_table + ": " + error.what() +
                       "; nothing was changed");
    }
  }

  int failed = 0;
  for (const auto& row : rows)
    if (!row.opened) {
      ++failed;
      reporter.line(row.label + ": " + row.problem);
    }
  if (failed > 0) {
    reporter.line("rotate-key: " + std::to_string(failed) + " of " + std::to_string(rows.size()) +
                  (rows.size() == 1 ? " tenant's password does not" : " tenants' passwords do not") +
                  " decrypt with DB_ENCRYPTION_KEY or " + std::string(crypto::previous_keys_variable) +
                  "; nothing was changed");
    return exit_failed;
  }
  report_counts(rows, ring, format, reporter);
  if (dry_run) {
    reporter.line("dry run: would re-encrypt " + std::to_string(rows.size()) + " under " + target +
                  "; nothing was changed");
    return exit_ok;
  }

  try {
    for (const auto& row : rows) {
      interrupt::throw_if_requested();
      const auto sealed = crypto::seal_password(row.opened->password.view(), ring, format);
      const auto updated = tx->exec_params(
          "UPDATE " + table + " SET db_password_encrypted = $1, updated_at = now() WHERE id = $2", sealed, row.id);
      if (updated.affected_rows() != 1)
        throw RunError(row.label + ": the update by id changed " + std::to_string(updated.affected_rows()) +
                       " rows, expected 1");
    }
    interrupt::throw_if_requested();
    tx->commit();
  } catch (const InterruptedError& error) {
    throw InterruptedError(std::string(error.what()) + "; rotate-key rolled back, nothing was changed",
                           interrupt::signal_number());
  } catch (const InDoubtError&) {
    throw;
  } catch (...) {
    try {
      pg::rethrow_as_error(central.get());
    } catch (const InDoubtError& error) {
      throw InDoubtError(std::string(error.what()) +
                         "; the rotation may or may not have committed: run rotate-key --dry-run to see");
    } catch (const Error& error) {
      throw RunError("rotate-key rolled back, nothing was changed: " + std::string(error.what()));
    }
  }
  reporter.line("re-encrypted: " + std::to_string(rows.size()) + " under " + target);
  return exit_ok;
}

}  // namespace migrate::runner
