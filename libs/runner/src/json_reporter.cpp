#include <spdlog/sinks/stdout_sinks.h>
#include <spdlog/spdlog.h>

#include <chrono>
#include <mutex>
#include <nlohmann/json.hpp>

#include "migrate/runner/reporter.hpp"

namespace migrate::runner {
namespace {

// Objects keep their fields in the order written: time_ms and event first, as a reader expects.
using Json = nlohmann::ordered_json;

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
    // The word for a tenant that did what was asked: "migrated", or what the command does instead.
    done_word_ = command == "baseline"   ? "baselined"
                 : command == "dry-run"  ? "would_succeed"
                 : command == "rollback" ? "rolled_back"
                                         : "migrated";
    emit("run_start", {{"command", command}, {"tenants", known_total}});
  }
  void tenant_started(const std::string& slug, int pending) override {
    emit("tenant_start", {{"tenant", slug}, {"pending", pending}});
  }
  void migration_applied(const std::string& slug, const AppliedStep& step) override {
    emit("migration_applied", {{"tenant", slug}, {"migration", step.name}, {"duration_ms", step.duration.count()}});
  }
  void warning(const std::string& slug, const std::string& text) override {
    emit("warning", {{"tenant", slug}, {"message", text}});
  }
  void retrying(const std::string& slug, int attempt, std::chrono::milliseconds delay,
                const std::string& reason) override {
    emit("retry", {{"tenant", slug}, {"attempt", attempt}, {"delay_ms", delay.count()}, {"reason", reason}});
  }
  void tenant_finished(const TenantOutcome& outcome) override {
    if (outcome.state == TenantState::failed) {
      emit("tenant_failed", {{"tenant", outcome.slug},
                             {"reason", outcome.reason},
                             {"attempts", outcome.attempts},
                             {"migrations", outcome.steps.size()},
                             {"batch", outcome.batch},
                             {"duration_ms", outcome.elapsed.count()}});
      return;
    }
    Json fields = {{"tenant", outcome.slug},
                   {"state", outcome.state == TenantState::migrated ? done_word_ : state_name(outcome.state)},
                   {"batch", outcome.batch},
                   {"migrations", outcome.steps.size()},
                   {"duration_ms", outcome.elapsed.count()}};
    if (done_word_ == "would_succeed") fields["not_checked"] = outcome.not_checked;
    emit("tenant_done", fields);
  }
  void run_finished(const FleetSummary& summary) override {
    Json slowest = Json::array();
    for (const auto& outcome : summary.slowest)
      slowest.push_back({{"tenant", outcome.slug}, {"duration_ms", outcome.elapsed.count()}});
    Json failures = Json::array();
    for (const auto& outcome : summary.failures)
      failures.push_back({{"tenant", outcome.slug}, {"reason", outcome.reason}});
    // Each reason once, with every tenant that gave it (the text output names the first few).
    Json groups = Json::array();
    for (const auto& group : summary.failure_groups)
      groups.push_back({{"reason", group.reason}, {"count", group.tenants.size()}, {"tenants", group.tenants}});
    Json interrupted = Json::array();
    for (const auto& outcome : summary.stopped)
      interrupted.push_back(
          {{"tenant", outcome.slug}, {"reason", outcome.reason}, {"migrations", outcome.steps.size()}});
    emit("summary", {{"tenants", summary.total},
                     {done_word_, summary.migrated},
                     {"up_to_date", summary.up_to_date},
                     {"failed", summary.failed},
                     {"skipped", summary.skipped},
                     {"interrupted", summary.interrupted},
                     {"not_started", summary.not_started},
                     {"duration_ms", summary.elapsed.count()},
                     {"slowest", slowest},
                     {"failures", failures},
                     {"failure_groups", groups},
                     {"interrupted_tenants", interrupted},
                     {"not_started_tenants", summary.not_started_slugs},
                     {"listing_error", summary.listing_error}});
  }
  void line(const std::string& text) override { emit("message", {{"message", text}}); }

 private:
  // Writes {"time_ms", "event", then `fields`} as one line. Text that is not valid UTF-8 gets
  // U+FFFD in place of each bad byte rather than making the line fail.
  void emit(const char* event, const Json& fields) {
    const auto now = std::chrono::system_clock::now();
    const auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(now.time_since_epoch()).count();
    Json object = {{"time_ms", ms}, {"event", event}};
    object.update(fields);
    const auto text = object.dump(-1, ' ', false, Json::error_handler_t::replace);
    std::lock_guard lock(mutex_);
    logger_->info(text);
  }

  std::mutex mutex_;
  std::shared_ptr<spdlog::logger> logger_;
  // `migrate baseline`: a tenant done is "baselined", not "migrated". Set before any worker starts.
  std::string done_word_ = "migrated";
};

}  // namespace

std::unique_ptr<Reporter> make_json_reporter() {
  return std::make_unique<JsonReporter>();
}

}  // namespace migrate::runner
