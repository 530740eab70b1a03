#include <pqxx/pqxx>

#include "migrate/core/error.hpp"
#include "migrate/core/interrupt.hpp"
#include "migrate/crypto/password_cipher.hpp"
#include "migrate/crypto/random_password.hpp"
#include "migrate/pg/cancel.hpp"
#include "migrate/pg/errors.hpp"
#include "migrate/registry/tenant_rows.hpp"
#include "migrate/runner/lifecycle.hpp"
#include "migrate/runner/password_storage.hpp"
#include "preflight.hpp"
#include "server_admin.hpp"
#include "up_work.hpp"

namespace migrate::runner {
namespace {

constexpr std::size_t max_slug = 48;

// Held on the central connection while a provision runs: a second `migrate provision` of the same
// slug would otherwise take the first one's row for a crashed run's and undo its work.
void lock_slug(pg::Connection& central, const std::string& slug) {
  try {
    pqxx::nontransaction tx(central);
    const bool locked =
        tx.exec_params("SELECT pg_try_advisory_lock(hashtext('migrate provision'), hashtext($1))", slug)[0][0]
            .as<bool>();
    if (!locked) throw InputError("another migrate provision of " + slug + " is running; nothing was changed");
  } catch (const Error&) {
    throw;
  } catch (...) {
    pg::rethrow_as_error(&central);
  }
}

// The tenant's pieces as this run knows them, undone together when it fails.
struct Provisioning {
  std::string id;
  std::string role;
  std::string database;
};

// Drops the database and role and removes the row, each only if there, shielded from the stop
// request that may have caused the failure. Returns what is left, for the message; empty when all is gone.
std::string undo(ServerAdmin& admin, registry::TenantRows& rows, pg::Connection& central, const Provisioning& tenant) {
  std::string left;
  const auto attempt = [&](const std::string& what, const std::function<void()>& step) {
    try {
      step();
    } catch (const std::exception& error) {
      left += (left.empty() ? "" : "; ") + what + " (" + pg::scrub(error.what()) + ")";
    }
  };
  {
    // A stop request cancels statements in flight until the process ends: not these.
    const pg::ShieldFromCancel shield_central(central);
    const pg::ShieldFromCancel shield_admin(admin.connection());
    attempt("database " + tenant.database, [&] { admin.drop_database(tenant.database); });
    attempt("role " + tenant.role, [&] { admin.drop_role(tenant.role); });
    if (!tenant.id.empty()) attempt("the tenant row", [&] { rows.delete_provisioning(tenant.id); });
  }
  return left;
}

}  // namespace

bool valid_slug(const std::string& slug) {
  if (slug.empty() || slug.size() > max_slug || slug.front() == '-' || slug.back() == '-') return false;
  for (const unsigned char c : slug)
    if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-')) return false;
  return true;
}

int provision(const config::Settings& settings, const ProvisionRequest& request, const EngineOptions& engine,
              Reporter& reporter) {
  const auto& slug = request.slug;
  if (!valid_slug(slug))
    throw InputError("'" + slug + "' is not a valid slug: 1 to " + std::to_string(max_slug) +
                     " lowercase letters, digits and hyphens, starting and ending with a letter or digit");
  Preflight preflight(settings);  // the migration files, the key and the central database, checked first
  pg::Connection central(preflight.central.target(), preflight.central.connect_options());
  preflight.central.close();
  lock_slug(central, slug);
  registry::TenantRows rows(central, settings.tenants_table);

  const auto existing = rows.find_slug(slug);
  if (existing && existing->status != "provisioning")
    throw InputError("tenant " + slug + " already exists (status " + existing->status + "); nothing was changed");

  Provisioning tenant;
  crypto::Secret password;
  const config::ServerSettings* server = nullptr;
  if (existing) {
    server =
        request.server.empty() ? server_of(settings, existing->database) : &choose_server(settings, request.server);
    if (server == nullptr)
      throw InputError("tenant " + slug + " was left in provisioning on " + existing->database.server() +
                       ", which no server under servers: names (by host and port); give --server NAME");
    tenant = {existing->id, existing->database.user, existing->database.dbname};
    try {
      password = crypto::decrypt_password(existing->password_encrypted, preflight.key);
    } catch (const crypto::DecryptError& error) {
      throw RunError("tenant " + slug + " was left in provisioning, and its stored password cannot be decrypted (" +
                     error.what() + "): deprovision it with --drop-database, then provision it again");
    }
  } else {
    server = &choose_server(settings, request.server);
    tenant.role = name_for(server->role_name, slug, "role name");
    tenant.database = name_for(server->database_name, slug, "database name");
  }
  ServerAdmin admin(*server);
  admin.connect(settings.connect_timeout);

  if (existing) {
    reporter.line(slug + ": completing a provision left unfinished by an earlier run");
  } else {
    // Refused before anything is written: these belong to someone else.
    if (admin.role_exists(tenant.role))
      throw InputError("role " + tenant.role + " already exists on server " + server->name + "; nothing was changed");
    if (admin.database_owner(tenant.database))
      throw InputError("database " + tenant.database + " already exists on server " + server->name +
                       "; nothing was changed");
    password = crypto::generate_password();
    tenant.id = rows.insert_provisioning({slug, request.name, admin.tenant_endpoint(tenant.database, tenant.role),
                                          seal_for_storage(settings, preflight.key, password.view())});
  }

  try {
    if (!admin.role_exists(tenant.role))
      admin.create_role(tenant.role, password);
    else
      admin.set_role_password(tenant.role, password);  // an earlier run's role: make sure the stored password opens it
    admin.become_member_of(tenant.role);
    const auto owner = admin.database_owner(tenant.database);
    if (!owner)
      admin.create_database(tenant.database, tenant.role);
    else if (*owner != tenant.role)
      throw RunError("database " + tenant.database + " is owned by " + *owner + ", not by " + tenant.role);
    interrupt::throw_if_requested();

    const auto record = rows.find_slug(slug);
    if (!record) throw RunError("the row of tenant " + slug + " disappeared while it was provisioned");
    const auto outcome = run_tenant(*record, {preflight.key, settings, reporter},
                                    up_work(preflight.set, preflight.ledger, engine, reporter));
    reporter.tenant_finished(outcome);
    if (outcome.state == TenantState::interrupted)
      throw InterruptedError("stopped by " + interrupt::signal_name(), interrupt::signal_number());
    if (outcome.state != TenantState::migrated && outcome.state != TenantState::up_to_date)
      throw RunError("its migrations failed: " + outcome.reason);
    if (!rows.set_status(tenant.id, "active"))
      throw RunError("the row of tenant " + slug + " disappeared while it was provisioned");
  } catch (const std::exception& error) {
    const auto left = undo(admin, rows, central, tenant);
    const std::string undone =
        left.empty() ? "its role, database and row were removed"
                     : "could not remove: " + left + "; run migrate provision " + slug + " again to finish or clean up";
    if (dynamic_cast<const InterruptedError*>(&error) != nullptr) {
      reporter.line(slug + ": provision stopped; " + undone);
      throw;
    }
    throw RunError("provision of " + slug + " failed: " + pg::scrub(error.what()) + "; " + undone);
  }
  const auto where = admin.tenant_endpoint(tenant.database, tenant.role);
  reporter.line(slug + ": provisioned: database " + tenant.database + " owned by role " + tenant.role + " on server " +
                server->name + " (" + where.server() + "), status active");
  return exit_ok;
}

}  // namespace migrate::runner
