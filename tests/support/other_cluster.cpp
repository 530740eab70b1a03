#include "support/other_cluster.hpp"

#include <catch2/catch.hpp>
#include <fstream>
#include <pqxx/pqxx>

#include "support/cluster.hpp"
#include "support/process.hpp"

namespace support {
namespace {

std::string script() {
  return std::string(MIGRATE_SOURCE_DIR) + "/scripts/pg-cluster.sh";
}

}  // namespace

OtherCluster::OtherCluster()
    : dir_(std::filesystem::temp_directory_path() / unique_name("migrate-other-") / "pg"), port_(free_port()) {
  const auto started = run({script(), "start", dir_.string(), std::to_string(port_)});
  INFO(started.all());
  REQUIRE(started.exit_code == 0);
  std::ifstream env(dir_ / "env");
  for (std::string line; std::getline(env, line);)
    if (line.rfind("export PGPASSWORD=", 0) == 0) password_ = line.substr(18);
  REQUIRE(!password_.empty());
}

OtherCluster::~OtherCluster() {
  run({script(), "stop", dir_.string()});
  std::error_code ignored;
  std::filesystem::remove_all(dir_.parent_path(), ignored);
}

void OtherCluster::start() {
  REQUIRE(run({script(), "start", dir_.string()}).exit_code == 0);
}

void OtherCluster::stop() {
  REQUIRE(run({script(), "stop", dir_.string()}).exit_code == 0);
}

std::string OtherCluster::admin_conninfo(const std::string& dbname) const {
  return "host=127.0.0.1 port=" + std::to_string(port_) + " user=postgres dbname=" + dbname + " password=" + password_;
}

void OtherCluster::create_tenant_database(const std::string& role, const std::string& password,
                                          const std::string& db) const {
  pqxx::connection admin(admin_conninfo());
  pqxx::nontransaction tx(admin);
  tx.exec("CREATE ROLE " + tx.quote_name(role) + " LOGIN PASSWORD " + tx.quote(password));
  tx.exec("CREATE DATABASE " + tx.quote_name(db) + " OWNER " + tx.quote_name(role));
}

}  // namespace support
