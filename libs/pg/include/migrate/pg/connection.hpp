#pragma once
// A libpqxx connection opened without the password ever sitting in a conninfo string: libpq
// gets it as a separate parameter, and it is wiped once the connection is up.
#include <pqxx/connection_base>
#include <pqxx/connectionpolicy>
#include <pqxx/errorhandler>

#include <chrono>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "migrate/crypto/secret.hpp"
#include "migrate/pg/endpoint.hpp"

namespace migrate::pg {

struct ConnectOptions {
  std::chrono::seconds timeout{10};
  std::string application_name = "migrate";
};

namespace detail {
// Connects with PQconnectdbParams, then wipes the password it was given. Reconnection is not
// possible afterwards, which is what we want: a lost connection fails its tenant's attempt.
class SecretConnectPolicy : public pqxx::connectionpolicy {
 public:
  SecretConnectPolicy(std::vector<std::pair<std::string, std::string>> parameters, crypto::Secret password,
                      std::string description);
  handle do_startconnect(handle original) override;

 private:
  std::vector<std::pair<std::string, std::string>> parameters_;
  crypto::Secret password_;
  std::string description_;
};
}  // namespace detail

class Connection : public pqxx::connection_base {
 public:
  // A tenant database at `endpoint` as its user, with `password`. Throws ConnectError naming the
  // endpoint, never the password.
  Connection(const Endpoint& endpoint, crypto::Secret password, const ConnectOptions& options);
  // The database a conninfo string or postgresql:// URL names (the central database).
  Connection(const std::string& conninfo, const ConnectOptions& options);
  ~Connection();

  Connection(const Connection&) = delete;
  Connection& operator=(const Connection&) = delete;

  const std::string& description() const { return description_; }

 private:
  std::string description_;
  detail::SecretConnectPolicy policy_;
  std::unique_ptr<pqxx::errorhandler> notices_;
};

}  // namespace migrate::pg
