#include "server_admin.hpp"

#include <pqxx/pqxx>

#include <vector>

#include "migrate/core/error.hpp"
#include "migrate/pg/errors.hpp"
#include "migrate/pg/quote.hpp"
#include "migrate/pg/scram.hpp"

namespace migrate::runner {
namespace {

constexpr std::size_t max_identifier = 63;  // NAMEDATALEN - 1: PostgreSQL cuts longer names silently

std::string names_of(const config::Settings& settings) {
  std::string names;
  for (const auto& server : settings.servers) names += (names.empty() ? "" : ", ") + server.name;
  return names;
}

}  // namespace

const config::ServerSettings& choose_server(const config::Settings& settings, const std::string& name) {
  if (settings.servers.empty())
    throw InputError(settings.knexfile.string() + ": environment " + settings.environment +
                     " has no servers: list the database servers tenants may be created on under servers:");
  if (name.empty()) {
    if (settings.servers.size() == 1) return settings.servers.front();
    throw InputError("several servers are configured (" + names_of(settings) + "): choose one with --server NAME");
  }
  for (const auto& server : settings.servers)
    if (server.name == name) return server;
  throw InputError("no server named " + name + " in " + settings.knexfile.string() + " (it has: " + names_of(settings) +
                   ")");
}

const config::ServerSettings& server_of(const config::Settings& settings, const pg::Endpoint& endpoint,
                                        const std::string& name) {
  const auto at = [&](const config::ServerSettings& server) {
    const auto where = ServerAdmin(server).tenant_endpoint(endpoint.dbname, endpoint.user);
    return where.host == endpoint.host && where.port == endpoint.port;
  };
  if (!name.empty()) {
    const auto& server = choose_server(settings, name);
    if (!at(server))
      throw InputError("server " + name + " does not hold tenants at " + endpoint.server() +
                       " (its host and port say otherwise); nothing was changed");
    return server;
  }
  std::vector<const config::ServerSettings*> found;
  for (const auto& server : settings.servers)
    if (at(server)) found.push_back(&server);
  if (found.size() == 1) return *found.front();
  if (found.empty())
    throw InputError("no server under servers: holds tenants at " + endpoint.server() +
                     " (by host and port); nothing was changed");
  std::string names;
  for (const auto* server : found) names += (names.empty() ? "" : ", ") + server->name;
  throw InputError("several servers hold tenants at " + endpoint.server() + " (" + names +
                   "): choose one with --server NAME; nothing was changed");
}

std::string name_for(const std::string& pattern, const std::string& slug, const std::string& what) {
  std::string name = pattern;
  for (auto at = name.find("{slug}"); at != std::string::npos; at = name.find("{slug}", at + slug.size()))
    name.replace(at, 6, slug);
  if (name.size() > max_identifier)
    throw InputError("the " + what + " " + name + " would be " + std::to_string(name.size()) +
                     " bytes, more than PostgreSQL's 63: use a shorter slug or name pattern");
  return name;
}

ServerAdmin::ServerAdmin(const config::ServerSettings& server)
    : server_(server), target_(pg::Target::parse(server.admin_connection, "servers." + server.name + ".connection")) {}

pg::Endpoint ServerAdmin::tenant_endpoint(const std::string& database, const std::string& role) const {
  pg::Endpoint endpoint;
  endpoint.host = server_.host.empty() ? target_.endpoint().host : server_.host;
  endpoint.port = server_.port != 0 ? server_.port : target_.endpoint().port;
  endpoint.dbname = database;
  endpoint.user = role;
  return endpoint;
}

void ServerAdmin::connect(std::chrono::seconds timeout) {
  try {
    db_ = std::make_unique<pg::Connection>(target_, pg::ConnectOptions{timeout});
  } catch (const Error& error) {
    throw InputError("cannot connect to server " + server_.name + ": " + error.what() + "; nothing was changed");
  }
}

void ServerAdmin::exec(const std::string& sql) {
  try {
    pqxx::nontransaction(*db_).exec(sql);
  } catch (...) {
    pg::rethrow_as_error(db_.get());
  }
}

bool ServerAdmin::role_exists(const std::string& role) {
  try {
    pqxx::nontransaction tx(*db_);
    return !tx.exec_params("SELECT 1 FROM pg_roles WHERE rolname = $1", role).empty();
  } catch (...) {
    pg::rethrow_as_error(db_.get());
  }
}

std::optional<std::string> ServerAdmin::database_owner(const std::string& database) {
  try {
    pqxx::nontransaction tx(*db_);
    const auto rows =
        tx.exec_params("SELECT pg_get_userbyid(datdba)::text FROM pg_database WHERE datname = $1", database);
    if (rows.empty()) return std::nullopt;
    return rows[0][0].as<std::string>();
  } catch (...) {
    pg::rethrow_as_error(db_.get());
  }
}

void ServerAdmin::create_role(const std::string& role, const crypto::Secret& password) {
  exec(pg::role_password_sql(*db_, role, pg::scram_verifier(*db_, password, role), true));
}

void ServerAdmin::become_member_of(const std::string& role) {
  try {
    pqxx::nontransaction tx(*db_);
    if (tx.exec("SELECT rolsuper FROM pg_roles WHERE rolname = current_user")[0][0].as<bool>()) return;
  } catch (...) {
    pg::rethrow_as_error(db_.get());
  }
  exec("GRANT " + pg::quote_identifier(role) + " TO CURRENT_USER");
}

void ServerAdmin::set_role_password(const std::string& role, const crypto::Secret& password) {
  exec(pg::role_password_sql(*db_, role, pg::scram_verifier(*db_, password, role), false));
}

void ServerAdmin::create_database(const std::string& database, const std::string& owner) {
  exec("CREATE DATABASE " + pg::quote_identifier(database) + " OWNER " + pg::quote_identifier(owner));
  exec("REVOKE CONNECT, TEMPORARY ON DATABASE " + pg::quote_identifier(database) + " FROM PUBLIC");
}

bool ServerAdmin::may_drop(const std::string& owner) {
  try {
    pqxx::nontransaction tx(*db_);
    const auto row = tx.exec_params(
        "SELECT (me.rolsuper OR (me.rolcreaterole AND NOT coalesce(them.rolsuper, false))) "
        "AND (them.oid IS NULL OR pg_has_role(current_user, them.oid, 'MEMBER')) "
        "FROM pg_roles me LEFT JOIN pg_roles them ON them.rolname = $1 WHERE me.rolname = current_user",
        owner)[0];
    return row[0].as<bool>(false);
  } catch (...) {
    pg::rethrow_as_error(db_.get());
  }
}

void ServerAdmin::drop_database(const std::string& database) {
  if (!database_owner(database)) return;
  // Not DROP DATABASE ... WITH (FORCE): for an admin that is not superuser it fails whenever an
  // autovacuum worker is in the database ("must be a member of the role whose process is being
  // terminated"). No new session, then the sessions ended, then a plain DROP, which also stops
  // autovacuum and waits (up to 5 s) for the ended sessions to go.
  const auto name = pg::quote_identifier(database);
  exec("ALTER DATABASE " + name + " ALLOW_CONNECTIONS false");
  try {
    pqxx::nontransaction tx(*db_);
    tx.exec_params(
        "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
        "WHERE datname = $1 AND pid <> pg_backend_pid() AND usename IS NOT NULL",
        database);
  } catch (...) {
    pg::rethrow_as_error(db_.get());
  }
  exec("DROP DATABASE IF EXISTS " + name);
}

void ServerAdmin::drop_role(const std::string& role) {
  exec("DROP ROLE IF EXISTS " + pg::quote_identifier(role));
}

}  // namespace migrate::runner
