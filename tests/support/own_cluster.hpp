#pragma once
// A PostgreSQL cluster of one test's own, for what the shared cluster must not suffer: shutdowns,
// restarts, a server held in its startup. scripts/pg-cluster.sh in a temporary folder, on a free port.
#include <sys/types.h>

#include <filesystem>
#include <string>

#include "support/fleet.hpp"

namespace support {

class OwnCluster {
 public:
  // Creates and starts the cluster; `extra_conf` is appended to its postgresql.conf first.
  explicit OwnCluster(const std::string& extra_conf = "");
  ~OwnCluster();  // stops it and removes its folder
  OwnCluster(const OwnCluster&) = delete;
  OwnCluster& operator=(const OwnCluster&) = delete;

  int port() const { return port_; }
  // Superuser conninfo for `dbname` on this cluster.
  std::string admin_conninfo(const std::string& dbname = "postgres") const;
  // Creates `tenant`'s role (same password) and database here, and points its row in `fleet`'s
  // tenants table at this cluster.
  void host(const TestFleet& fleet, const Tenant& tenant) const;

  // pg_ctl start, waiting until it accepts connections, or (`wait` false) returning at once.
  void start(bool wait = true);
  // pg_ctl stop in `mode` (smart, fast, immediate), waiting for it to end unless `wait` is false.
  void stop(const std::string& mode = "fast", bool wait = true);
  // The postmaster's pid from postmaster.pid, or 0 when there is none.
  pid_t postmaster_pid() const;
  // The pid of the postmaster's child whose title starts with `title` ("postgres: startup"), or 0.
  pid_t child_pid(const std::string& title) const;
  // Waits, without sleeping, for the startup process of a server being started and stops it
  // (SIGSTOP), so that the server stays in its startup; returns its pid. Fails after 30 s.
  pid_t pause_startup() const;
  // What a superuser connection attempt to this server gets now: libpq's error, or "" when it connects.
  std::string connect_error() const;

 private:
  std::filesystem::path dir_;
  int port_ = 0;
  std::string password_;
};

}  // namespace support
