#pragma once
// The throwaway PostgreSQL cluster scripts/test.sh starts, reached as its superuser through
// PGHOST, PGPORT, PGUSER and PGPASSWORD.
#include <pqxx/pqxx>

#include <string>

namespace support {

// Superuser conninfo for `dbname`. Fails the test, saying why, when the cluster variables are unset.
std::string admin_conninfo(const std::string& dbname = "postgres");

// Runs `sql` as the superuser in `dbname`, committing.
pqxx::result admin_exec(const std::string& sql, const std::string& dbname = "postgres");

std::string cluster_host();
int cluster_port();

// A name no other test of any run uses: prefix, pid, a counter and random digits.
std::string unique_name(const std::string& prefix);

// A TCP port on 127.0.0.1 nothing listens on right now.
int free_port();

}  // namespace support
