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
    // Only a database of the tenant's own role is dropped, never one of the same name owned by another.
    attempt("database " + tenant.database, [&] {
      const auto owner = admin.database_owner(tenant.database);
      if (owner && *owner != tenant.role) throw RunError("it is owned by " + *owner + ", so it was left alone");
      if (owner) admin.drop_database(tenant.database);
    });
    attempt("role " + tenant.role, [&] { admin.drop_role(tenant.role); });
    if (!tenant.id.empty())
      attempt("the tenant row", [&] {
        if (!rows.delete_provisioning(tenant.id))
          throw RunError("its status is no longer provisioning, so it was left as it is");
      });
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
  registry::TenantRows rows(central, settings.tenants_table);
  // A second provision of this slug at the same time would take this one's row for a crashed run's.
  if (!rows.try_lock_slug(slug))
    throw InputError("another migrate provision or deprovision of " + slug + " is running; nothing was changed");

  const auto existing = rows.find_slug(slug);
  if (existing && existing->status != "provisioning")
    throw InputError("tenant " + slug + " already exists (status " + existing->status + "); nothing was changed");
  // `migrate tenant X` finds a tenant by slug or id: a slug that is another tenant's id would be ambiguous.
  if (!existing && rows.id_exists(slug))
    throw InputError("'" + slug + "' is the id of an existing tenant; choose another slug; nothing was changed");

  Provisioning tenant;
  crypto::Secret password;
  const config::ServerSettings* server = nullptr;
  if (existing) {
    server = &server_of(settings, existing->database, request.server);
    tenant = {existing->id, existing->database.user, existing->database.dbname};
    // Only a row this command wrote is completed: its names are what the server's patterns give.
    // Another one (an application's own sign-up in progress, a hand-written row) is not ours to
    // take over, reset the password of, or drop.
    if (tenant.role != name_for(server->role_name, slug, "role name") ||
        tenant.database != name_for(server->database_name, slug, "database name"))
      throw InputError("tenant " + slug + " is in provisioning, but its database " + tenant.database + " and role " +
                       tenant.role + " are not the names server " + server->name +
                       " gives it: it was not started by migrate provision; nothing was changed");
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
    if (!rows.activate_provisioning(tenant.id))
      throw RunError("the row of tenant " + slug + " was changed or removed while it was provisioned");
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
