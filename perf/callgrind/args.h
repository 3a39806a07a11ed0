// Args: the command line of the callgrind drivers (engine_ops.cpp, zipf_mix.cpp), parsed the
// same way in both. A wrong argument count prints the driver's usage line; a count that is not
// a whole number, or an unknown policy, prints one line naming the argument. Each exits with
// status 2 and prints nothing on stdout (the scripts read only callgrind's own output, so a
// bad argument must not look like a measurement).
#pragma once

#include <cerrno>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <stdexcept>
#include <string_view>

#include "engine/cache_config.h"

namespace cuckoocache::callgrind {

class Args {
 public:
  // `usage` is the line after "usage: "; exits unless there are exactly `expected` arguments.
  Args(int argc, char** argv, int expected, const char* usage) : argv_(argv) {
    if (argc != expected + 1) {
      std::fprintf(stderr, "usage: %s\n", usage);
      std::exit(2);
    }
  }

  // Argument `i` (1-based) as it was given.
  [[nodiscard]] std::string_view text(int i) const noexcept { return argv_[i]; }

  // Argument `i` as a whole number (decimal digits, nothing else).
  [[nodiscard]] std::uint64_t number(int i) const {
    const char* s = argv_[i];
    char* end = nullptr;
    errno = 0;
    const unsigned long long value = std::strtoull(s, &end, 10);
    if (*s < '0' || *s > '9' || *end != '\0' || errno != 0) fail(i, "is not a whole number");
    return value;
  }

  // Argument `i` as a policy name (lru, lfu, ttl or adaptive).
  [[nodiscard]] Policy policy(int i) const {
    try {
      return parse_policy(text(i));
    } catch (const std::invalid_argument& e) {
      std::fprintf(stderr, "%s: argument %d: %s\n", argv_[0], i, e.what());
      std::exit(2);
    }
  }

 private:
  [[noreturn]] void fail(int i, const char* what) const {
    std::fprintf(stderr, "%s: argument %d '%s' %s\n", argv_[0], i, argv_[i], what);
    std::exit(2);
  }

  char** argv_;
};

}  // namespace cuckoocache::callgrind
