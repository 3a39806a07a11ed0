// Trace loading for the perf harness and the hit-ratio tests.
//
// A trace is a sequence of 64-bit keys. Three text formats are understood, each optionally
// gzip-compressed (see /work/shared/traces/README.md):
//   keys, lirs  one unsigned integer per line; a line holding `*` or nothing is skipped.
//   arc (.lis)  `start count [ignored...]` per line, standing for the keys
//               start, start+1, ..., start+count-1 in that order.
//
// Design: the whole file is pulled through zlib (gzopen/gzread read plain files transparently,
// so one code path serves both) into one uninitialized buffer sized from the gzip trailer, in
// large reads; then a hand-written parser walks the buffer once. There are no iostreams, no
// per-line allocations and no exceptions on the happy path: OLTP (914k requests, 10.7 MB of
// text) loads in ~60 ms on the 2-core dev box, ~25 ms inflating and ~20 ms parsing. Lines may end
// in "\n" or "\r\n", surrounding blanks are ignored, the last line needs no newline. Anything else
// is an error: every failure throws TraceError with a one-line message `<path>[:<line>]: <what>`,
// the line number 1-based.
//
// traces_dir() locates the shared trace directory so tests and benchmarks can run against the
// real traces when present and skip cleanly when not.
#pragma once

#include <zlib.h>

#include <algorithm>
#include <cerrno>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <memory>
#include <stdexcept>
#include <string>
#include <string_view>
#include <system_error>
#include <utility>
#include <vector>

namespace cuckoocache::perf {

class TraceError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

enum class TraceFormat { kAuto, kKeys, kLirs, kArc };

[[nodiscard]] inline std::string_view to_string(TraceFormat fmt) noexcept {
  switch (fmt) {
    case TraceFormat::kAuto:
      return "auto";
    case TraceFormat::kKeys:
      return "keys";
    case TraceFormat::kLirs:
      return "lirs";
    case TraceFormat::kArc:
      return "arc";
  }
  return "?";
}

// Parses "auto", "keys", "lirs" or "arc" (exact, lower case). Throws TraceError otherwise.
[[nodiscard]] inline TraceFormat parse_trace_format(std::string_view name) {
  for (TraceFormat fmt :
       {TraceFormat::kAuto, TraceFormat::kKeys, TraceFormat::kLirs, TraceFormat::kArc}) {
    if (name == to_string(fmt)) return fmt;
  }
  throw TraceError("unknown trace format \"" + std::string(name) +
                   "\" (expected one of: auto, keys, lirs, arc)");
}

// Guesses the format from the file name: after stripping ".gz", ".lis" -> arc, ".lirs" -> lirs,
// ".keys" -> keys, anything else -> keys.
[[nodiscard]] inline TraceFormat detect_trace_format(std::string_view path) noexcept {
  auto strip = [&path](std::string_view suffix) {
    if (path.ends_with(suffix)) {
      path.remove_suffix(suffix.size());
      return true;
    }
    return false;
  };
  strip(".gz");
  if (strip(".lis")) return TraceFormat::kArc;
  if (strip(".lirs")) return TraceFormat::kLirs;
  return TraceFormat::kKeys;
}

namespace trace_detail {

// Renders a line for an error message: at most 60 characters, control bytes escaped.
inline std::string quote_line(std::string_view line) {
  constexpr std::size_t kMax = 60;
  std::string out = "\"";
  for (std::size_t i = 0; i < line.size() && i < kMax; ++i) {
    const auto c = static_cast<unsigned char>(line[i]);
    if (c == '"' || c == '\\') {
      out += '\\';
      out += static_cast<char>(c);
    } else if (c < 0x20 || c >= 0x7f) {
      static constexpr char kHex[] = "0123456789abcdef";
      out += "\\x";
      out += kHex[c >> 4];
      out += kHex[c & 0xf];
    } else {
      out += static_cast<char>(c);
    }
  }
  if (line.size() > kMax) out += "...";
  out += '"';
  return out;
}

[[noreturn]] inline void fail_line(const std::string& name, std::size_t line_no,
                                   std::string_view what, std::string_view line) {
  throw TraceError(name + ":" + std::to_string(line_no) + ": " + std::string(what) + ", got " +
                   quote_line(line));
}

inline bool is_blank(char c) noexcept {
  return c == ' ' || c == '\t';
}

// Parses a decimal unsigned integer at p (no sign, no blanks). Returns false if there is no
// digit or the value does not fit in 64 bits; on success advances p past the digits.
inline bool parse_u64(const char*& p, const char* end, std::uint64_t& out) noexcept {
  const char* q = p;
  std::uint64_t v = 0;
  while (q < end && static_cast<unsigned>(*q - '0') < 10) {
    const auto d = static_cast<std::uint64_t>(*q - '0');
    if (v > (UINT64_MAX - d) / 10) return false;
    v = v * 10 + d;
    ++q;
  }
  if (q == p) return false;
  p = q;
  out = v;
  return true;
}

// Expected uncompressed size of a file, to size the read buffer once: the file size for a plain
// file, the gzip trailer's ISIZE (size mod 2^32 of the last member) for a gzip file. Only a hint:
// a damaged trailer can say anything, so it is capped at 64x the compressed size.
// Throws TraceError if the file cannot be opened.
inline std::size_t size_hint(const std::string& path) {
  std::error_code ec;
  if (std::filesystem::is_directory(path, ec)) {
    throw TraceError(path + ": cannot open trace file: is a directory");
  }
  std::FILE* fp = std::fopen(path.c_str(), "rb");
  if (fp == nullptr) {
    throw TraceError(path + ": cannot open trace file: " + std::strerror(errno));
  }
  unsigned char head[2] = {0, 0};
  unsigned char tail[4] = {0, 0, 0, 0};
  std::size_t hint = 0;
  if (std::fseek(fp, 0, SEEK_END) == 0) {
    const long size = std::ftell(fp);
    hint = size > 0 ? static_cast<std::size_t>(size) : 0;
    std::rewind(fp);
    if (size >= 18 && std::fread(head, 1, 2, fp) == 2 && head[0] == 0x1f && head[1] == 0x8b &&
        std::fseek(fp, -4, SEEK_END) == 0 && std::fread(tail, 1, 4, fp) == 4) {
      const std::size_t isize = std::size_t{tail[0]} | std::size_t{tail[1]} << 8 |
                                std::size_t{tail[2]} << 16 | std::size_t{tail[3]} << 24;
      hint = std::min(isize, 64 * hint);
    }
  }
  std::fclose(fp);
  return hint;
}

// A file's contents; uninitialized storage so that an over-estimated size costs no page faults.
struct Buffer {
  std::unique_ptr<char[]> data;
  std::size_t size = 0;
  [[nodiscard]] std::string_view view() const noexcept { return {data.get(), size}; }
};

// Reads a whole file, gzip-compressed or not.
inline Buffer read_all(const std::string& path) {
  const std::size_t hint = size_hint(path);
  errno = 0;
  gzFile f = gzopen(path.c_str(), "rb");
  if (f == nullptr) {
    const int err = errno;
    throw TraceError(
        path + ": cannot open trace file: " + (err != 0 ? std::strerror(err) : "out of memory"));
  }
  struct Closer {
    gzFile f;
    ~Closer() { gzclose(f); }
  } closer{f};
  gzbuffer(f, 1u << 18);
  constexpr std::size_t kMaxRead = std::size_t{1} << 30;  // gzread takes an unsigned length.
  // +1: the read that sees end of file needs room too.
  std::size_t capacity = std::max<std::size_t>(hint + 1, 1u << 16);
  Buffer buf{std::make_unique_for_overwrite<char[]>(capacity), 0};
  for (;;) {
    if (buf.size == capacity) {
      capacity *= 2;
      auto bigger = std::make_unique_for_overwrite<char[]>(capacity);
      std::memcpy(bigger.get(), buf.data.get(), buf.size);
      buf.data = std::move(bigger);
    }
    const auto len = static_cast<unsigned>(std::min(capacity - buf.size, kMaxRead));
    const int n = gzread(f, buf.data.get() + buf.size, len);
    if (n < 0) {
      int code = Z_OK;
      const char* msg = gzerror(f, &code);
      if (code == Z_ERRNO) msg = std::strerror(errno);
      throw TraceError(path + ": read error: " + (msg != nullptr ? msg : "unknown zlib error"));
    }
    if (n == 0) break;
    buf.size += static_cast<std::size_t>(n);
  }
  // A gzip stream cut short reads as end of file; zlib flags it with Z_BUF_ERROR.
  if (int code = Z_OK; gzerror(f, &code) != nullptr && code == Z_BUF_ERROR) {
    throw TraceError(path + ": truncated gzip file (unexpected end of file)");
  }
  return buf;
}

}  // namespace trace_detail

// Parses trace text already in memory. `name` is used in error messages (and, for kAuto, to
// guess the format).
[[nodiscard]] inline std::vector<std::uint64_t> parse_trace(std::string_view text, TraceFormat fmt,
                                                            const std::string& name) {
  using trace_detail::fail_line;
  using trace_detail::is_blank;
  using trace_detail::parse_u64;
  if (fmt == TraceFormat::kAuto) fmt = detect_trace_format(name);
  const bool arc = fmt == TraceFormat::kArc;

  std::vector<std::uint64_t> keys;
  // Lines are at least 2 bytes for keys/lirs and ~12 for arc (oltp); reserve generously once.
  keys.reserve(text.size() / (arc ? 8 : 3) + 16);

  const char* p = text.data();
  const char* const end = p + text.size();
  std::size_t line_no = 0;
  while (p < end) {
    ++line_no;
    const char* line_begin = p;
    const char* eol = static_cast<const char*>(std::memchr(p, '\n', end - p));
    if (eol == nullptr) eol = end;
    p = eol < end ? eol + 1 : end;

    // Trim blanks and a trailing '\r'.
    const char* b = line_begin;
    const char* e = eol;
    while (b < e && is_blank(*b)) ++b;
    while (e > b && (is_blank(e[-1]) || e[-1] == '\r')) --e;
    if (b == e) continue;
    const std::string_view raw(line_begin, static_cast<std::size_t>(eol - line_begin));

    if (!arc) {
      if (e - b == 1 && *b == '*') continue;
      std::uint64_t key = 0;
      if (!parse_u64(b, e, key) || b != e) {
        fail_line(name, line_no, "expected one unsigned integer key", raw);
      }
      keys.push_back(key);
      continue;
    }

    std::uint64_t start = 0;
    std::uint64_t count = 0;
    const char* q = b;
    bool ok = parse_u64(q, e, start) && q < e && is_blank(*q);
    if (ok) {
      while (q < e && is_blank(*q)) ++q;
      ok = parse_u64(q, e, count) && (q == e || is_blank(*q));
    }
    if (!ok) fail_line(name, line_no, "expected 'start count ...'", raw);
    if (count > 0 && start > UINT64_MAX - (count - 1)) {
      fail_line(name, line_no, "key range start+count-1 overflows 64 bits", raw);
    }
    if (count > (std::uint64_t{1} << 32)) {
      fail_line(name, line_no, "block count larger than 2^32", raw);
    }
    for (std::uint64_t i = 0; i < count; ++i) keys.push_back(start + i);
  }
  return keys;
}

// Loads a trace file, plain or gzip-compressed. Throws TraceError on any failure.
[[nodiscard]] inline std::vector<std::uint64_t> load_trace(const std::string& path,
                                                           TraceFormat fmt = TraceFormat::kAuto) {
  if (fmt == TraceFormat::kAuto) fmt = detect_trace_format(path);
  const trace_detail::Buffer text = trace_detail::read_all(path);
  return parse_trace(text.view(), fmt, path);
}

// Directory holding the shared traces, or "" if none is found. Tries, in order: $CUCKOOCACHE_TRACES
// (if it names a directory), ../shared/traces relative to the current directory, and
// ../shared/traces relative to the repository root (derived from this header's location).
[[nodiscard]] inline std::string traces_dir() {
  namespace fs = std::filesystem;
  std::error_code ec;
  auto usable = [&ec](const fs::path& dir) { return !dir.empty() && fs::is_directory(dir, ec); };
  if (const char* env = std::getenv("CUCKOOCACHE_TRACES"); env != nullptr && *env != '\0') {
    if (usable(env)) return fs::path(env).lexically_normal().string();
  }
  const fs::path candidates[] = {
      fs::current_path(ec) / ".." / "shared" / "traces",
      // __FILE__ is <repo>/perf/trace.h.
      fs::path(__FILE__).parent_path().parent_path() / ".." / "shared" / "traces",
  };
  for (const fs::path& dir : candidates) {
    if (usable(dir)) {
      const fs::path abs = fs::absolute(dir, ec);
      return (ec ? dir : abs).lexically_normal().string();
    }
  }
  return {};
}

}  // namespace cuckoocache::perf
