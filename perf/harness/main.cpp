// cuckoocache-perf: command-line front end of the perf harness.
//
// This file only parses arguments, wires the pieces together and maps failures to exit codes;
// workload.h generates keys, ratio_runner.h / throughput_runner.h measure, report.h prints.
// Arguments are parsed by hand (no dependency beyond the engine and zlib). Every input is
// checked, every trace loaded and every workload generated before anything runs, so bad input
// leaves stdout empty. Exit codes:
//   0    success (and --help)
//   1    failure while running (out of memory, ...)
//   2    bad input: one line "cuckoocache-perf: error: ..." on stderr; also no arguments
//        (usage on stdout)
//   130  interrupted by SIGINT: the cells completed so far are printed, then a note on stderr
// Results go to stdout only at the end of a run; progress goes to stderr (report.h).
#include <algorithm>
#include <atomic>
#include <cerrno>
#include <charconv>
#include <cmath>
#include <csignal>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <exception>
#include <new>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <system_error>
#include <utility>
#include <vector>

#include "engine/cache_config.h"
#include "perf/harness/ratio_runner.h"
#include "perf/harness/report.h"
#include "perf/harness/throughput_runner.h"
#include "perf/harness/workload.h"
#include "perf/trace.h"

namespace {

namespace harness = cuckoocache::perf::harness;
using harness::OutputFormat;

constexpr const char* kUsage = R"(usage:
  cuckoocache-perf ratio (--trace FILE [--format auto|keys|lirs|arc] | --workload SPEC
                         [--keys N] [--requests N] [--seed N]) --sizes N[,N...]
                         [--policies P[,P...]] [--json | --csv]
  cuckoocache-perf throughput --threads N[,N...] [--workload SPEC] [--read-ratio R]
                         [--entries N] [--keys N] [--seed N] [--duration S]
                         [--policies P[,P...]] [--impls I[,I...]] [--json | --csv]
                         [--export-keys DIR]
  cuckoocache-perf --help

ratio: replays each key sequence, single-threaded and from a cold start, through each policy
at each cache size and reports hits. --trace and --workload may each be given several times.
  --trace FILE       a trace file, plain or gzip (keys, lirs or arc format)
  --format F         format of every --trace: auto (from the file name, default), keys, lirs, arc
  --workload SPEC    a synthetic workload (syntax below)
  --keys N           key space of the workloads (default 100000)
  --requests N       requests per workload (default 1000000)
  --seed N           generator seed (default 1)
  --sizes N,...      cache sizes in entries (required, each >= 1)
  --policies P,...   lru, lfu, ttl, adaptive (the engine), exact-lru, exact-lfu, opt (exact
                     reference models); default: all of them

throughput: ops/s and sampled latency percentiles with 1, 2, ... threads. Each op is a read
(probability R) or a write of a key from the workload; no fill on a read miss.
  --threads N,...    thread counts (required)
  --workload SPEC    key distribution (default zipf:0.99)
  --read-ratio R     share of reads, in [0, 1] (default 0.9)
  --entries N        cache capacity, and the warm-up fill (default 100000)
  --keys N           key space (default 2 * entries)
  --seed N           generator seed (default 1)
  --duration S       seconds per measurement, decimals allowed (default 2)
  --policies P,...   engine policies: lru, lfu, ttl, adaptive (default: all four)
  --impls I,...      engine (once per policy), libcuckoo (raw map, no eviction), mutex-lru
                     (exact LRU behind one mutex); default: all three
  --export-keys DIR  measure nothing: write each worker's key array (worker 0 up to the largest
                     --threads) to DIR/keys-<worker>.u64, little-endian uint64s, for the peer
                     harnesses in perf/peers/

output: an aligned table (default), --csv, or --json:
  ratio       [{"trace","size","policy","requests","hits","hit_ratio"}]  (hit_ratio in %)
  throughput  [{"impl","policy","threads","ops_per_sec","p50_ns","p99_ns","p999_ns"}]

workload SPEC (keys in [0, K) where K is --keys, unless said otherwise):
  zipf:S             Zipf with exponent S in [0, 10]; key 0 is the hottest
  uniform            uniform over [0, K)
  scan:LEN[:GAP]     zipf:0.99 hot set, and after every GAP hot requests (default 4*LEN) a scan
                     of LEN keys never requested before (K, K+1, ...)
  loop:LEN           0, 1, ..., LEN-1, 0, 1, ... (K unused)
  mix:P[@N],P[@N]... phases of N requests (default 10000) from each part in turn, e.g.
                     mix:zipf:0.9@50000,scan:1000@20000

A progress bar is drawn on stderr when it is a terminal and the run lasts over a second.
Ctrl-C stops the run and prints the results completed so far (exit 130).
)";

// Bad command-line input: exit 2.
class UsageError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

std::atomic<bool> g_stop{false};
static_assert(std::atomic<bool>::is_always_lock_free, "the SIGINT handler stores to g_stop");

extern "C" void on_sigint(int /*signal*/) {
  g_stop.store(true, std::memory_order_relaxed);
}

void install_sigint_handler() {
  struct sigaction action;
  std::memset(&action, 0, sizeof action);
  action.sa_handler = on_sigint;
  sigemptyset(&action.sa_mask);
  action.sa_flags = SA_RESETHAND;  // a second Ctrl-C kills the process the usual way
  sigaction(SIGINT, &action, nullptr);
}

// ---- Value parsing ------------------------------------------------------------------------

std::vector<std::string_view> split_list(std::string_view option, std::string_view text) {
  std::vector<std::string_view> out;
  for (;;) {
    const auto comma = text.find(',');
    const std::string_view item = text.substr(0, comma);
    if (item.empty()) throw UsageError(std::string(option) + ": empty item in list");
    out.push_back(item);
    if (comma == std::string_view::npos) return out;
    text.remove_prefix(comma + 1);
  }
}

std::uint64_t parse_u64(std::string_view option, std::string_view text, std::uint64_t min,
                        std::uint64_t max) {
  std::uint64_t v = 0;
  const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), v);
  if (text.empty() || end != text.data() + text.size() ||
      (ec != std::errc() && ec != std::errc::result_out_of_range)) {
    throw UsageError(std::string(option) + ": expected a non-negative integer, got '" +
                     std::string(text) + "'");
  }
  if (ec == std::errc::result_out_of_range || v > max) {
    throw UsageError(std::string(option) + ": " + std::string(text) + " is too large (at most " +
                     std::to_string(max) + ")");
  }
  if (v < min) {
    throw UsageError(std::string(option) + ": must be at least " + std::to_string(min) + ", got " +
                     std::string(text));
  }
  return v;
}

double parse_double(std::string_view option, std::string_view text, double min, double max) {
  double v = 0;
  const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), v);
  if (text.empty() || end != text.data() + text.size() || ec != std::errc() || !std::isfinite(v)) {
    throw UsageError(std::string(option) + ": expected a number, got '" + std::string(text) + "'");
  }
  if (v < min || v > max) {
    throw UsageError(std::string(option) + ": " + std::string(text) + " is out of range [" +
                     harness::report_detail::format("%g", min) + ", " +
                     harness::report_detail::format("%g", max) + "]");
  }
  return v;
}

// ---- Argument reading ---------------------------------------------------------------------

// Walks argv: `--name value`, `--name=value` and bare flags.
class ArgReader {
 public:
  ArgReader(int argc, char** argv, int first) : argv_(argv + first, argv + argc) {}

  // Next option name (with its dashes), or false at the end.
  bool next(std::string_view& name) {
    if (pos_ >= argv_.size()) return false;
    std::string_view arg = argv_[pos_++];
    inline_value_.reset();
    if (!arg.starts_with("-") || arg == "-" || arg == "--") {
      throw UsageError("unexpected argument '" + std::string(arg) + "'");
    }
    if (const auto eq = arg.find('='); arg.starts_with("--") && eq != std::string_view::npos) {
      inline_value_ = arg.substr(eq + 1);
      arg = arg.substr(0, eq);
    }
    name = arg;
    return true;
  }

  std::string_view value(std::string_view name) {
    if (inline_value_) return *inline_value_;
    if (pos_ >= argv_.size()) throw UsageError(std::string(name) + " needs a value");
    return argv_[pos_++];
  }

  // For flags: rejects --flag=value.
  void no_value(std::string_view name) const {
    if (inline_value_) throw UsageError(std::string(name) + " takes no value");
  }

 private:
  std::vector<std::string_view> argv_;
  std::size_t pos_ = 0;
  std::optional<std::string_view> inline_value_;
};

struct Common {
  OutputFormat format = OutputFormat::kTable;
  bool format_set = false;
  bool help = false;

  // Handles --json, --csv, --help; returns false for other options.
  bool take(std::string_view name, ArgReader& args) {
    if (name == "--help" || name == "-h") {
      help = true;
    } else if (name == "--json" || name == "--csv") {
      args.no_value(name);
      const OutputFormat f = name == "--json" ? OutputFormat::kJson : OutputFormat::kCsv;
      if (format_set && format != f) throw UsageError("--json and --csv are exclusive");
      format = f;
      format_set = true;
    } else {
      return false;
    }
    return true;
  }
};

std::string trace_name(std::string_view path) {
  if (const auto slash = path.rfind('/'); slash != std::string_view::npos) {
    path.remove_prefix(slash + 1);
  }
  if (path.ends_with(".gz")) path.remove_suffix(3);
  for (std::string_view ext : {".lis", ".lirs", ".keys", ".txt", ".trace"}) {
    if (path.ends_with(ext) && path.size() > ext.size()) {
      path.remove_suffix(ext.size());
      break;
    }
  }
  return std::string(path);
}

constexpr std::uint64_t kMaxCacheSize = cuckoocache::kMaxCacheSize;
constexpr std::uint64_t kMaxRequests = std::uint64_t{1} << 28;

// ---- ratio --------------------------------------------------------------------------------

int run_ratio(ArgReader& args) {
  Common common;
  std::vector<std::string> traces;
  std::vector<std::string> workloads;
  cuckoocache::perf::TraceFormat format = cuckoocache::perf::TraceFormat::kAuto;
  std::uint64_t keys = 100000;
  std::uint64_t requests = 1000000;
  std::uint64_t seed = 1;
  std::vector<std::size_t> sizes;
  std::vector<harness::RatioPolicy> policies;
  bool sizes_set = false;
  bool workload_options = false;

  std::string_view name;
  while (args.next(name)) {
    if (common.take(name, args)) continue;
    if (name == "--trace") {
      traces.emplace_back(args.value(name));
    } else if (name == "--format") {
      format = cuckoocache::perf::parse_trace_format(args.value(name));
    } else if (name == "--workload") {
      workloads.emplace_back(args.value(name));
    } else if (name == "--keys") {
      keys = parse_u64(name, args.value(name), 1, harness::kMaxWorkloadKeys);
      workload_options = true;
    } else if (name == "--requests") {
      requests = parse_u64(name, args.value(name), 1, kMaxRequests);
      workload_options = true;
    } else if (name == "--seed") {
      seed = parse_u64(name, args.value(name), 0, UINT64_MAX);
      workload_options = true;
    } else if (name == "--sizes") {
      sizes.clear();
      for (std::string_view item : split_list(name, args.value(name))) {
        sizes.push_back(parse_u64("--sizes", item, 1, kMaxCacheSize));
      }
      sizes_set = true;
    } else if (name == "--policies") {
      policies.clear();
      for (std::string_view item : split_list(name, args.value(name))) {
        try {
          policies.push_back(harness::parse_ratio_policy(item));
        } catch (const std::invalid_argument& e) {
          throw UsageError(std::string("--policies: ") + e.what());
        }
      }
    } else {
      throw UsageError("ratio: unknown option '" + std::string(name) + "' (see --help)");
    }
  }
  if (common.help) {
    std::fputs(kUsage, stdout);
    return 0;
  }
  if (traces.empty() && workloads.empty()) {
    throw UsageError("ratio needs --trace FILE or --workload SPEC");
  }
  if (workload_options && workloads.empty()) {
    throw UsageError("--keys, --requests and --seed apply to --workload only");
  }
  if (!sizes_set) throw UsageError("ratio needs --sizes N[,N...]");
  if (policies.empty()) {
    for (std::string_view p : split_list("--policies", harness::kRatioPolicyNames)) {
      if (p.starts_with(' ')) p.remove_prefix(1);
      policies.push_back(harness::parse_ratio_policy(p));
    }
  }

  // Load and generate everything before running: bad input must fail before any output.
  std::vector<harness::KeySequence> sequences;
  for (const std::string& path : traces) {
    std::vector<std::uint64_t> keys_of_trace = cuckoocache::perf::load_trace(path, format);
    // A hit ratio of an empty trace is 0/0: say so rather than print 0.00.
    if (keys_of_trace.empty()) throw UsageError("trace '" + path + "' holds no requests");
    sequences.push_back({trace_name(path), std::move(keys_of_trace)});
  }
  for (const std::string& text : workloads) {
    const harness::WorkloadSpec spec = harness::parse_workload(text);
    sequences.push_back({text, harness::generate_keys(spec, keys, requests, seed)});
  }

  install_sigint_handler();
  harness::Progress progress("ratio", static_cast<double>(harness::RatioRunner::total_work(
                                          sequences, sizes.size(), policies.size())));
  harness::RatioRunner runner(
      {&g_stop, [&progress](std::uint64_t n) { progress.advance(static_cast<double>(n)); }});
  std::vector<harness::RatioCell> cells;
  const bool complete = runner.run(sequences, sizes, policies, cells);
  progress.finish();
  harness::print_ratio(stdout, cells, common.format);
  std::fflush(stdout);
  if (!complete) {
    std::fprintf(stderr, "cuckoocache-perf: interrupted; printed the %zu completed cells\n",
                 cells.size());
    return 130;
  }
  return 0;
}

// ---- throughput ---------------------------------------------------------------------------

// --export-keys: the key arrays of workers 0..max(--threads)-1 as DIR/keys-<worker>.u64.
int export_keys(const harness::ThroughputConfig& config, const std::string& dir) {
  const unsigned workers = *std::max_element(config.threads.begin(), config.threads.end());
  for (unsigned w = 0; w < workers; ++w) {
    const std::vector<std::uint64_t> keys = harness::ThroughputRunner::worker_keys(config, w);
    std::vector<unsigned char> bytes(keys.size() * 8);
    for (std::size_t i = 0; i < keys.size(); ++i) {
      for (unsigned b = 0; b < 8; ++b)
        bytes[i * 8 + b] = static_cast<unsigned char>(keys[i] >> (8 * b));
    }
    const std::string path = dir + "/keys-" + std::to_string(w) + ".u64";
    std::FILE* f = std::fopen(path.c_str(), "wb");
    if (f == nullptr) {
      throw UsageError("--export-keys: cannot write '" + path + "': " + std::strerror(errno));
    }
    const bool ok = std::fwrite(bytes.data(), 1, bytes.size(), f) == bytes.size();
    if (std::fclose(f) != 0 || !ok) {
      throw std::runtime_error("--export-keys: write to '" + path + "' failed");
    }
  }
  std::fprintf(stderr, "cuckoocache-perf: wrote %u key arrays of %zu keys to %s\n", workers,
               harness::ThroughputRunner::kKeysPerThread, dir.c_str());
  return 0;
}

int run_throughput(ArgReader& args) {
  Common common;
  harness::ThroughputConfig config;
  std::string workload = "zipf:0.99";
  bool threads_set = false;
  bool keys_set = false;
  std::string export_dir;

  std::string_view name;
  while (args.next(name)) {
    if (common.take(name, args)) continue;
    if (name == "--threads") {
      config.threads.clear();
      for (std::string_view item : split_list(name, args.value(name))) {
        config.threads.push_back(static_cast<unsigned>(parse_u64(name, item, 1, 1024)));
      }
      threads_set = true;
    } else if (name == "--workload") {
      workload = std::string(args.value(name));
    } else if (name == "--read-ratio") {
      config.read_ratio = parse_double(name, args.value(name), 0.0, 1.0);
    } else if (name == "--entries") {
      config.entries = parse_u64(name, args.value(name), 1, kMaxCacheSize);
    } else if (name == "--keys") {
      config.keys = parse_u64(name, args.value(name), 1, harness::kMaxWorkloadKeys);
      keys_set = true;
    } else if (name == "--seed") {
      config.seed = parse_u64(name, args.value(name), 0, UINT64_MAX);
    } else if (name == "--duration") {
      config.duration_s = parse_double(name, args.value(name), 0.001, 3600.0);
    } else if (name == "--policies") {
      config.policies.clear();
      for (std::string_view item : split_list(name, args.value(name))) {
        try {
          config.policies.push_back(cuckoocache::parse_policy(item));
        } catch (const std::invalid_argument& e) {
          throw UsageError(std::string("--policies: ") + e.what() +
                           "; throughput measures engine policies only");
        }
      }
    } else if (name == "--export-keys") {
      export_dir = std::string(args.value(name));
      if (export_dir.empty()) throw UsageError("--export-keys needs a directory");
    } else if (name == "--impls") {
      config.impls.clear();
      for (std::string_view item : split_list(name, args.value(name))) {
        try {
          config.impls.push_back(harness::parse_impl(item));
        } catch (const std::invalid_argument& e) {
          throw UsageError(std::string("--impls: ") + e.what());
        }
      }
    } else {
      throw UsageError("throughput: unknown option '" + std::string(name) + "' (see --help)");
    }
  }
  if (common.help) {
    std::fputs(kUsage, stdout);
    return 0;
  }
  if (!threads_set) throw UsageError("throughput needs --threads N[,N...]");
  if (!keys_set)
    config.keys = std::min<std::uint64_t>(2 * config.entries, harness::kMaxWorkloadKeys);
  config.workload = harness::parse_workload(workload);
  if (!export_dir.empty()) return export_keys(config, export_dir);

  install_sigint_handler();
  harness::Progress progress(
      "throughput",
      static_cast<double>(harness::ThroughputRunner::cell_count(config)) * config.duration_s);
  harness::ThroughputRunner runner(std::move(config),
                                   {&g_stop, [&progress](double s) { progress.advance(s); }});
  std::vector<harness::ThroughputCell> cells;
  const bool complete = runner.run(cells);
  progress.finish();
  harness::print_throughput(stdout, cells, common.format);
  std::fflush(stdout);
  if (!complete) {
    std::fprintf(stderr, "cuckoocache-perf: interrupted; printed the %zu cells measured\n",
                 cells.size());
    return 130;
  }
  return 0;
}

int run(int argc, char** argv) {
  if (argc < 2) {
    std::fputs(kUsage, stdout);
    return 2;
  }
  const std::string_view command = argv[1];
  if (command == "--help" || command == "-h" || command == "help") {
    std::fputs(kUsage, stdout);
    return 0;
  }
  ArgReader args(argc, argv, 2);
  if (command == "ratio") return run_ratio(args);
  if (command == "throughput") return run_throughput(args);
  throw UsageError("unknown command '" + std::string(command) +
                   "' (expected ratio or throughput; see --help)");
}

}  // namespace

int main(int argc, char** argv) {
  constexpr const char* kPrefix = "cuckoocache-perf: error: ";
  try {
    return run(argc, argv);
  } catch (const UsageError& e) {
    std::fprintf(stderr, "%s%s\n", kPrefix, e.what());
  } catch (const cuckoocache::perf::TraceError& e) {
    std::fprintf(stderr, "%s%s\n", kPrefix, e.what());
  } catch (const harness::WorkloadError& e) {
    std::fprintf(stderr, "%s%s\n", kPrefix, e.what());
  } catch (const std::invalid_argument& e) {  // e.g. CacheConfig validation
    std::fprintf(stderr, "%s%s\n", kPrefix, e.what());
  } catch (const std::bad_alloc&) {
    std::fprintf(stderr, "%sout of memory\n", kPrefix);
    return 1;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "%s%s\n", kPrefix, e.what());
    return 1;
  }
  return 2;
}
