#include "migrate/pg/target.hpp"

#include <libpq-fe.h>

#include <algorithm>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <string_view>

#include "migrate/core/error.hpp"

namespace migrate::pg {
namespace {

using Options = std::unique_ptr<PQconninfoOption, decltype(&PQconninfoFree)>;

// What detach_environment() took out of the environment, for the central connection.
std::string& detached(const char* name) {
  static std::string hostaddr;
  static std::string service;
  return std::string_view(name) == "PGHOSTADDR" ? hostaddr : service;
}

std::string from_env(const char* name, const char* fallback) {
  const char* value = std::getenv(name);
  return value && *value ? value : fallback;
}

// Wipes every value libpq parsed (the password among them) before freeing them.
void wipe_and_free(PQconninfoOption* options) {
  if (!options) return;
  for (auto* option = options; option->keyword; ++option)
    if (option->val) explicit_bzero(option->val, std::strlen(option->val));
  PQconninfoFree(options);
}

}  // namespace

void detach_environment() {
  for (const char* name : {"PGHOSTADDR", "PGSERVICE"}) {
    if (const char* value = std::getenv(name)) detached(name) = value;
    unsetenv(name);
  }
}

Target Target::parse(const std::string& conninfo, const std::string& where) {
  char* error = nullptr;
  std::unique_ptr<PQconninfoOption, void (*)(PQconninfoOption*)> options(PQconninfoParse(conninfo.c_str(), &error),
                                                                         &wipe_and_free);
  if (error) PQfreemem(error);  // it may quote the password: never shown
  if (!options)
    throw InputError(where +
                     " is not a valid postgresql:// URL or libpq connection string (in a URL, percent-encode "
                     "special characters of the password, e.g. % as %25 and @ as %40; in key=value form, quote "
                     "values holding spaces)");
  Target target;
  std::string host = from_env("PGHOST", "localhost");
  std::string port = from_env("PGPORT", "5432");
  std::string user = from_env("PGUSER", "");
  std::string dbname = from_env("PGDATABASE", "");
  for (auto* option = options.get(); option->keyword; ++option) {
    if (!option->val || !*option->val) continue;
    const std::string keyword = option->keyword;
    if (keyword == "password") {
      target.password_ = std::make_shared<const crypto::Secret>(crypto::Secret::copy_of(option->val));
      continue;
    }
    target.parameters_.emplace_back(keyword, option->val);
    if (keyword == "host" || (keyword == "hostaddr" && host == "localhost"))
      host = option->val;
    else if (keyword == "port")
      port = option->val;
    else if (keyword == "dbname")
      dbname = option->val;
    else if (keyword == "user")
      user = option->val;
  }
  // What the environment said for the central connection, given explicitly now that it is gone.
  for (const auto& [name, keyword] : {std::pair{"PGHOSTADDR", "hostaddr"}, std::pair{"PGSERVICE", "service"}}) {
    const std::string wanted = keyword;  // clang 14 (the fuzz build) cannot capture a structured binding
    const bool given = std::any_of(target.parameters_.begin(), target.parameters_.end(),
                                   [&](const auto& p) { return p.first == wanted; });
    if (!given && !detached(name).empty()) target.parameters_.emplace_back(keyword, detached(name));
  }
  target.endpoint_ = {host, std::atoi(port.c_str()), dbname.empty() ? user : dbname, user};
  return target;
}

Target Target::of(const Endpoint& endpoint) {
  Target target;
  target.parameters_ = {{"host", endpoint.host},
                        {"port", std::to_string(endpoint.port)},
                        {"dbname", endpoint.dbname},
                        {"user", endpoint.user}};
  target.endpoint_ = endpoint;
  return target;
}

}  // namespace migrate::pg
