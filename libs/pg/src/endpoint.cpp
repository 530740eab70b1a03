#include "migrate/pg/endpoint.hpp"

namespace migrate::pg {

std::string Endpoint::describe() const {
  return server() + "/" + dbname;
}
std::string Endpoint::server() const {
  return host + ":" + std::to_string(port);
}

}  // namespace migrate::pg
