// Workload: seeded synthetic key sequences for the perf harness (cuckoocache-perf).
//
// The harness keeps three things apart, as CacheLib's cachebench does: this file only says
// *which keys* are requested; ratio_runner.h and throughput_runner.h replay them; report.h
// prints the results. Nothing here knows about caches.
//
// Spec syntax (WorkloadSpec, parse_workload()); every generator draws from keys [0, K) where
// K is --keys, unless it says otherwise:
//
//   zipf:S         Zipf(S) over [0, K): key r-1 has probability proportional to 1/r^S, so key 0
//                  is the hottest. S in [0, 10]; zipf:0 is uniform. Sampled in O(1) without a
//                  table by rejection-inversion (Hörmann & Derflinger 1996, as in Apache
//                  Commons), so K may be large.
//   uniform        uniform over [0, K).
//   scan:LEN[:GAP] a zipf(0.99) hot set over [0, K), polluted by sequential scans: after every
//                  GAP hot requests (default 4*LEN) comes a scan of LEN keys never requested
//                  before, K, K+1, ... (numbering continues across scans, so a scan key is
//                  requested exactly once). With the default GAP a fifth of the requests are
//                  scan keys. Recency-only policies lose their hot set to every scan.
//   loop:LEN       0, 1, ..., LEN-1, 0, 1, ... (K is not used). Exact LRU with fewer than LEN
//                  entries never hits.
//   mix:P[@N],P[@N],...
//                  phases: N requests (default 10000) from the first part, then N from the
//                  second, ..., then the first again. P is any of the above (no nested mix).
//                  Each part keeps its position across phases (a loop resumes where it
//                  stopped); fresh scan keys come from one counter shared by all parts.
//                  Example: mix:zipf:0.9@50000,scan:1000@20000.
//
// Determinism: the generator is xoshiro256** seeded through SplitMix64, and every distribution
// is implemented here (no <random> distributions, whose output differs between standard
// libraries), so one (spec, K, seed) gives the same sequence on every platform up to libm's
// last-bit rounding of log/exp in the zipf sampler.
#pragma once

#include <charconv>
#include <cmath>
#include <cstdint>
#include <stdexcept>
#include <string>
#include <string_view>
#include <system_error>
#include <vector>

namespace cuckoocache::perf::harness {

// Thrown for a malformed spec or out-of-range parameter; the message is one line.
class WorkloadError : public std::invalid_argument {
 public:
  using std::invalid_argument::invalid_argument;
};

// Limits on parameters: fresh scan keys are numbered from K upward, and 2^40 keys leave ample
// room below 2^64 for them.
inline constexpr std::uint64_t kMaxWorkloadKeys = std::uint64_t{1} << 40;
inline constexpr double kMaxZipfExponent = 10.0;
inline constexpr double kScanHotExponent = 0.99;
inline constexpr std::uint64_t kDefaultMixPhase = 10000;

// xoshiro256** (Blackman & Vigna), state filled from the seed with SplitMix64.
class Rng {
 public:
  explicit Rng(std::uint64_t seed) noexcept {
    for (std::uint64_t& word : s_) {
      seed += 0x9E3779B97F4A7C15ULL;
      std::uint64_t z = seed;
      z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
      z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
      word = z ^ (z >> 31);
    }
  }

  std::uint64_t next() noexcept {
    const std::uint64_t result = rotl(s_[1] * 5, 7) * 9;
    const std::uint64_t t = s_[1] << 17;
    s_[2] ^= s_[0];
    s_[3] ^= s_[1];
    s_[1] ^= s_[2];
    s_[0] ^= s_[3];
    s_[2] ^= t;
    s_[3] = rotl(s_[3], 45);
    return result;
  }

  // Uniform in [0, 1) with 53 random bits.
  double unit() noexcept { return static_cast<double>(next() >> 11) * 0x1.0p-53; }

  // Uniform in [0, bound), unbiased: values below 2^64 mod bound are rejected. bound > 0.
  std::uint64_t below(std::uint64_t bound) noexcept {
    const std::uint64_t threshold = (0 - bound) % bound;
    for (;;) {
      const std::uint64_t r = next();
      if (r >= threshold) return r % bound;
    }
  }

 private:
  static std::uint64_t rotl(std::uint64_t x, int k) noexcept { return (x << k) | (x >> (64 - k)); }
  std::uint64_t s_[4];
};

// Zipf(exponent) over ranks [0, n): rank r (0-based) has probability ~ 1/(r+1)^exponent.
// Rejection-inversion sampling: O(1) expected time and memory for any n. exponent > 0.
class ZipfSampler {
 public:
  ZipfSampler(std::uint64_t n, double exponent) noexcept
      : n_(static_cast<double>(n)),
        exponent_(exponent),
        h_integral_x1_(h_integral(1.5) - 1.0),
        h_integral_n_(h_integral(n_ + 0.5)),
        s_(2.0 - h_integral_inverse(h_integral(2.5) - h(2.0))) {}

  std::uint64_t operator()(Rng& rng) const noexcept {
    for (;;) {
      const double u = h_integral_n_ + rng.unit() * (h_integral_x1_ - h_integral_n_);
      const double x = h_integral_inverse(u);
      double k = std::floor(x + 0.5);
      if (k < 1.0) k = 1.0;
      if (k > n_) k = n_;
      if (k - x <= s_ || u >= h_integral(k + 0.5) - h(k)) {
        return static_cast<std::uint64_t>(k) - 1;
      }
    }
  }

 private:
  // (log1p(x))/x and (expm1(x))/x, continuous at 0.
  static double helper1(double x) noexcept {
    return std::fabs(x) > 1e-8 ? std::log1p(x) / x : 1.0 - x * (0.5 - x * (1.0 / 3.0 - 0.25 * x));
  }
  static double helper2(double x) noexcept {
    return std::fabs(x) > 1e-8 ? std::expm1(x) / x
                               : 1.0 + x * 0.5 * (1.0 + x * (1.0 / 3.0) * (1.0 + 0.25 * x));
  }
  // H(x), an antiderivative of h(x) = x^-exponent, and its inverse.
  [[nodiscard]] double h_integral(double x) const noexcept {
    const double log_x = std::log(x);
    return helper2((1.0 - exponent_) * log_x) * log_x;
  }
  [[nodiscard]] double h(double x) const noexcept { return std::exp(-exponent_ * std::log(x)); }
  [[nodiscard]] double h_integral_inverse(double x) const noexcept {
    double t = x * (1.0 - exponent_);
    if (t < -1.0) t = -1.0;  // guards rounding at the far end
    return std::exp(helper1(t) * x);
  }

  double n_;
  double exponent_;
  double h_integral_x1_;
  double h_integral_n_;
  double s_;
};

struct WorkloadPart {
  enum class Kind { kZipf, kUniform, kScan, kLoop };
  Kind kind = Kind::kUniform;
  double exponent = 0.0;                   // zipf
  std::uint64_t length = 0;                // scan: keys per scan; loop: keys in the loop
  std::uint64_t gap = 0;                   // scan: hot requests between two scans
  std::uint64_t phase = kDefaultMixPhase;  // mix: requests per phase
};

struct WorkloadSpec {
  std::string text;                 // as given
  std::vector<WorkloadPart> parts;  // one, or several for mix:
};

namespace workload_detail {

[[noreturn]] inline void fail(std::string_view spec, const std::string& what) {
  throw WorkloadError("workload \"" + std::string(spec) + "\": " + what);
}

inline std::uint64_t parse_count(std::string_view spec, std::string_view field,
                                 std::string_view what) {
  std::uint64_t v = 0;
  const auto [end, ec] = std::from_chars(field.data(), field.data() + field.size(), v);
  if (field.empty() || ec != std::errc() || end != field.data() + field.size()) {
    fail(spec,
         std::string(what) + " must be a positive integer, got \"" + std::string(field) + "\"");
  }
  if (v == 0) fail(spec, std::string(what) + " must be at least 1");
  if (v > kMaxWorkloadKeys) fail(spec, std::string(what) + " must be at most 2^40");
  return v;
}

inline double parse_exponent(std::string_view spec, std::string_view field) {
  double v = 0;
  const auto [end, ec] = std::from_chars(field.data(), field.data() + field.size(), v);
  if (field.empty() || ec != std::errc() || end != field.data() + field.size() ||
      !std::isfinite(v)) {
    fail(spec, "zipf exponent must be a number, got \"" + std::string(field) + "\"");
  }
  if (v < 0.0 || v > kMaxZipfExponent) fail(spec, "zipf exponent must be in [0, 10]");
  return v;
}

// Splits "a:b:c" on ':'.
inline std::vector<std::string_view> split(std::string_view s, char sep) {
  std::vector<std::string_view> out;
  for (;;) {
    const auto at = s.find(sep);
    out.push_back(s.substr(0, at));
    if (at == std::string_view::npos) return out;
    s.remove_prefix(at + 1);
  }
}

inline WorkloadPart parse_part(std::string_view spec, std::string_view text) {
  const std::vector<std::string_view> f = split(text, ':');
  WorkloadPart p;
  if (f[0] == "zipf") {
    if (f.size() != 2) fail(spec, "expected zipf:S");
    p.kind = WorkloadPart::Kind::kZipf;
    p.exponent = parse_exponent(spec, f[1]);
    if (p.exponent == 0.0) p.kind = WorkloadPart::Kind::kUniform;
  } else if (f[0] == "uniform") {
    if (f.size() != 1) fail(spec, "uniform takes no parameter");
    p.kind = WorkloadPart::Kind::kUniform;
  } else if (f[0] == "scan") {
    if (f.size() != 2 && f.size() != 3) fail(spec, "expected scan:LEN or scan:LEN:GAP");
    p.kind = WorkloadPart::Kind::kScan;
    p.exponent = kScanHotExponent;
    p.length = parse_count(spec, f[1], "scan length");
    p.gap = f.size() == 3 ? parse_count(spec, f[2], "scan gap") : 4 * p.length;
  } else if (f[0] == "loop") {
    if (f.size() != 2) fail(spec, "expected loop:LEN");
    p.kind = WorkloadPart::Kind::kLoop;
    p.length = parse_count(spec, f[1], "loop length");
  } else if (f[0] == "mix") {
    fail(spec, "a mix cannot contain another mix");
  } else {
    fail(spec, "unknown generator \"" + std::string(f[0]) +
                   "\" (expected zipf:S, uniform, scan:LEN[:GAP], loop:LEN or mix:...)");
  }
  return p;
}

}  // namespace workload_detail

// Parses a spec (syntax at the top of this file). Throws WorkloadError.
[[nodiscard]] inline WorkloadSpec parse_workload(std::string_view text) {
  using workload_detail::fail;
  WorkloadSpec spec;
  spec.text = std::string(text);
  if (text.empty()) fail(text, "empty workload spec");
  if (!text.starts_with("mix:")) {
    spec.parts.push_back(workload_detail::parse_part(text, text));
    return spec;
  }
  for (std::string_view item : workload_detail::split(text.substr(4), ',')) {
    if (item.empty()) fail(text, "empty part in mix");
    std::uint64_t phase = kDefaultMixPhase;
    if (const auto at = item.find('@'); at != std::string_view::npos) {
      phase = workload_detail::parse_count(text, item.substr(at + 1), "mix phase length");
      item = item.substr(0, at);
    }
    WorkloadPart part = workload_detail::parse_part(text, item);
    part.phase = phase;
    spec.parts.push_back(part);
  }
  return spec;
}

// An endless key sequence for one (spec, keys, seed).
class KeyStream {
 public:
  // Throws WorkloadError if keys is 0 or above kMaxWorkloadKeys.
  KeyStream(const WorkloadSpec& spec, std::uint64_t keys, std::uint64_t seed)
      : keys_(keys), rng_(seed), fresh_(keys) {
    if (keys == 0) throw WorkloadError("--keys must be at least 1");
    if (keys > kMaxWorkloadKeys) throw WorkloadError("--keys must be at most 2^40");
    if (spec.parts.empty()) throw WorkloadError("workload has no parts");
    states_.reserve(spec.parts.size());
    for (const WorkloadPart& p : spec.parts) {
      const double exponent = p.kind == WorkloadPart::Kind::kUniform ? 1.0 : p.exponent;
      states_.push_back(State{p, ZipfSampler(keys, exponent > 0 ? exponent : 1.0), 0, 0, 0});
    }
    phase_left_ = states_[0].part.phase;
  }

  std::uint64_t next() noexcept {
    if (states_.size() > 1) {
      if (phase_left_ == 0) {
        current_ = current_ + 1 == states_.size() ? 0 : current_ + 1;
        phase_left_ = states_[current_].part.phase;
      }
      --phase_left_;
    }
    State& st = states_[current_];
    switch (st.part.kind) {
      case WorkloadPart::Kind::kZipf:
        return st.zipf(rng_);
      case WorkloadPart::Kind::kUniform:
        return rng_.below(keys_);
      case WorkloadPart::Kind::kScan:
        if (st.scan_left > 0) {
          --st.scan_left;
          return fresh_++;
        }
        if (++st.hot_done == st.part.gap) {  // this hot request is the last before a scan
          st.hot_done = 0;
          st.scan_left = st.part.length;
        }
        return st.zipf(rng_);
      case WorkloadPart::Kind::kLoop: {
        const std::uint64_t key = st.loop_pos;
        st.loop_pos = st.loop_pos + 1 == st.part.length ? 0 : st.loop_pos + 1;
        return key;
      }
    }
    return 0;
  }

 private:
  struct State {
    WorkloadPart part;
    ZipfSampler zipf;
    std::uint64_t hot_done;   // scan: hot requests since the last scan
    std::uint64_t scan_left;  // scan: keys left in the current scan
    std::uint64_t loop_pos;   // loop: next key
  };

  std::uint64_t keys_;
  Rng rng_;
  std::uint64_t fresh_;  // next never-requested key for scans
  std::vector<State> states_;
  std::size_t current_ = 0;
  std::uint64_t phase_left_ = 0;
};

// The first `requests` keys of KeyStream(spec, keys, seed).
[[nodiscard]] inline std::vector<std::uint64_t> generate_keys(const WorkloadSpec& spec,
                                                              std::uint64_t keys,
                                                              std::uint64_t requests,
                                                              std::uint64_t seed) {
  KeyStream stream(spec, keys, seed);
  std::vector<std::uint64_t> out(requests);
  for (std::uint64_t& k : out) k = stream.next();
  return out;
}

}  // namespace cuckoocache::perf::harness
