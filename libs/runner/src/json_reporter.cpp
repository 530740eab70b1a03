#include <fmt/format.h>
#include <spdlog/sinks/stdout_sinks.h>
#include <spdlog/spdlog.h>

#include <chrono>
#include <mutex>

#include "migrate/core/text.hpp"
#include "migrate/runner/reporter.hpp"

namespace migrate::runner {
namespace {

std::string quoted(const std::string& text) {
  return "\"" + json_escape(text) + "\"";
}

std::string state_name(TenantState state) {
  switch (state) {
    case TenantState::up_to_date: return "up_to_date";
    case TenantState::migrated: return "migrated";
    case TenantState::failed: return "failed";
    case TenantState::skipped: return "skipped";
    case TenantState::interrupted: return "interrupted";
    case TenantState::not_started: return "not_started";
  }
  return "unknown";
}

class JsonReporter : public Reporter {
 public:
  JsonReporter() {
    logger_ = std::make_shared<spdlog::logger>("migrate-json", std::make_shared<spdlog::sinks::stdout_sink_mt>());
    logger_->set_pattern("%v");
    logger_->flush_on(spdlog::level::trace);
  }

  void run_started(const std::string& command, int known_total) override {
    emit("run_start", fmt::format(R"("command":{},"tenants":{})", quoted(command), known_total));
  }
  void tenant_started(const std::string& slug, int pending) override {
    emit("tenant_start", fmt::format(R"("tenant":{},"pending":{})", quoted(slug), pending));
  }
  void migration_applied(const std::string& slug, const AppliedStep& step) override {
    emit("migration_applied", fmt::format(R"("tenant":{},"migration":{},"duration_ms":{})", quoted(slug),
                                          quoted(step.name), step.duration.count()));
  }
  void warning(const std::string& slug, const std::string& text) override {
    emit("warning", fmt::format(R"("tenant":{},"message":{})", quoted(slug), quoted(text)));
  }
  void retrying(const std::string& slug, int attempt, std::chrono::milliseconds delay,
                const std::string& reason) override {
    emit("retry", fmt::format(R"("tenant":{},"attempt":{},"delay_ms":{},"reason":{})", quoted(slug), attempt,
                              delay.count(), quoted(reason)));
  }
  void tenant_finished(const TenantOutcome& outcome) override {
    if (outcome.state == TenantState::failed) {
      emit("tenant_failed",
           fmt::format(R"("tenant":{},"reason":{},"attempts":{},"migrations":{},"batch":{},"duration_ms":{})",
                       quoted(outcome.slug), quoted(outcome.reason), outcome.attempts, outcome.steps.size(),
                       outcome.batch, outcome.elapsed.count()));
      return;
    }
    emit("tenant_done",
         fmt::format(R"("tenant":{},"state":{},"batch":{},"migrations":{},"duration_ms":{})", quoted(outcome.slug),
                     quoted(state_name(outcome.state)), outcome.batch, outcome.steps.size(), outcome.elapsed.count()));
  }
  void run_finished(const FleetSummary& summary) override {
    std::string failures;
    for (const auto& outcome : summary.failures)
      failures += fmt::format(R"({}{{"tenant":{},"reason":{}}})", failures.empty() ? "" : ",", quoted(outcome.slug),
                              quoted(outcome.reason));
    std::string slowest;
    for (const auto& outcome : summary.slowest)
      slowest += fmt::format(R"({}{{"tenant":{},"duration_ms":{}}})", slowest.empty() ? "" : ",", quoted(outcome.slug),
                             outcome.elapsed.count());
    emit("summary", fmt::format(R"("tenants":{},"migrated":{},"up_to_date":{},"failed":{},"skipped":{},)"
                                R"("duration_ms":{},"slowest":[{}],"failures":[{}])",
                                summary.total, summary.migrated, summary.up_to_date, summary.failed, summary.skipped,
                                summary.elapsed.count(), slowest, failures));
  }
  void line(const std::string& text) override { emit("message", fmt::format(R"("message":{})", quoted(text))); }

 private:
  void emit(const char* event, const std::string& fields) {
    const auto now = std::chrono::system_clock::now();
    const auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(now.time_since_epoch()).count();
    std::lock_guard lock(mutex_);
    logger_->info(fmt::format(R"({{"time_ms":{},"event":"{}",{}}})", ms, event, fields));
  }

  std::mutex mutex_;
  std::shared_ptr<spdlog::logger> logger_;
};

}  // namespace

std::unique_ptr<Reporter> make_json_reporter() {
  return std::make_unique<JsonReporter>();
}

}  // namespace migrate::runner
