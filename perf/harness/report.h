// Report: how cuckoocache-perf shows results; the runners only produce cells.
//
// Three output formats, chosen once per run, all written to stdout after the run:
//   table  aligned columns for people (default). Ratio tables also show each cell's engine time.
//   csv    RFC 4180: a header row, then one row per cell; fields holding a comma, quote or line
//          break are quoted (mix: workload names contain commas).
//   json   exactly one array, for scripts (perf/report/plot.py reads it):
//            ratio       [{"trace","size","policy","requests","hits","hit_ratio"}, ...]
//            throughput  [{"impl","policy","threads","ops_per_sec","p50_ns","p99_ns","p999_ns"},
//            ...]
//          hit_ratio is in percent. CSV has the same columns as JSON.
// Numbers are formatted with snprintf in the C locale (the program never calls setlocale), so
// the decimal separator is always '.'.
//
// Progress is a one-line bar on stderr, drawn only when stderr is a terminal and only once the
// run has lasted more than a second (short runs and pipes stay silent); it is redrawn at most
// ten times a second and erased when the run ends.
#pragma once

#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "perf/harness/ratio_runner.h"
#include "perf/harness/throughput_runner.h"

namespace cuckoocache::perf::harness {

enum class OutputFormat { kTable, kCsv, kJson };

namespace report_detail {

inline std::string format(const char* fmt, double v) {
  char buf[64];
  std::snprintf(buf, sizeof buf, fmt, v);
  return buf;
}

inline std::string json_string(std::string_view s) {
  std::string out = "\"";
  for (const char ch : s) {
    const auto c = static_cast<unsigned char>(ch);
    if (c == '"' || c == '\\') {
      out += '\\';
      out += ch;
    } else if (c < 0x20) {
      char buf[8];
      std::snprintf(buf, sizeof buf, "\\u%04x", c);
      out += buf;
    } else {
      out += ch;
    }
  }
  return out + "\"";
}

inline std::string csv_field(std::string_view s) {
  if (s.find_first_of(",\"\r\n") == std::string_view::npos) return std::string(s);
  std::string out = "\"";
  for (const char ch : s) {
    if (ch == '"') out += '"';
    out += ch;
  }
  return out + "\"";
}

// A table of strings; columns listed in `right` are right-aligned (numbers).
inline void print_table(std::FILE* out, const std::vector<std::string>& header,
                        const std::vector<std::vector<std::string>>& rows,
                        const std::vector<bool>& right) {
  std::vector<std::size_t> width(header.size());
  for (std::size_t c = 0; c < header.size(); ++c) width[c] = header[c].size();
  for (const auto& row : rows) {
    for (std::size_t c = 0; c < row.size(); ++c) width[c] = std::max(width[c], row[c].size());
  }
  auto line = [&](const std::vector<std::string>& cells) {
    std::string text;
    for (std::size_t c = 0; c < cells.size(); ++c) {
      const std::string pad(width[c] - cells[c].size(), ' ');
      if (c > 0) text += "  ";
      text += right[c] ? pad + cells[c] : cells[c] + (c + 1 < cells.size() ? pad : "");
    }
    std::fprintf(out, "%s\n", text.c_str());
  };
  line(header);
  std::vector<std::string> rule;
  for (const std::size_t w : width) rule.emplace_back(w, '-');
  line(rule);
  for (const auto& row : rows) line(row);
}

inline void print_csv(std::FILE* out, const std::vector<std::string>& header,
                      const std::vector<std::vector<std::string>>& rows) {
  auto line = [&](const std::vector<std::string>& cells) {
    std::string text;
    for (std::size_t c = 0; c < cells.size(); ++c) {
      if (c > 0) text += ',';
      text += csv_field(cells[c]);
    }
    std::fprintf(out, "%s\n", text.c_str());
  };
  line(header);
  for (const auto& row : rows) line(row);
}

// One JSON object per row; `quoted` marks string-valued columns.
inline void print_json(std::FILE* out, const std::vector<std::string>& header,
                       const std::vector<std::vector<std::string>>& rows,
                       const std::vector<bool>& quoted) {
  std::fprintf(out, "[");
  for (std::size_t r = 0; r < rows.size(); ++r) {
    std::string obj = r == 0 ? "\n  {" : ",\n  {";
    for (std::size_t c = 0; c < header.size(); ++c) {
      if (c > 0) obj += ", ";
      obj += json_string(header[c]) + ": " + (quoted[c] ? json_string(rows[r][c]) : rows[r][c]);
    }
    std::fprintf(out, "%s}", obj.c_str());
  }
  std::fprintf(out, rows.empty() ? "]\n" : "\n]\n");
}

}  // namespace report_detail

inline void print_ratio(std::FILE* out, const std::vector<RatioCell>& cells, OutputFormat fmt) {
  using report_detail::format;
  std::vector<std::vector<std::string>> rows;
  const bool table = fmt == OutputFormat::kTable;
  for (const RatioCell& c : cells) {
    rows.push_back({c.trace, std::to_string(c.size), c.policy, std::to_string(c.requests),
                    std::to_string(c.hits), format(table ? "%.2f" : "%.4f", c.hit_ratio())});
    if (table) rows.back().push_back(format("%.1f", c.seconds * 1000.0));
  }
  switch (fmt) {
    case OutputFormat::kTable:
      report_detail::print_table(out,
                                 {"trace", "size", "policy", "requests", "hits", "hit%", "time_ms"},
                                 rows, {false, true, false, true, true, true, true});
      break;
    case OutputFormat::kCsv:
      report_detail::print_csv(out, {"trace", "size", "policy", "requests", "hits", "hit_ratio"},
                               rows);
      break;
    case OutputFormat::kJson:
      report_detail::print_json(out, {"trace", "size", "policy", "requests", "hits", "hit_ratio"},
                                rows, {true, false, true, false, false, false});
      break;
  }
}

inline void print_throughput(std::FILE* out, const std::vector<ThroughputCell>& cells,
                             OutputFormat fmt) {
  using report_detail::format;
  std::vector<std::vector<std::string>> rows;
  const bool table = fmt == OutputFormat::kTable;
  for (const ThroughputCell& c : cells) {
    rows.push_back({c.impl, c.policy, std::to_string(c.threads),
                    format(table ? "%.0f" : "%.1f", c.ops_per_sec), std::to_string(c.p50_ns),
                    std::to_string(c.p99_ns), std::to_string(c.p999_ns)});
    if (table) {
      rows.back().push_back(format("%.1f", c.read_hit_ratio()));
      if (!c.complete) rows.back().back() += " (interrupted)";
    }
  }
  const std::vector<std::string> fields = {"impl",   "policy", "threads", "ops_per_sec",
                                           "p50_ns", "p99_ns", "p999_ns"};
  switch (fmt) {
    case OutputFormat::kTable: {
      std::vector<std::string> header = fields;
      header.emplace_back("read_hit%");
      report_detail::print_table(out, header, rows,
                                 {false, false, true, true, true, true, true, true});
      break;
    }
    case OutputFormat::kCsv:
      report_detail::print_csv(out, fields, rows);
      break;
    case OutputFormat::kJson:
      report_detail::print_json(out, fields, rows, {true, true, false, false, false, false, false});
      break;
  }
}

// A progress bar on stderr (see the top of this file). Not thread-safe: call from one thread.
class Progress {
 public:
  Progress(std::string label, double total)
      : label_(std::move(label)),
        total_(total > 0 ? total : 1.0),
        enabled_(::isatty(STDERR_FILENO) == 1),
        start_(Clock::now()),
        last_draw_(start_) {}

  Progress(const Progress&) = delete;
  Progress& operator=(const Progress&) = delete;
  ~Progress() { finish(); }

  void advance(double work) {
    done_ += work;
    if (!enabled_) return;
    const auto now = Clock::now();
    if (now - start_ < std::chrono::seconds(1) ||
        (drawn_ && now - last_draw_ < std::chrono::milliseconds(100))) {
      return;
    }
    last_draw_ = now;
    draw(now);
  }

  // Erases the bar if it was drawn.
  void finish() {
    if (drawn_) std::fprintf(stderr, "\r\033[K");
    std::fflush(stderr);
    drawn_ = false;
  }

 private:
  using Clock = std::chrono::steady_clock;

  void draw(Clock::time_point now) {
    constexpr int kWidth = 30;
    const double frac = std::clamp(done_ / total_, 0.0, 1.0);
    const int filled = static_cast<int>(frac * kWidth);
    const double elapsed = std::chrono::duration<double>(now - start_).count();
    std::string bar(static_cast<std::size_t>(filled), '#');
    bar.append(static_cast<std::size_t>(kWidth - filled), '.');
    std::string eta;
    if (frac > 0.01) eta = report_detail::format("  ~%.0fs left", elapsed * (1.0 - frac) / frac);
    std::fprintf(stderr, "\r\033[K%s [%s] %3.0f%%%s", label_.c_str(), bar.c_str(), frac * 100.0,
                 eta.c_str());
    std::fflush(stderr);
    drawn_ = true;
  }

  std::string label_;
  double total_;
  double done_ = 0.0;
  bool enabled_;
  bool drawn_ = false;
  Clock::time_point start_;
  Clock::time_point last_draw_;
};

}  // namespace cuckoocache::perf::harness
