// ZipfKeys: draws keys 0..n-1 with probability proportional to 1 / (rank + 1)^exponent, by
// binary search of the cumulative weights on one FastRandom draw. The callgrind drivers
// zipf_get.cpp and zipf_mix.cpp share it so that both replay the same key stream for a seed.
#pragma once

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <vector>

#include "engine/random.h"

namespace cuckoocache::callgrind {

class ZipfKeys {
 public:
  ZipfKeys(std::size_t keys, double exponent) : cdf_(keys) {
    for (std::size_t r = 0; r < keys; ++r) {
      total_ += 1.0 / std::pow(static_cast<double>(r + 1), exponent);
      cdf_[r] = total_;
    }
  }

  [[nodiscard]] std::uint64_t operator()(FastRandom& rng) const {
    const double u = static_cast<double>(rng.next() >> 11) * 0x1.0p-53 * total_;
    return static_cast<std::uint64_t>(std::lower_bound(cdf_.begin(), cdf_.end(), u) - cdf_.begin());
  }

 private:
  std::vector<double> cdf_;
  double total_ = 0;
};

}  // namespace cuckoocache::callgrind
