#pragma once
// A role's password sent to the server as a SCRAM-SHA-256 verifier computed here, so that the
// plaintext never travels in SQL and never reaches the server's statement log.
#include <string>

#include "migrate/crypto/secret.hpp"
#include "migrate/pg/connection.hpp"

namespace migrate::pg {

// The SCRAM-SHA-256 verifier of `password` for `role` ("SCRAM-SHA-256$4096:..."), made by libpq
// (PQencryptPasswordConn) on this side of `db`. Safe to log: it is what pg_authid stores. Throws
// RunError (without the password) when libpq cannot make it.
std::string scram_verifier(Connection& db, const crypto::Secret& password, const std::string& role);

// "ALTER ROLE <role> PASSWORD '<verifier>'" (or CREATE ROLE ... LOGIN PASSWORD when `create`):
// the role quoted, the verifier as a literal, since neither statement takes parameters.
std::string role_password_sql(Connection& db, const std::string& role, const std::string& verifier, bool create);

}  // namespace migrate::pg
