#include <fmt/format.h>
#include <spdlog/sinks/stdout_sinks.h>
#include <spdlog/spdlog.h>

#include <condition_variable>
#include <cstdio>
#include <mutex>
#include <thread>

#include "migrate/core/printable.hpp"
#include "migrate/core/text.hpp"
#include "migrate/runner/reporter.hpp"

namespace migrate::runner {
namespace {

using Clock = std::chrono::steady_clock;

std::string seconds_text(double seconds) {
  if (seconds < 60) return fmt::format("{:.1f}s", seconds);
  return fmt::format("{}m{:02}s", static_cast<int>(seconds) / 60, static_cast<int>(seconds) % 60);
}

std::string ms_text(std::chrono::milliseconds ms) {
  if (ms.count() < 1000) return fmt::format("{} ms", ms.count());
  return seconds_text(static_cast<double>(ms.count()) / 1000.0);
}

class TextReporter : public Reporter {
 public:
  TextReporter(bool terminal, bool verbose, std::chrono::seconds progress_every)
      : terminal_(terminal), verbose_(verbose), progress_every_(progress_every) {
    logger_ = std::make_shared<spdlog::logger>("migrate", std::make_shared<spdlog::sinks::stdout_sink_mt>());
    logger_->set_pattern("%v");
    logger_->flush_on(spdlog::level::trace);
  }
  ~TextReporter() override { stop_ticker(); }

  void run_started(const std::string& command, int known_total) override {
    std::lock_guard lock(mutex_);
    total_ = known_total;
    command_ = command;
    start_ = Clock::now();
    print(fmt::format("{}: {} tenant{}", command, known_total, known_total == 1 ? "" : "s"));
    if (known_total > 1 || terminal_) ticker_ = std::thread([this] { tick(); });
  }
  void tenant_started(const std::string& slug, int pending) override {
    std::lock_guard lock(mutex_);
    print(fmt::format("{}: {} pending", slug, pending));
  }
  void migration_applied(const std::string& slug, const AppliedStep& step) override {
    std::lock_guard lock(mutex_);
    print(fmt::format("{}:   {} ({})", slug, step.name, ms_text(step.duration)));
  }
  void warning(const std::string& slug, const std::string& text) override {
    std::lock_guard lock(mutex_);
    print(fmt::format("{}: warning: {}", slug, text));
  }
  void retrying(const std::string& slug, int attempt, std::chrono::milliseconds delay,
                const std::string& reason) override {
    std::lock_guard lock(mutex_);
    print(fmt::format("{}: attempt {} failed, retrying in {}: {}", slug, attempt, ms_text(delay), reason));
  }
  void tenant_finished(const TenantOutcome& outcome) override {
    std::lock_guard lock(mutex_);
    ++done_;
    switch (outcome.state) {
      case TenantState::migrated:
        if (baseline())
          print(fmt::format("{}: baselined, batch {}, {} migration{} recorded as applied without running them",
                            outcome.slug, outcome.batch, outcome.steps.size(), outcome.steps.size() == 1 ? "" : "s"));
        else if (dry_run() && outcome.steps.empty())
          print(fmt::format("{}: not checked: {} migration{} cannot be tried in a transaction", outcome.slug,
                            outcome.not_checked, outcome.not_checked == 1 ? "" : "s"));
        else if (dry_run())
          print(fmt::format("{}: would succeed: {} migration{} applied and rolled back in {}{}", outcome.slug,
                            outcome.steps.size(), outcome.steps.size() == 1 ? "" : "s", ms_text(outcome.elapsed),
                            outcome.not_checked ? fmt::format(", {} not checked", outcome.not_checked) : ""));
        else if (rollback())
          print(fmt::format("{}: rolled back {} migration{} in {}", outcome.slug, outcome.steps.size(),
                            outcome.steps.size() == 1 ? "" : "s", ms_text(outcome.elapsed)));
        else
          print(fmt::format("{}: done, batch {}, {} migration{} in {}", outcome.slug, outcome.batch,
                            outcome.steps.size(), outcome.steps.size() == 1 ? "" : "s", ms_text(outcome.elapsed)));
        break;
      case TenantState::failed:
        ++failed_;
        if (dry_run())
          print(fmt::format("{}: WOULD FAIL: {}", outcome.slug, outcome.reason));
        else if (outcome.steps.empty())
          print(fmt::format("{}: FAILED: {}", outcome.slug, outcome.reason));
        else
          print(fmt::format("{}: FAILED after {} {} migration{} (batch {}): {}", outcome.slug,
                            rollback() ? "rolling back" : "applying", outcome.steps.size(),
                            outcome.steps.size() == 1 ? "" : "s", outcome.batch, outcome.reason));
        break;
      case TenantState::interrupted:
        print(
            fmt::format("{}: {}; {}", outcome.slug, outcome.reason,
                        outcome.steps.empty()
                            ? std::string("rolled back, nothing of this run applied")
                            : fmt::format("{} migration{} committed before (batch {}), the rest rolled back",
                                          outcome.steps.size(), outcome.steps.size() == 1 ? "" : "s", outcome.batch)));
        break;
      case TenantState::not_started: break;
      case TenantState::up_to_date:
        if (verbose_) print(fmt::format("{}: {}", outcome.slug, rollback() ? "nothing to roll back" : "up to date"));
        break;
      case TenantState::skipped:
        if (verbose_) print(fmt::format("{}: skipped, another replica is on it", outcome.slug));
        break;
    }
    if (terminal_) draw_progress();
  }
  void run_finished(const FleetSummary& summary) override {
    stop_ticker();
    std::lock_guard lock(mutex_);
    clear_progress();
    finished_ = true;  // the summary replaces the progress line
    std::string more;
    if (summary.skipped) more += fmt::format(", {} left to other replicas", summary.skipped);
    if (summary.interrupted) more += fmt::format(", {} interrupted", summary.interrupted);
    if (summary.not_started) more += fmt::format(", {} not started", summary.not_started);
    const char* done = baseline() ? "baselined" : dry_run() ? "would succeed" : rollback() ? "rolled back" : "migrated";
    print(fmt::format("Summary: {} tenant{} in {}: {} {}, {} {}, {} {}{}", summary.total, summary.total == 1 ? "" : "s",
                      ms_text(summary.elapsed), summary.migrated, done, summary.up_to_date,
                      rollback() ? "with nothing to roll back" : "up to date", summary.failed,
                      dry_run() ? "would fail" : "failed", more));
    if (summary.total > 1 && !summary.slowest.empty()) {
      std::string slowest;
      for (const auto& outcome : summary.slowest)
        slowest += fmt::format("{}{} ({})", slowest.empty() ? "" : ", ", outcome.slug, ms_text(outcome.elapsed));
      print("Slowest: " + slowest);
    }
    print_failure_groups(summary);
    if (!summary.stopped.empty()) {
      std::string names;
      for (const auto& outcome : summary.stopped) names += (names.empty() ? "" : ", ") + outcome.slug;
      print("Interrupted: " + names);
    }
    if (summary.not_started > 0) {
      std::string names;
      for (const auto& slug : summary.not_started_slugs) names += (names.empty() ? "" : ", ") + slug;
      const auto unnamed = summary.not_started - static_cast<int>(summary.not_started_slugs.size());
      if (unnamed > 0) names += fmt::format("{}{} more", names.empty() ? "" : " and ", unnamed);
      print("Not started: " + names);
    }
    if (!summary.listing_error.empty()) print("The tenant list could not be read to the end: " + summary.listing_error);
  }
  void line(const std::string& text) override {
    std::lock_guard lock(mutex_);
    print(text);
  }

 private:
  bool baseline() const { return command_ == "baseline"; }
  bool dry_run() const { return command_ == "dry-run"; }
  bool rollback() const { return command_ == "rollback"; }

  // Each reason once, with how many tenants gave it and the first few of them: fifty tenants
  // missing one file read as one line and a list, not fifty lines.
  void print_failure_groups(const FleetSummary& summary) {
    const auto& groups = summary.failure_groups;
    if (groups.empty()) return;
    const auto group_line = [](const FailureGroup& group) {
      if (group.tenants.size() == 1) return fmt::format("{}: {}", group.tenants.front(), group.reason);
      return fmt::format("{} with: {}", group.tenants.size(), group.reason);
    };
    const auto print_tenants = [&](const FailureGroup& group) {
      if (group.tenants.size() > 1) print("    " + shortened_list(group.tenants));
    };
    const std::string heading = fmt::format("Failed tenants ({})", summary.failed);
    if (groups.size() == 1) {
      print(heading + ": " + group_line(groups.front()));
      print_tenants(groups.front());
      return;
    }
    print(fmt::format("{}, {} reasons:", heading, groups.size()));
    for (const auto& group : groups) {
      print("  " + group_line(group));
      print_tenants(group);
    }
  }

  // Prints `text` as its own line; on a terminal the progress line is cleared first and redrawn.
  // Every line goes through printable(): the data in it (slugs, migration names, warnings, reasons
  // with PostgreSQL's messages) can neither start a line of its own nor reach the terminal raw.
  void print(const std::string& text) {
    clear_progress();
    logger_->info(printable(text));
    if (terminal_ && progress_drawn_once_ && !finished_) draw_progress();
  }
  void clear_progress() {
    if (terminal_ && progress_shown_) {
      std::fputs("\r\033[K", stdout);
      progress_shown_ = false;
    }
  }
  std::string progress_text() const {
    const double elapsed = std::chrono::duration<double>(Clock::now() - start_).count();
    const double rate = elapsed > 0 ? done_ / elapsed : 0;
    std::string eta = "?";
    if (rate > 0 && total_ >= done_) eta = seconds_text((total_ - done_) / rate);
    return fmt::format("progress: {}/{} done, {} failed, {:.1f} tenants/s, elapsed {}, ETA {}", done_, total_, failed_,
                       rate, seconds_text(elapsed), eta);
  }
  void draw_progress() {
    std::fputs(("\r\033[K" + progress_text()).c_str(), stdout);
    std::fflush(stdout);
    progress_shown_ = true;
    progress_drawn_once_ = true;
  }
  void tick() {
    const auto period = terminal_ ? std::chrono::milliseconds(250) : std::chrono::milliseconds(progress_every_);
    std::unique_lock lock(mutex_);
    while (!stopping_) {
      if (stop_ticking_.wait_for(lock, period, [&] { return stopping_; })) break;
      if (terminal_)
        draw_progress();
      else
        logger_->info(progress_text());
    }
  }
  void stop_ticker() {
    {
      std::lock_guard lock(mutex_);
      stopping_ = true;
    }
    stop_ticking_.notify_all();
    if (ticker_.joinable()) ticker_.join();
  }

  bool terminal_;
  bool verbose_;
  std::chrono::seconds progress_every_;
  std::shared_ptr<spdlog::logger> logger_;
  std::mutex mutex_;
  std::condition_variable stop_ticking_;
  std::thread ticker_;
  bool stopping_ = false;
  bool progress_shown_ = false;
  bool progress_drawn_once_ = false;
  bool finished_ = false;
  Clock::time_point start_ = Clock::now();
  std::string command_;
  int total_ = 0;
  int done_ = 0;
  int failed_ = 0;
};

}  // namespace

std::unique_ptr<Reporter> make_text_reporter(bool terminal, bool verbose, std::chrono::seconds progress_every) {
  return std::make_unique<TextReporter>(terminal, verbose, progress_every);
}

}  // namespace migrate::runner
