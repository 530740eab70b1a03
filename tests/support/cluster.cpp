#include "support/cluster.hpp"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <catch2/catch.hpp>
#include <cstdlib>
#include <random>

namespace support {

namespace {
std::string env_or_fail(const char* name) {
  const char* value = std::getenv(name);
  if (!value || !*value)
    FAIL(name << " is not set: run the integration tests through scripts/test.sh, which starts the cluster");
  return value;
}
}  // namespace

std::string cluster_host() {
  return env_or_fail("PGHOST");
}
int cluster_port() {
  return std::stoi(env_or_fail("PGPORT"));
}

std::string admin_conninfo(const std::string& dbname) {
  return "host=" + cluster_host() + " port=" + std::to_string(cluster_port()) + " user=" + env_or_fail("PGUSER") +
         " password=" + env_or_fail("PGPASSWORD") + " dbname=" + dbname;
}

pqxx::result admin_exec(const std::string& sql, const std::string& dbname) {
  pqxx::connection db(admin_conninfo(dbname));
  pqxx::nontransaction tx(db);
  return tx.exec(sql);
}

std::string unique_name(const std::string& prefix) {
  static std::atomic<int> counter{0};
  static const int salt = std::random_device{}() % 100000;
  return prefix + std::to_string(::getpid()) + "_" + std::to_string(salt) + "_" + std::to_string(++counter);
}

int free_port() {
  const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  address.sin_port = 0;
  REQUIRE(::bind(fd, reinterpret_cast<sockaddr*>(&address), sizeof address) == 0);
  socklen_t size = sizeof address;
  ::getsockname(fd, reinterpret_cast<sockaddr*>(&address), &size);
  ::close(fd);
  return ntohs(address.sin_port);
}

}  // namespace support
