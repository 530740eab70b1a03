#pragma once
// A tenant's life beyond migrations: `migrate provision` creates its role, database and record and
// migrates it; `migrate deprovision` retires it, and with --drop-database removes its database.
#include <functional>
#include <string>

#include "migrate/config/settings.hpp"
#include "migrate/runner/engine.hpp"
#include "migrate/runner/reporter.hpp"

namespace migrate::runner {

struct ProvisionRequest {
  std::string slug;    // lowercase letters, digits and hyphens
  std::string name;    // the tenants.name column; may be empty
  std::string server;  // a name under servers:, or empty for the only one
};

// Creates tenant `slug`: a random password, the row (status provisioning, the password encrypted),
// the login role (its password sent as a SCRAM verifier), the database owned by it (CONNECT revoked
// from PUBLIC), every tenant migration, then status active. Any failure undoes the role, database
// and row and returns 1; a row left in provisioning by a crash is completed (or, when that fails,
// removed with its role and database) by the same command. InputError (2, nothing changed) for a
// bad slug, a slug in use, a role or database of that name already on the server, bad settings.
int provision(const config::Settings& settings, const ProvisionRequest& request, const EngineOptions& engine,
              Reporter& reporter);

struct DeprovisionRequest {
  std::string slug;
  bool drop_database = false;
  std::string server;  // with drop_database: the server, when its host and port cannot tell
};

// Sets the tenant's status to deleted (runs pass it by). With drop_database, after `confirm`
// agrees, also ends the database's sessions and drops the database and its role.
int deprovision(const config::Settings& settings, const DeprovisionRequest& request, Reporter& reporter,
                const std::function<bool(const std::string&)>& confirm);

// Whether `slug` is one provision accepts: 1 to 48 characters, lowercase letters, digits and
// hyphens, starting and ending with a letter or digit.
bool valid_slug(const std::string& slug);

}  // namespace migrate::runner
