#include "central_reader.hpp"
#include "migrate/core/error.hpp"
#include "migrate/registry/tenant_rows.hpp"
#include "migrate/runner/lifecycle.hpp"
#include "server_admin.hpp"

namespace migrate::runner {

int deprovision(const config::Settings& settings, const DeprovisionRequest& request, Reporter& reporter,
                const std::function<bool(const std::string&)>& confirm) {
  CentralReader reader(settings);  // parsed and reachable, or exit 2
  pg::Connection central(reader.target(), reader.connect_options());
  reader.close();
  registry::TenantRows rows(central, settings.tenants_table);
  // Not while a provision of this slug runs: it would set the tenant active again, or lose its database under it.
  if (!rows.try_lock_slug(request.slug))
    throw InputError("a migrate provision or deprovision of " + request.slug + " is running; nothing was changed");
  const auto tenant = rows.find_slug(request.slug);
  if (!tenant) throw InputError("no tenant with slug " + request.slug + "; nothing was changed");

  if (!request.drop_database) {
    if (tenant->status == "deleted") {
      reporter.line(request.slug + ": already deleted; nothing to do");
      return exit_ok;
    }
    rows.set_status(tenant->id, "deleted");
    reporter.line(request.slug + ": status deleted (was " + tenant->status + "); runs pass it by. Its database " +
                  tenant->database.describe() + " is kept");
    return exit_ok;
  }

  // Everything is checked before the question, so that a yes is not followed by a refusal.
  if (!tenant->problem.empty())
    throw InputError("tenant " + request.slug + "'s row cannot be used: " + tenant->problem + "; nothing was changed");
  const auto& server = server_of(settings, tenant->database, request.server);
  ServerAdmin admin(server);
  admin.connect(settings.connect_timeout);
  const auto& database = tenant->database.dbname;
  const auto& role = tenant->database.user;
  const auto owner = admin.database_owner(database);
  if (owner && *owner != role)
    throw InputError("database " + database + " is owned by " + *owner + ", not by the tenant's role " + role +
                     ": not dropped; nothing was changed");
  // With its database gone (an earlier deprovision stopped half way), the role is dropped only if
  // it has the name this server gives the tenant's role: a row's db_user alone is no proof.
  const bool drop_role = owner || role == name_for(server.role_name, request.slug, "role name");
  if (!admin.may_drop(role))
    throw InputError("the admin of server " + server.name + " may not drop database " + database + " or role " + role +
                     " (it needs to be a superuser, or to have CREATEROLE and be a member of " + role +
                     "); nothing was changed");
  const std::string what =
      (owner ? "database " + database : "") + (owner && drop_role ? " and " : "") + (drop_role ? "role " + role : "");
  if (what.empty()) {
    rows.set_status(tenant->id, "deleted");
    reporter.line(request.slug + ": status deleted; database " + database + " is not on server " + server.name +
                  ", and role " + role + " is not one this server names, so neither was dropped");
    return exit_ok;
  }
  if (!confirm("Drop " + what + " of tenant " + request.slug + " on server " + server.name + " (" +
               tenant->database.server() + ")? Its data is lost for good."))
    throw InputError("not confirmed; nothing was changed");

  // Deleted first, so that no run starts on it while it goes.
  rows.set_status(tenant->id, "deleted");
  try {
    if (owner) admin.drop_database(database);
    if (drop_role) admin.drop_role(role);
  } catch (const Error& error) {
    throw RunError(request.slug + ": status deleted, but the drop failed: " + error.what() +
                   "; run the same command again to finish");
  }
  reporter.line(request.slug + ": status deleted; " + what + " dropped on server " + server.name +
                (owner ? "" : " (database " + database + " was not there)"));
  return exit_ok;
}

}  // namespace migrate::runner
