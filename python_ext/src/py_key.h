// PyKey: a Python object as an engine key, with Python's equality rules and without running
// Python code under an engine lock.
//
// The hash is computed once, outside every lock, with PyObject_Hash (it may run __hash__ and
// raise). The engine keys its table by that hash, so keys that compare under a bucket lock
// always have equal Python hashes, as in a dict. How two keys compare depends on their kind:
//  - kSafe: str, bytes, int, bool, float, None, objects whose type keeps object's identity
//    equality, and tuples of those. Comparing two safe keys runs only C code that cannot
//    release the GIL, so PyKeyEqual does it under the lock (the fast path): 1, 1.0 and True
//    are one key; "1" and 1 are two.
//  - kForeign: anything else (a class with __eq__, frozenset, Decimal, ...). Its comparison
//    may run Python code, so it is never done under a lock: PyKeyEqual throws Undecided and
//    the binding resolves the key outside the lock (see resolve() in cache_object.cpp), then
//    retries with a resolved probe that matches a stored key by identity only.
#pragma once

#include <Python.h>

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <utility>

#include "py_ref.h"

namespace cuckoocache::python {

// Thrown by PyKeyEqual when deciding equality would run Python code. Never escapes the
// binding: the operation is retried on the slow path. The engine treats it like any
// exception from KeyEqual: the cache and its stats are left as they were.
struct Undecided {};

// Thrown when a Python exception is set (the error indicator holds it).
struct PythonError {};

enum class KeyKind : std::uint8_t { kSafe, kForeign };

namespace detail {

inline bool is_number_type(PyTypeObject* t) noexcept {
  return t == &PyLong_Type || t == &PyFloat_Type || t == &PyBool_Type;
}

inline KeyKind classify(PyObject* o, int depth) noexcept {
  PyTypeObject* t = Py_TYPE(o);
  if (t == &PyUnicode_Type || t == &PyBytes_Type || is_number_type(t) || o == Py_None) {
    return KeyKind::kSafe;
  }
  if (t == &PyTuple_Type) {
    if (depth > 16) return KeyKind::kForeign;
    const Py_ssize_t n = PyTuple_GET_SIZE(o);
    for (Py_ssize_t i = 0; i < n; ++i) {
      if (classify(PyTuple_GET_ITEM(o, i), depth + 1) == KeyKind::kForeign) {
        return KeyKind::kForeign;
      }
    }
    return KeyKind::kSafe;
  }
  // A type that inherits object's comparison compares by identity: no Python code runs.
  return t->tp_richcompare == PyBaseObject_Type.tp_richcompare ? KeyKind::kSafe : KeyKind::kForeign;
}

// Equality of two safe keys, exactly as Python's == would decide it. Throws PythonError in
// the (memory-exhaustion) cases where the C comparison itself fails.
inline bool safe_equal(PyObject* a, PyObject* b) {
  if (a == b) return true;
  PyTypeObject* ta = Py_TYPE(a);
  PyTypeObject* tb = Py_TYPE(b);
  if (ta == &PyUnicode_Type) {
    if (tb != &PyUnicode_Type) return false;
    const Py_ssize_t len = PyUnicode_GET_LENGTH(a);
    if (len != PyUnicode_GET_LENGTH(b) || PyUnicode_KIND(a) != PyUnicode_KIND(b)) return false;
    return std::memcmp(PyUnicode_DATA(a), PyUnicode_DATA(b),
                       static_cast<std::size_t>(len) * PyUnicode_KIND(a)) == 0;
  }
  if (ta == &PyBytes_Type) {
    if (tb != &PyBytes_Type) return false;
    const Py_ssize_t len = PyBytes_GET_SIZE(a);
    return len == PyBytes_GET_SIZE(b) && std::memcmp(PyBytes_AS_STRING(a), PyBytes_AS_STRING(b),
                                                     static_cast<std::size_t>(len)) == 0;
  }
  if (ta == &PyTuple_Type) {
    if (tb != &PyTuple_Type) return false;
    const Py_ssize_t n = PyTuple_GET_SIZE(a);
    if (n != PyTuple_GET_SIZE(b)) return false;
    for (Py_ssize_t i = 0; i < n; ++i) {
      if (!safe_equal(PyTuple_GET_ITEM(a, i), PyTuple_GET_ITEM(b, i))) return false;
    }
    return true;
  }
  if (ta == &PyFloat_Type && tb == &PyFloat_Type) {
    return PyFloat_AS_DOUBLE(a) == PyFloat_AS_DOUBLE(b);
  }
  if (is_number_type(ta) && is_number_type(tb)) {
    const int r = PyObject_RichCompareBool(a, b, Py_EQ);  // int/float/bool: C code only
    if (r < 0) throw PythonError{};
    return r == 1;
  }
  return false;  // different kinds, or identity-compared objects that are not identical
}

}  // namespace detail

// A key stored in the engine (owns its object) or a probe for a lookup (borrows it).
class PyKey {
 public:
  // Hashes and classifies `object`. Returns false with a Python error set if hashing fails.
  [[nodiscard, gnu::always_inline]] static bool make(PyObject* object,
                                                     PyKey& out) {  // may run __hash__
    if (PyUnicode_CheckExact(object)) {  // the common key: hash cached in the object
      Py_hash_t hash = reinterpret_cast<PyASCIIObject*>(object)->hash;
      if (hash == -1) hash = PyObject_Hash(object);  // a str's hash cannot fail
      out.set_probe(object, hash, KeyKind::kSafe);
      return true;
    }
    if (PyLong_CheckExact(object)) {  // int's hash runs no Python code and cannot fail
      out.set_probe(object, PyLong_Type.tp_hash(object), KeyKind::kSafe);
      return true;
    }
    const Py_hash_t hash = PyObject_Hash(object);
    if (hash == -1 && PyErr_Occurred()) return false;
    out.set_probe(object, hash, detail::classify(object, 0));
    return true;
  }

  PyKey() noexcept = default;
  // Copies own their object; a copy of a resolved probe stays resolved (the engine compares
  // with the copy it is about to store).
  PyKey(const PyKey& other) noexcept
      : object_(other.object_),
        hash_(other.hash_),
        match_bits_(other.object_ != nullptr ? other.match_bits_ | kOwned
                                             : other.match_bits_ & ~kOwned) {
    Py_XINCREF(object_);
  }
  PyKey(PyKey&& other) noexcept
      : object_(std::exchange(other.object_, nullptr)),
        hash_(other.hash_),
        match_bits_(other.match_bits_) {
    other.match_bits_ &= ~kOwned;
  }
  [[gnu::always_inline]] PyKey& operator=(PyKey&& other) noexcept {
    if (this != &other) {
      release();
      object_ = std::exchange(other.object_, nullptr);
      hash_ = other.hash_;
      match_bits_ = other.match_bits_;
      other.match_bits_ &= ~kOwned;
    }
    return *this;
  }
  PyKey& operator=(const PyKey&) = delete;
  ~PyKey() { release(); }

  // After resolve(): this probe matches exactly the stored key `stored` (by identity), or
  // no stored key when `stored` is nullptr, and never compares otherwise.
  void resolve_to(PyObject* stored) noexcept {
    match_bits_ = reinterpret_cast<std::uintptr_t>(stored) | (match_bits_ & kFlags) | kResolved;
  }

  [[nodiscard]] PyObject* object() const noexcept { return object_; }
  [[nodiscard]] Py_hash_t hash() const noexcept { return hash_; }
  [[nodiscard]] KeyKind kind() const noexcept {
    return (match_bits_ & kForeignBit) != 0 ? KeyKind::kForeign : KeyKind::kSafe;
  }
  [[nodiscard]] bool resolved() const noexcept { return (match_bits_ & kResolved) != 0; }
  [[nodiscard]] PyObject* match() const noexcept {
    return reinterpret_cast<PyObject*>(match_bits_ & ~kFlags);
  }

 private:
  // The flags live in the low bits of the match pointer (an object is at least 8-byte
  // aligned), so a key is 24 bytes, not 32: every table slot of the binding's map is 8 bytes
  // smaller.
  static constexpr std::uintptr_t kForeignBit = 1;  // kind() == KeyKind::kForeign
  static constexpr std::uintptr_t kResolved = 2;
  static constexpr std::uintptr_t kOwned = 4;  // object_ holds a reference of this key's own
  static constexpr std::uintptr_t kFlags = 7;
  static_assert(alignof(PyObject) >= 8);

  // Makes this a probe borrowing `object`, written in place (no temporary to move from).
  [[gnu::always_inline]] void set_probe(PyObject* object, Py_hash_t hash, KeyKind kind) noexcept {
    release();
    object_ = object;
    hash_ = hash;
    match_bits_ =
        reinterpret_cast<std::uintptr_t>(object) | (kind == KeyKind::kForeign ? kForeignBit : 0);
  }

  void release() noexcept {
    if ((match_bits_ & kOwned) != 0 && object_ != nullptr) release_later(object_);
    match_bits_ &= ~kOwned;
  }

  PyObject* object_ = nullptr;
  Py_hash_t hash_ = 0;
  // The match pointer (a stored key equal to this probe is the one whose object is this) and
  // the flags above in its low bits.
  std::uintptr_t match_bits_ = 0;
};
static_assert(sizeof(PyKey) == 24);

struct PyKeyHash {
  [[nodiscard]] std::size_t operator()(const PyKey& key) const noexcept {
    return static_cast<std::size_t>(key.hash());
  }
};

// Called by the engine as equal(stored, probe), under the bucket lock. Never runs Python code:
// identity first (as dict does), then the C comparison of two safe keys; a comparison that
// would need Python code throws Undecided.
struct PyKeyEqual {
  [[nodiscard]] bool operator()(const PyKey& stored, const PyKey& probe) const {
    if (stored.object() == probe.match()) return true;
    if (probe.resolved()) return false;
    if (stored.kind() == KeyKind::kForeign || probe.kind() == KeyKind::kForeign) {
      throw Undecided{};
    }
    return detail::safe_equal(stored.object(), probe.object());
  }
};

}  // namespace cuckoocache::python
