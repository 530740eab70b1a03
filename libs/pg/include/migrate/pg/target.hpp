#pragma once
// Where to connect, as libpq keywords and values: never a connection string that a value could
// rewrite, and the password kept apart from everything that may be printed.
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "migrate/crypto/secret.hpp"
#include "migrate/pg/endpoint.hpp"

namespace migrate::pg {

// Takes PGHOSTADDR and PGSERVICE out of the environment, keeping their values for the central
// connection only. libpq would otherwise apply them to every connection, tenants' too: PGHOSTADDR
// sends every tenant's password to one address whatever its db_host says. Call once at start,
// before any thread.
void detach_environment();

class Target {
 public:
  using Parameters = std::vector<std::pair<std::string, std::string>>;

  // A postgresql:// URL or libpq conninfo (the central database). Throws InputError naming
  // `where` when libpq cannot parse it, without libpq's message, which quotes the raw text.
  static Target parse(const std::string& conninfo, const std::string& where);
  // A tenant database: host, port, database and user are values, never parsed as conninfo.
  static Target of(const Endpoint& endpoint);

  const Parameters& parameters() const { return parameters_; }  // never the password
  // The password the connection text held; empty when none (tenants get theirs at connect time).
  const crypto::Secret& password() const { return *password_; }
  const Endpoint& endpoint() const { return endpoint_; }
  // "host:port/dbname", safe to print.
  std::string describe() const { return endpoint_.describe(); }

 private:
  Parameters parameters_;
  std::shared_ptr<const crypto::Secret> password_ = std::make_shared<const crypto::Secret>();
  Endpoint endpoint_;
};

}  // namespace migrate::pg
