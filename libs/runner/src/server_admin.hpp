#pragma once
// A tenant database server as provision and deprovision use it: an admin connection (knexfile
// `servers:`) that creates and drops tenant roles and databases. Names are quoted identifiers;
// a role's password reaches the server only as a SCRAM verifier.
#include <optional>
#include <string>

#include "migrate/config/settings.hpp"
#include "migrate/crypto/secret.hpp"
#include "migrate/pg/connection.hpp"
#include "migrate/pg/target.hpp"

namespace migrate::runner {

// The server `name` names, or the only one when `name` is empty. InputError when the knexfile has
// no servers, has several and none was named, or has none of that name (listing the names).
const config::ServerSettings& choose_server(const config::Settings& settings, const std::string& name);

// The server of a tenant at `endpoint`: `name` when given (InputError when its tenants are not at
// that host and port), else the one server whose tenant host and port are `endpoint`'s (InputError
// when none is, or several are: --server must say).
const config::ServerSettings& server_of(const config::Settings& settings, const pg::Endpoint& endpoint,
                                        const std::string& name);

// `pattern` with {slug} replaced; InputError when the name is longer than PostgreSQL's 63 bytes.
std::string name_for(const std::string& pattern, const std::string& slug, const std::string& what);

class ServerAdmin {
 public:
  // Parses the admin connection (InputError naming servers.NAME.connection when it does not).
  explicit ServerAdmin(const config::ServerSettings& server);

  // Where tenants of this server are reached: its host and port setting, else the admin
  // connection's. Database and user are the tenant's.
  pg::Endpoint tenant_endpoint(const std::string& database, const std::string& role) const;

  // Opens the admin connection (InputError naming the server when it cannot: nothing was changed).
  void connect(std::chrono::seconds timeout);

  bool role_exists(const std::string& role);
  // The owner of `database`, or nothing when there is no such database.
  std::optional<std::string> database_owner(const std::string& database);

  void create_role(const std::string& role, const crypto::Secret& password);
  // An admin with CREATEROLE and CREATEDB but not superuser may give a database to a role only if
  // it is a member of it: made one here (nothing for a superuser).
  void become_member_of(const std::string& role);
  void set_role_password(const std::string& role, const crypto::Secret& password);
  // Creates `database` owned by `owner`, and revokes CONNECT from PUBLIC: only its owner (and
  // superusers) may connect.
  void create_database(const std::string& database, const std::string& owner);
  // Whether the admin may drop a database owned by `owner` (a member of it, or superuser) and drop
  // role `owner` (not a superuser role; the admin has CREATEROLE or is superuser).
  bool may_drop(const std::string& owner);
  // Ends the database's sessions and drops it; nothing when it is not there.
  void drop_database(const std::string& database);
  // Nothing when it is not there.
  void drop_role(const std::string& role);

  const std::string& name() const { return server_.name; }
  // The admin connection, once connect() opened it: to shield it from a stop request while undoing.
  const pg::Connection& connection() const { return *db_; }

 private:
  void exec(const std::string& sql);

  const config::ServerSettings& server_;
  pg::Target target_;
  std::unique_ptr<pg::Connection> db_;
};

}  // namespace migrate::runner
