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
  const auto* server =
      request.server.empty() ? server_of(settings, tenant->database) : &choose_server(settings, request.server);
  if (server == nullptr)
    throw InputError("tenant " + request.slug + " lives on " + tenant->database.server() +
                     ", which no server under servers: names (by host and port); give --server NAME");
  if (!tenant->problem.empty())
    throw InputError("tenant " + request.slug + "'s row cannot be used: " + tenant->problem + "; nothing was changed");
  ServerAdmin admin(*server);
  admin.connect(settings.connect_timeout);
  const auto& database = tenant->database.dbname;
  const auto& role = tenant->database.user;
  if (const auto owner = admin.database_owner(database); owner && *owner != role)
    throw InputError("database " + database + " is owned by " + *owner + ", not by the tenant's role " + role +
                     ": not dropped; nothing was changed");
  if (!confirm("Drop database " + database + " and role " + role + " of tenant " + request.slug + " on server " +
               server->name + " (" + tenant->database.server() + ")? Its data is lost for good."))
    throw InputError("not confirmed; nothing was changed");

  // Deleted first, so that no run starts on it while it goes.
  rows.set_status(tenant->id, "deleted");
  admin.drop_database(database);
  admin.drop_role(role);
  reporter.line(request.slug + ": status deleted; database " + database + " and role " + role + " dropped on server " +
                server->name);
  return exit_ok;
}

}  // namespace migrate::runner
