#include "migrate/pg/endpoint.hpp"

#include <libpq-fe.h>

#include <cstdlib>
#include <memory>

namespace migrate::pg {

std::string Endpoint::describe() const {
  return server() + "/" + dbname;
}
std::string Endpoint::server() const {
  return host + ":" + std::to_string(port);
}

Endpoint endpoint_of(const std::string& conninfo) {
  Endpoint endpoint;
  char* error = nullptr;
  std::unique_ptr<PQconninfoOption, decltype(&PQconninfoFree)> options(PQconninfoParse(conninfo.c_str(), &error),
                                                                       &PQconninfoFree);
  if (error) PQfreemem(error);
  auto from_env = [](const char* name, const char* fallback) {
    const char* value = std::getenv(name);
    return std::string(value && *value ? value : fallback);
  };
  std::string host = from_env("PGHOST", "localhost");
  std::string port = from_env("PGPORT", "5432");
  std::string user = from_env("PGUSER", "");
  std::string dbname = from_env("PGDATABASE", "");
  if (options) {
    for (auto* option = options.get(); option->keyword; ++option) {
      if (!option->val || !*option->val) continue;
      const std::string keyword = option->keyword;
      if (keyword == "host" || (keyword == "hostaddr" && host == "localhost"))
        host = option->val;
      else if (keyword == "port")
        port = option->val;
      else if (keyword == "dbname")
        dbname = option->val;
      else if (keyword == "user")
        user = option->val;
    }
  }
  endpoint.host = host;
  endpoint.port = std::atoi(port.c_str());
  endpoint.user = user;
  endpoint.dbname = dbname.empty() ? user : dbname;
  return endpoint;
}

}  // namespace migrate::pg
