#pragma once
// Running the migrate binary (or any program) as a child process, its output captured.
#include <sys/types.h>

#include <filesystem>
#include <map>
#include <optional>
#include <string>
#include <vector>

namespace support {

struct ProcessResult {
  int exit_code = -1;  // 128 + signal when killed
  std::string out;
  std::string err;
  std::string all() const { return out + err; }
};

class Process {
 public:
  // Starts `argv` with the current environment plus `env`, stdin from /dev/null, in the working
  // directory `cwd` (this process's own when empty).
  Process(const std::vector<std::string>& argv, const std::map<std::string, std::string>& env,
          const std::filesystem::path& cwd = {});
  Process(Process&& other) noexcept;
  ~Process();  // kills and reaps a child still running

  pid_t pid() const { return pid_; }
  void signal(int number);
  ProcessResult wait();
  // The result when the process has ended, without waiting; nothing while it runs.
  std::optional<ProcessResult> poll();
  // Output so far (stdout and stderr).
  std::string output_so_far() const;

 private:
  pid_t pid_ = -1;
  std::filesystem::path out_path_;
  std::filesystem::path err_path_;
};

ProcessResult run(const std::vector<std::string>& argv, const std::map<std::string, std::string>& env = {},
                  const std::filesystem::path& cwd = {});

}  // namespace support
