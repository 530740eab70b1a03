// connect_floor TENANTS_TSV PARALLELISM [QUERY]
// Connects to every tenant listed (host, port, dbname, user, password; tab-separated), runs
// QUERY (default SELECT 1) and disconnects, PARALLELISM at a time. Prints the wall time in
// seconds. The floor that `migrate all-tenants` with nothing pending is measured against; with
// the ledger query as QUERY it shows what reading the ledger itself costs.
#include <libpq-fe.h>

#include <atomic>
#include <chrono>
#include <cstdio>
#include <fstream>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

namespace {

struct Target {
  std::string host, port, dbname, user, password;
};

std::vector<Target> read_targets(const char* path) {
  std::vector<Target> targets;
  std::ifstream in(path);
  for (std::string line; std::getline(in, line);) {
    std::istringstream fields(line);
    Target t;
    std::getline(fields, t.host, '\t');
    std::getline(fields, t.port, '\t');
    std::getline(fields, t.dbname, '\t');
    std::getline(fields, t.user, '\t');
    std::getline(fields, t.password, '\t');
    targets.push_back(t);
  }
  return targets;
}

bool touch(const Target& t, const char* query) {
  const char* keywords[] = {"host", "port", "dbname", "user", "password", nullptr};
  const char* values[] = {t.host.c_str(), t.port.c_str(),     t.dbname.c_str(),
                          t.user.c_str(), t.password.c_str(), nullptr};
  PGconn* conn = PQconnectdbParams(keywords, values, 0);
  bool ok = PQstatus(conn) == CONNECTION_OK;
  if (ok) {
    PGresult* result = PQexec(conn, query);
    ok = PQresultStatus(result) == PGRES_TUPLES_OK;
    PQclear(result);
  }
  PQfinish(conn);
  return ok;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 3 && argc != 4) {
    std::fprintf(stderr, "usage: connect_floor TENANTS_TSV PARALLELISM [QUERY]\n");
    return 2;
  }
  const auto targets = read_targets(argv[1]);
  const int parallelism = std::max(1, std::atoi(argv[2]));
  const char* query = argc == 4 ? argv[3] : "SELECT 1";
  std::atomic<std::size_t> next{0};
  std::atomic<int> failures{0};
  const auto start = std::chrono::steady_clock::now();
  std::vector<std::thread> threads;
  for (int i = 0; i < parallelism; ++i)
    threads.emplace_back([&] {
      for (std::size_t at; (at = next++) < targets.size();)
        if (!touch(targets[at], query)) ++failures;
    });
  for (auto& thread : threads) thread.join();
  const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  std::printf("%.3f\n", seconds);
  if (failures > 0) std::fprintf(stderr, "connect_floor: %d tenants failed\n", failures.load());
  return failures > 0 ? 1 : 0;
}
