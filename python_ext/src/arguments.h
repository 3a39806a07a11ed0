// Argument checking for the binding: turns Python arguments into engine values, or raises
// TypeError / ValueError with a message that names the argument and what was wrong. Nothing
// here touches a cache, so a bad argument always leaves the cache as it was.
#pragma once

#include <Python.h>

#include <chrono>
#include <cmath>
#include <cstddef>
#include <optional>

#include "engine/cache_config.h"

namespace cuckoocache::python {

inline constexpr auto kMaxCacheSize = static_cast<long long>(cuckoocache::kMaxCacheSize);
// TTLs are kept in int64 nanoseconds; about 292 years fit. Allow up to 100 years.
inline constexpr long long kMaxTtlWholeSeconds = 3'155'760'000LL;  // 100 * 365.25 days
inline constexpr double kMaxTtlSeconds = static_cast<double>(kMaxTtlWholeSeconds);

// A positive int (bool is refused, as are floats, even integral ones). Returns false with
// the exception set.
[[nodiscard]] inline bool parse_max_size(PyObject* o, const char* name, std::size_t& out) {
  if (!PyLong_Check(o) || PyBool_Check(o)) {
    PyErr_Format(PyExc_TypeError, "%s must be an int, not %.100s", name, Py_TYPE(o)->tp_name);
    return false;
  }
  int overflow = 0;
  const long long v = PyLong_AsLongLongAndOverflow(o, &overflow);
  if (v == -1 && PyErr_Occurred()) return false;
  if (overflow < 0 || (overflow == 0 && v <= 0)) {
    PyErr_Format(PyExc_ValueError, "%s must be a positive integer, got %R", name, o);
    return false;
  }
  if (overflow > 0 || v > kMaxCacheSize) {
    PyErr_Format(PyExc_ValueError, "%s must be at most %lld, got %R", name, kMaxCacheSize, o);
    return false;
  }
  out = static_cast<std::size_t>(v);
  return true;
}

// None (no TTL) or a positive, finite number of seconds (int or float; bool refused).
[[nodiscard]] inline bool parse_ttl(PyObject* o, const char* name,
                                    std::optional<std::chrono::nanoseconds>& out) {
  out.reset();
  if (o == nullptr || o == Py_None) return true;
  if (PyBool_Check(o) || !(PyLong_Check(o) || PyFloat_Check(o))) {
    PyErr_Format(PyExc_TypeError, "%s must be a number of seconds or None, not %.100s", name,
                 Py_TYPE(o)->tp_name);
    return false;
  }
  const double seconds = PyFloat_AsDouble(o);
  if (seconds == -1.0 && PyErr_Occurred()) {
    if (PyErr_ExceptionMatches(PyExc_OverflowError)) {
      PyErr_Clear();
      PyErr_Format(PyExc_ValueError, "%s must be at most %lld seconds, got %R", name,
                   kMaxTtlWholeSeconds, o);
    }
    return false;
  }
  if (!std::isfinite(seconds) || seconds <= 0.0) {
    PyErr_Format(PyExc_ValueError, "%s must be a positive, finite number of seconds, got %R", name,
                 o);
    return false;
  }
  if (seconds > kMaxTtlSeconds) {
    PyErr_Format(PyExc_ValueError, "%s must be at most %lld seconds, got %R", name,
                 kMaxTtlWholeSeconds, o);
    return false;
  }
  const auto ns = static_cast<long long>(std::ceil(seconds * 1e9));
  out = std::chrono::nanoseconds(ns > 0 ? ns : 1);
  return true;
}

// A float (or int) in (0, 1].
[[nodiscard]] inline bool parse_fraction(PyObject* o, const char* name, double& out) {
  if (PyBool_Check(o) || !(PyLong_Check(o) || PyFloat_Check(o))) {
    PyErr_Format(PyExc_TypeError, "%s must be a number, not %.100s", name, Py_TYPE(o)->tp_name);
    return false;
  }
  const double v = PyFloat_AsDouble(o);
  if (v == -1.0 && PyErr_Occurred()) return false;
  if (!(v > 0.0 && v <= 1.0)) {
    PyErr_Format(PyExc_ValueError, "%s must be in (0, 1], got %R", name, o);
    return false;
  }
  out = v;
  return true;
}

}  // namespace cuckoocache::python
