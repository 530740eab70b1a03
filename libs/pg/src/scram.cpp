#include "migrate/pg/scram.hpp"

#include <libpq-fe.h>

#include <algorithm>
#include <memory>

#include "migrate/core/error.hpp"
#include "migrate/pg/quote.hpp"

namespace migrate::pg {

std::string scram_verifier(Connection& db, const crypto::Secret& password, const std::string& role) {
  // libpq needs a NUL-terminated copy; it lives in a Secret and is wiped with it.
  auto terminated = crypto::Secret(password.size() + 1);
  std::copy(password.data(), password.data() + password.size(), terminated.data());
  auto* conn = static_cast<PGconn*>(db.libpq_handle());
  // The algorithm named, not left to the server's password_encryption (which may still say md5).
  std::unique_ptr<char, decltype(&PQfreemem)> verifier(
      PQencryptPasswordConn(conn, reinterpret_cast<const char*>(terminated.data()), role.c_str(), "scram-sha-256"),
      &PQfreemem);
  if (!verifier) throw RunError("libpq could not compute the SCRAM verifier of the new password for role " + role);
  return verifier.get();
}

std::string role_password_sql(Connection& db, const std::string& role, const std::string& verifier, bool create) {
  return std::string(create ? "CREATE ROLE " : "ALTER ROLE ") + quote_identifier(role) + (create ? " LOGIN" : "") +
         " PASSWORD " + db.quote(verifier);
}

}  // namespace migrate::pg
