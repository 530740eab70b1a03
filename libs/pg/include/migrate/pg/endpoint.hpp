#pragma once
// Where a database is, without its password: safe to print.
#include <string>

namespace migrate::pg {

struct Endpoint {
  std::string host;
  int port = 5432;
  std::string dbname;
  std::string user;

  // "host:port/dbname", for messages.
  std::string describe() const;
  // "host:port", the key that --per-host caps.
  std::string server() const;
};

// The endpoint a libpq conninfo string or postgresql:// URL points at (libpq's defaults and PG*
// variables fill what it leaves out). Never returns or prints the password.
Endpoint endpoint_of(const std::string& conninfo);

}  // namespace migrate::pg
