// PyRef and deferred release: how the binding owns Python objects inside the C++ engine.
//
// The engine moves keys and values around under bucket spinlocks and destroys the ones it
// removes after releasing them. Destroying a Python reference (Py_DECREF) can run arbitrary
// Python code (__del__, weakref callbacks) that may re-enter the cache or release the GIL, so
// a PyRef never decrefs in its destructor. It hands the object to release_later():
//  - on a Python thread inside a ReleaseScope (every binding entry point opens one), the
//    object goes on a thread-local list that the outermost scope decrefs when the engine call
//    has returned completely: no engine frame, lock or half-done operation is on the stack;
//  - on any other thread (the background expiry sweeper, which never holds the GIL), it goes
//    to a process-wide graveyard that the next Python thread leaving a ReleaseScope drains.
// Increfs (copies) are safe anywhere the GIL is held, including under a bucket lock: they run
// no code. Copies therefore only happen on Python threads; the sweeper only moves and drops.
#pragma once

#include <Python.h>

#if defined(__GLIBC__)
#include <malloc.h>
#endif

#include <atomic>
#include <cstddef>
#include <cstdlib>
#include <mutex>
#include <new>
#include <system_error>
#include <utility>
#include <vector>

namespace cuckoocache::python {

namespace detail {

// The objects released inside the open scopes of one thread, decref'd by the outermost. The
// first kInline live in the state itself; more (a clear, a shrink) spill to a heap block that
// the outermost scope frees when it closes. Trivially destructible and constant-initialized,
// so the thread_local needs no guard or exit hook: the hot paths pay one TLS address.
struct ReleaseState {
  static constexpr std::size_t kInline = 16;

  int depth = 0;         // open ReleaseScopes on this thread
  std::size_t size = 0;  // objects held (inline first, then spilled)
  std::size_t spill_capacity = 0;
  PyObject** spill = nullptr;
  PyObject* inline_objects[kInline] = {};

  [[nodiscard]] bool empty() const noexcept { return size == 0; }
  [[nodiscard]] PyObject* at(std::size_t i) const noexcept {
    return i < kInline ? inline_objects[i] : spill[i - kInline];
  }
  // False if the spill block cannot grow (out of memory); nothing is held then.
  [[nodiscard]] bool push(PyObject* object) noexcept {
    if (size < kInline) [[likely]] {
      inline_objects[size++] = object;
      return true;
    }
    const std::size_t spilled = size - kInline;
    if (spilled == spill_capacity) {
      const std::size_t grown = spill_capacity == 0 ? 64 : 2 * spill_capacity;
      void* block = std::realloc(static_cast<void*>(spill), grown * sizeof(PyObject*));
      if (block == nullptr) return false;
      spill = static_cast<PyObject**>(block);
      spill_capacity = grown;
    }
    spill[spilled] = object;
    ++size;
    return true;
  }
  // Forgets every object held and gives the spill block back.
  void reset() noexcept {
    size = 0;
    if (spill != nullptr) [[unlikely]] {
      std::free(static_cast<void*>(spill));
      spill = nullptr;
      spill_capacity = 0;
    }
  }
};

inline ReleaseState& release_state() noexcept {
  constinit thread_local ReleaseState state;
  return state;
}

// Objects released on threads without the GIL. Never destroyed: at process exit it may still
// hold pointers that must not be decref'd after the interpreter is gone.
struct Graveyard {
  std::mutex mutex;
  std::vector<PyObject*> objects;
  std::atomic<bool> nonempty{false};
};

[[gnu::always_inline]] inline Graveyard& graveyard() noexcept {
  static Graveyard* const yard = new Graveyard();  // NOLINT: deliberately leaked (see above)
  return *yard;
}

}  // namespace detail

inline bool holds_gil() noexcept;

// Drops one reference now if that is safe, otherwise defers it (see the top of this file).
// A reference that is not the object's last is dropped at once on a Python thread: that
// decref only decrements (it frees nothing and runs no code), so it is safe even under a
// bucket lock, and the scope has nothing to do on exit (an evicted key or value that the
// program still holds elsewhere: no list push, no decref loop).
[[gnu::noinline]] inline void release_later(PyObject* object) noexcept {
  detail::ReleaseState& state = detail::release_state();
  if (state.depth > 0) [[likely]] {
#if !defined(Py_GIL_DISABLED)
    // depth > 0: a binding entry point on this thread, which holds the GIL, unless a daemon
    // thread is being unwound at finalization (holds_gil() tells; it is one load until then).
    if (Py_REFCNT(object) > 1 && holds_gil()) [[likely]] {
      Py_DECREF(object);
      return;
    }
#endif
    // Out of memory for the list: fall through to the graveyard, which may also fail; leaking
    // one reference then beats decref'ing inside the engine.
    if (state.push(object)) return;
  }
  detail::Graveyard& yard = detail::graveyard();
  try {
    std::lock_guard<std::mutex> lock(yard.mutex);
    yard.objects.push_back(object);
    yard.nonempty.store(true, std::memory_order_release);
  } catch (const std::bad_alloc&) {
  } catch (const std::system_error&) {  // the mutex could not be locked
  }
}

// Whether this thread holds the GIL. False on a daemon thread that the exiting interpreter is
// ending (pthread_exit while it waited for the GIL): its unwinding must not decref. Not
// PyGILState_Check(): once finalization has deleted the GIL-state key it answers 1 on every
// thread, and a daemon thread unwinding then decref'd without the GIL (a rare
// "PyThreadState_Get: ... GIL is released" abort at exit). This thread's own state must be
// the one holding the GIL; after that key is gone there is no own state, and the few
// references released that late are left to the process's exit.
// Until finalization starts no thread is ended that way, and every caller (a binding entry
// point) holds the GIL: one load answers then, instead of a thread-specific-key lookup (about
// 30 instructions on every put that evicts). A daemon thread is ended only after it has seen
// the runtime finalizing, so its own read here sees it too.
inline bool holds_gil() noexcept {
#if PY_VERSION_HEX >= 0x030D0000
  if (!Py_IsFinalizing()) [[likely]]
    return true;
#else
  if (!_Py_IsFinalizing()) [[likely]]
    return true;
#endif
  PyThreadState* const mine = PyGILState_GetThisThreadState();
  return mine != nullptr && mine == _PyThreadState_UncheckedGet();
}

namespace detail {

// After a release this large (a clear() or deallocation of a big cache), hand the freed heap
// back to the system: glibc keeps freed memory in the arena of the thread that freed it until
// trimmed (issue 13.11: 113 MiB kept after a 2M-entry cache was filled, cleared and deleted).
// The trim costs far less than releasing that many objects did.
inline constexpr std::size_t kTrimAfter = std::size_t{1} << 16;

inline void after_large_release(std::size_t released) noexcept {
#if defined(__GLIBC__)
  if (released >= kTrimAfter) malloc_trim(0);
#else
  static_cast<void>(released);
#endif
}

}  // namespace detail

// Decrefs what other threads left in the graveyard. GIL held, no engine lock held.
inline void drain_graveyard() {
  detail::Graveyard& yard = detail::graveyard();
  if (!yard.nonempty.load(std::memory_order_acquire) || !holds_gil()) return;
  std::vector<PyObject*> objects;
  {
    std::lock_guard<std::mutex> lock(yard.mutex);
    objects.swap(yard.objects);
    yard.nonempty.store(false, std::memory_order_relaxed);
  }
  for (PyObject* o : objects) Py_DECREF(o);
  detail::after_large_release(objects.size());
}

// Opened by every binding entry point that calls the engine (GIL held). The outermost scope
// on a thread decrefs, on exit, everything released inside it, then drains the graveyard.
// Decrefs may re-enter the binding (a __del__ that uses the cache): those calls open their
// own scopes, and anything they release is picked up by the loop below.
class ReleaseScope {
 public:
  ReleaseScope() noexcept : state_(detail::release_state()) { ++state_.depth; }
  ReleaseScope(const ReleaseScope&) = delete;
  ReleaseScope& operator=(const ReleaseScope&) = delete;
  // noexcept(false): the decrefs may run Python code; a daemon thread that the interpreter
  // ends there at finalization (pthread_exit) must be able to unwind through this frame.
  ~ReleaseScope() noexcept(false) {
    // Inlined fast path: a nested scope, or nothing to release and no graveyard to drain.
    if (state_.depth > 1 ||
        (state_.empty() && !detail::graveyard().nonempty.load(std::memory_order_acquire)))
        [[likely]] {
      --state_.depth;
      return;
    }
    finish();
  }

 private:
  [[gnu::noinline]] void finish() noexcept(false) {
    // Still counted as open while decref'ing, so that objects released by re-entrant calls
    // queue up here instead of recursing.
    // Indexed, not iterated: re-entrant releases append (and may move the spill block).
    // Steady-state calls use the inline slots and do not allocate; a spill block is freed
    // here (13.11).
    detail::ReleaseState& state = state_;
    if (!state.empty() && !holds_gil()) {
      // Only while a daemon thread is being ended by the exiting interpreter (its forced
      // unwind runs this without the GIL): leave the objects to the process's exit.
      state.reset();
      --state.depth;
      return;
    }
    for (std::size_t i = 0; i < state.size; ++i) Py_DECREF(state.at(i));
    const std::size_t released = state.size;
    state.reset();
    --state.depth;
    drain_graveyard();
    detail::after_large_release(released);
  }

  detail::ReleaseState& state_;
};

// An owned strong reference that is released through release_later(). Copying increfs, so it
// needs the GIL; moving is free and noexcept (the engine requires that).
class PyRef {
 public:
  PyRef() noexcept = default;
  // Takes over a reference the caller owns.
  static PyRef steal(PyObject* object) noexcept { return PyRef(object); }
  // Adds a reference of its own.
  static PyRef borrow(PyObject* object) noexcept {
    Py_XINCREF(object);
    return PyRef(object);
  }

  PyRef(const PyRef& other) noexcept : object_(other.object_) { Py_XINCREF(object_); }
  PyRef(PyRef&& other) noexcept : object_(std::exchange(other.object_, nullptr)) {}
  PyRef& operator=(PyRef other) noexcept {
    std::swap(object_, other.object_);
    return *this;
  }
  ~PyRef() {
    if (object_ != nullptr) release_later(object_);
  }

  [[nodiscard]] PyObject* get() const noexcept { return object_; }
  // A new reference for the caller (to return to Python).
  [[nodiscard]] PyObject* new_reference() const noexcept {
    Py_XINCREF(object_);
    return object_;
  }

 private:
  explicit PyRef(PyObject* object) noexcept : object_(object) {}
  PyObject* object_ = nullptr;
};

}  // namespace cuckoocache::python
