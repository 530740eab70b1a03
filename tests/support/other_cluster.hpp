#pragma once
// A throwaway PostgreSQL cluster of a test's own, beside the one scripts/test.sh starts, for tests
// that stop, restart or delay a server. Started by scripts/pg-cluster.sh on a free port.
#include <filesystem>
#include <string>

namespace support {

class OtherCluster {
 public:
  OtherCluster();   // initialised and started
  ~OtherCluster();  // stopped and removed
  OtherCluster(const OtherCluster&) = delete;
  OtherCluster& operator=(const OtherCluster&) = delete;

  void start();
  void stop();
  int port() const { return port_; }
  // Superuser conninfo for `dbname` on this cluster.
  std::string admin_conninfo(const std::string& dbname = "postgres") const;
  // A login role and a database it owns, as TestFleet makes them on the main cluster.
  void create_tenant_database(const std::string& role, const std::string& password, const std::string& db) const;

 private:
  std::filesystem::path dir_;
  int port_ = 0;
  std::string password_;
};

}  // namespace support
