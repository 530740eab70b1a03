#include <fcntl.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <cstdio>
#include <fstream>
#include <functional>
#include <nlohmann/json.hpp>
#include <sstream>

#include "migrate/runner/reporter.hpp"

using namespace migrate::runner;

namespace {

// What `write` printed on standard output, read back from a file put in its place.
std::string standard_output_of(const std::function<void()>& write) {
  std::fflush(stdout);
  char path[] = "/tmp/migrate-json-reporter-XXXXXX";
  const int file = ::mkstemp(path);
  REQUIRE(file >= 0);
  const int saved = ::dup(STDOUT_FILENO);
  ::dup2(file, STDOUT_FILENO);
  write();
  std::fflush(stdout);
  ::dup2(saved, STDOUT_FILENO);
  ::close(saved);
  ::close(file);
  std::ifstream in(path);
  std::ostringstream text;
  text << in.rdbuf();
  ::unlink(path);
  return text.str();
}

}  // namespace

TEST_CASE("json output: a byte that is not UTF-8 becomes the replacement character and the line still parses", "[json_reporter]") {
  const auto out = standard_output_of([] { make_json_reporter()->line("caf\xc3\xa9 \xff\xfe end \"quoted\"\n"); });
  INFO(out);
  REQUIRE(!out.empty());
  CHECK(std::count(out.begin(), out.end(), '\n') == 1);  // one line
  const auto event = nlohmann::json::parse(out);
  CHECK(event.at("event") == "message");
  CHECK(event.at("message") == "caf\xc3\xa9 \xef\xbf\xbd\xef\xbf\xbd end \"quoted\"\n");
}
