#pragma once
// Where a run tells what it does. Implementations are thread-safe: fleet workers call them at once.
#include <chrono>
#include <memory>
#include <string>

#include "migrate/runner/outcome.hpp"

namespace migrate::runner {

class Reporter {
 public:
  virtual ~Reporter() = default;
  virtual void run_started(const std::string& command, int known_total) = 0;
  virtual void tenant_started(const std::string& slug, int pending) = 0;
  virtual void migration_applied(const std::string& slug, const AppliedStep& step) = 0;
  virtual void warning(const std::string& slug, const std::string& text) = 0;
  virtual void retrying(const std::string& slug, int attempt, std::chrono::milliseconds delay,
                        const std::string& reason) = 0;
  virtual void tenant_finished(const TenantOutcome& outcome) = 0;
  virtual void run_finished(const FleetSummary& summary) = 0;
  // A free-form line for one-tenant commands (status tables and the like).
  virtual void line(const std::string& text) = 0;
};

enum class LogFormat { text, json };

// Human-readable lines. On a terminal, one live progress line sits below the per-tenant lines
// and tenants with nothing to do are counted, not listed; elsewhere a progress line is printed
// every `progress_every`. `verbose` lists up-to-date tenants too (one-tenant commands).
std::unique_ptr<Reporter> make_text_reporter(bool terminal, bool verbose,
                                             std::chrono::seconds progress_every = std::chrono::seconds(5));
// One JSON object per line and event, for log pipelines.
std::unique_ptr<Reporter> make_json_reporter();

}  // namespace migrate::runner
