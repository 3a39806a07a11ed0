// MutexLru: the baseline every cache benchmark compares the engine against.
//
// An exact LRU cache guarded by one std::mutex: a std::list in recency order (front = most
// recent) and a std::unordered_map from key to list node. This is what a careful engineer
// writes when asked for a thread-safe LRU without a concurrent library, so it is the bar a
// concurrent engine has to clear. It is deliberately not weakened:
//  - the table is reserved for `capacity` entries up front, so it never rehashes at capacity;
//  - an insert at capacity recycles the evicted entry's list node (splice) and its hash-table
//    node (extract + re-key), so a put at capacity allocates nothing;
//  - a hit moves the node to the front with splice (no allocation).
// Every operation still takes the one mutex, which is the point of the comparison.
//
// Values are copied out under the lock, so Value should be cheap to copy (benchmarks use
// integers). Not copyable or movable (it owns a mutex).
#pragma once

#include <cstddef>
#include <functional>
#include <iterator>
#include <list>
#include <mutex>
#include <optional>
#include <stdexcept>
#include <unordered_map>
#include <utility>

namespace cuckoocache::perf {

template <class Key, class Value, class Hash = std::hash<Key>, class KeyEqual = std::equal_to<Key>>
class MutexLru {
 public:
  // Throws std::invalid_argument for a capacity of 0.
  explicit MutexLru(std::size_t capacity) : capacity_(capacity) {
    if (capacity == 0) throw std::invalid_argument("MutexLru capacity must be at least 1");
    index_.reserve(capacity);
  }

  MutexLru(const MutexLru&) = delete;
  MutexLru& operator=(const MutexLru&) = delete;

  // Copies the value into `out`, marks the entry most recently used and returns true on a
  // hit; leaves `out` alone and returns false on a miss.
  bool get(const Key& key, Value& out) {
    std::lock_guard<std::mutex> lock(mutex_);
    auto it = index_.find(key);
    if (it == index_.end()) return false;
    order_.splice(order_.begin(), order_, it->second);
    out = it->second->second;
    return true;
  }

  [[nodiscard]] std::optional<Value> get(const Key& key) {
    Value out;
    if (!get(key, out)) return std::nullopt;
    return out;
  }

  // Stores `value` under `key` as the most recently used entry, replacing any current value.
  // If the key is new and the cache is full, the least recently used entry is evicted first.
  // Returns true if the key was new.
  bool put(const Key& key, const Value& value) {
    std::lock_guard<std::mutex> lock(mutex_);
    auto it = index_.find(key);
    if (it != index_.end()) {
      it->second->second = value;
      order_.splice(order_.begin(), order_, it->second);
      return false;
    }
    if (index_.size() < capacity_) {
      order_.emplace_front(key, value);
      index_.emplace(key, order_.begin());
      return true;
    }
    // Full: recycle the least recent entry's list node and hash-table node for the newcomer.
    auto victim = std::prev(order_.end());
    auto node = index_.extract(victim->first);
    victim->first = key;
    victim->second = value;
    order_.splice(order_.begin(), order_, victim);
    node.key() = key;
    node.mapped() = order_.begin();
    index_.insert(std::move(node));
    ++evictions_;
    return true;
  }

  // Removes `key`; returns true if it was present.
  bool erase(const Key& key) {
    std::lock_guard<std::mutex> lock(mutex_);
    auto it = index_.find(key);
    if (it == index_.end()) return false;
    order_.erase(it->second);
    index_.erase(it);
    return true;
  }

  [[nodiscard]] std::size_t size() const {
    std::lock_guard<std::mutex> lock(mutex_);
    return index_.size();
  }

  [[nodiscard]] std::size_t capacity() const noexcept { return capacity_; }

  // Entries evicted to make room since construction.
  [[nodiscard]] std::size_t evictions() const {
    std::lock_guard<std::mutex> lock(mutex_);
    return evictions_;
  }

 private:
  using Order = std::list<std::pair<Key, Value>>;

  const std::size_t capacity_;
  mutable std::mutex mutex_;
  Order order_;  // front: most recently used
  std::unordered_map<Key, typename Order::iterator, Hash, KeyEqual> index_;
  std::size_t evictions_ = 0;
};

}  // namespace cuckoocache::perf
