#include "support/process.hpp"

#include <fcntl.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <fstream>
#include <sstream>

#include "support/cluster.hpp"

extern char** environ;

namespace support {
namespace {

std::string read_file(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream text;
  text << in.rdbuf();
  return text.str();
}

// Under scripts/sanitize.sh a child's sanitizer report ends it with status 86; whatever status a
// test expects, the report fails the test and is shown.
void fail_on_sanitizer_report(const ProcessResult& result) {
  for (const char* summary : {"SUMMARY: AddressSanitizer", "SUMMARY: LeakSanitizer", "SUMMARY: ThreadSanitizer",
                              "SUMMARY: UndefinedBehaviorSanitizer"})
    if (result.err.find(summary) != std::string::npos) FAIL("the child's sanitizer report:\n" << result.err);
}

}  // namespace

Process::Process(const std::vector<std::string>& argv, const std::map<std::string, std::string>& env,
                 const std::filesystem::path& cwd) {
  const auto base = std::filesystem::temp_directory_path() / unique_name("migrate-proc-");
  out_path_ = base.string() + ".out";
  err_path_ = base.string() + ".err";

  std::map<std::string, std::string> merged;
  for (char** entry = environ; *entry; ++entry) {
    const std::string text = *entry;
    const auto eq = text.find('=');
    if (eq != std::string::npos) merged[text.substr(0, eq)] = text.substr(eq + 1);
  }
  for (const auto& [name, value] : env) merged[name] = value;
  std::vector<std::string> env_text;
  for (const auto& [name, value] : merged) env_text.push_back(name + "=" + value);
  std::vector<char*> env_pointers;
  for (auto& text : env_text) env_pointers.push_back(text.data());
  env_pointers.push_back(nullptr);
  std::vector<std::string> args = argv;
  std::vector<char*> arg_pointers;
  for (auto& arg : args) arg_pointers.push_back(arg.data());
  arg_pointers.push_back(nullptr);

  pid_ = ::fork();
  REQUIRE(pid_ >= 0);
  if (pid_ == 0) {
    const int in = ::open("/dev/null", O_RDONLY);
    const int out = ::open(out_path_.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
    const int err = ::open(err_path_.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
    ::dup2(in, 0);
    ::dup2(out, 1);
    ::dup2(err, 2);
    if (!cwd.empty() && ::chdir(cwd.c_str()) != 0) ::_exit(126);
    ::execve(arg_pointers[0], arg_pointers.data(), env_pointers.data());
    ::_exit(127);
  }
}

Process::Process(Process&& other) noexcept
    : pid_(other.pid_), out_path_(std::move(other.out_path_)), err_path_(std::move(other.err_path_)) {
  other.pid_ = -1;
}

Process::~Process() {
  if (pid_ > 0) {
    ::kill(pid_, SIGKILL);
    ::waitpid(pid_, nullptr, 0);
  }
  std::error_code ignored;
  if (!out_path_.empty()) std::filesystem::remove(out_path_, ignored);
  if (!err_path_.empty()) std::filesystem::remove(err_path_, ignored);
}

void Process::signal(int number) {
  if (pid_ > 0) ::kill(pid_, number);
}

ProcessResult Process::wait() {
  ProcessResult result;
  int status = 0;
  REQUIRE(::waitpid(pid_, &status, 0) == pid_);
  pid_ = -1;
  result.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
  result.out = read_file(out_path_);
  result.err = read_file(err_path_);
  fail_on_sanitizer_report(result);
  return result;
}

std::optional<ProcessResult> Process::poll() {
  int status = 0;
  if (pid_ <= 0 || ::waitpid(pid_, &status, WNOHANG) != pid_) return std::nullopt;
  pid_ = -1;
  ProcessResult result;
  result.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
  result.out = read_file(out_path_);
  result.err = read_file(err_path_);
  fail_on_sanitizer_report(result);
  return result;
}

std::string Process::output_so_far() const {
  return read_file(out_path_) + read_file(err_path_);
}

ProcessResult run(const std::vector<std::string>& argv, const std::map<std::string, std::string>& env,
                  const std::filesystem::path& cwd) {
  return Process(argv, env, cwd).wait();
}

}  // namespace support
