#include "migrate/pg/connection.hpp"

#include <libpq-fe.h>
#include <pqxx/errorhandler>
#include <pqxx/except>

#include "migrate/pg/errors.hpp"

namespace migrate::pg {
namespace {

// Server options sent in the startup packet, so they cost no round trip:
// - notices ("relation already exists, skipping") are not news to an operator;
// - a backend whose client died (a killed runner) notices within a second and rolls back,
//   releasing its locks, instead of running its statement to the end.
constexpr const char* server_options = "-c client_min_messages=warning -c client_connection_check_interval=1000";

std::vector<std::pair<std::string, std::string>> common_parameters(const ConnectOptions& options) {
  return {{"connect_timeout", std::to_string(options.timeout.count())},
          {"application_name", options.application_name},
          {"options", server_options}};
}

// Swallows notices; anything worth saying reaches us as an error.
class QuietNotices : public pqxx::errorhandler {
 public:
  using pqxx::errorhandler::errorhandler;
  bool operator()(const char*) noexcept override { return false; }
};

}  // namespace

namespace detail {

SecretConnectPolicy::SecretConnectPolicy(std::vector<std::pair<std::string, std::string>> parameters,
                                         crypto::Secret password, std::string description)
    : pqxx::connectionpolicy(std::string{}),
      parameters_(std::move(parameters)),
      password_(std::move(password)),
      description_(std::move(description)) {}

SecretConnectPolicy::handle SecretConnectPolicy::do_startconnect(handle original) {
  if (original) return original;
  std::vector<const char*> keywords;
  std::vector<const char*> values;
  for (const auto& [keyword, value] : parameters_) {
    keywords.push_back(keyword.c_str());
    values.push_back(value.c_str());
  }
  // One use only: the password is wiped when `password` goes out of scope, whatever happens.
  const crypto::Secret password = std::move(password_);
  // The Secret holds no terminating NUL, so hand libpq a NUL-terminated copy that is wiped too.
  crypto::Secret terminated(password.size() + 1);
  if (!password.empty()) {
    std::copy(password.data(), password.data() + password.size(), terminated.data());
    keywords.push_back("password");
    values.push_back(reinterpret_cast<const char*>(terminated.data()));
  }
  keywords.push_back(nullptr);
  values.push_back(nullptr);
  PGconn* connection = PQconnectdbParams(keywords.data(), values.data(), /*expand_dbname=*/1);
  if (connection == nullptr) throw ConnectError("cannot connect to " + description_ + ": out of memory", true);
  if (PQstatus(connection) != CONNECTION_OK) {
    const std::string reason = scrub(PQerrorMessage(connection), password.view());
    PQfinish(connection);
    throw ConnectError("cannot connect to " + description_ + ": " + reason, is_transient_connect_message(reason));
  }
  return connection;
}

}  // namespace detail

Connection::Connection(const Endpoint& endpoint, crypto::Secret password, const ConnectOptions& options)
    : pqxx::connection_base(policy_),
      description_(endpoint.describe()),
      policy_(
          [&] {
            auto parameters = common_parameters(options);
            parameters.insert(parameters.begin(), {{"host", endpoint.host},
                                                   {"port", std::to_string(endpoint.port)},
                                                   {"dbname", endpoint.dbname},
                                                   {"user", endpoint.user}});
            return parameters;
          }(),
          std::move(password), description_) {
  init();
  notices_ = std::make_unique<QuietNotices>(*this);
}

Connection::Connection(const std::string& conninfo, const ConnectOptions& options)
    : pqxx::connection_base(policy_),
      description_(endpoint_of(conninfo).describe()),
      policy_(
          [&] {
            auto parameters = common_parameters(options);
            // expand_dbname lets a conninfo string or URL stand in "dbname"; later keys override it.
            parameters.insert(parameters.begin(), {"dbname", conninfo});
            return parameters;
          }(),
          crypto::Secret(), description_) {
  init();
  notices_ = std::make_unique<QuietNotices>(*this);
}

Connection::~Connection() {
  notices_.reset();
  close();
}

}  // namespace migrate::pg
