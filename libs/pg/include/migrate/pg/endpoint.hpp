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

}  // namespace migrate::pg
