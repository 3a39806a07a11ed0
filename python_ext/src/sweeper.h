// The binding's use of the engine's ExpirySweeper (engine/expiry_sweeper.h): one background
// thread sweeps every Python cache that uses a TTL.
//
// The thread sweeps without the GIL and never touches a reference count while doing so:
// entries it removes are moved out of the engine and their objects go to the graveyard
// (py_ref.h). After each round its hook takes the GIL briefly and decrefs them, so memory is
// given back within one interval whatever the Python threads do (before, only the next call
// of some binding methods released it). No engine or sweeper lock is held then.
//
// Lifecycle rules that keep it from hanging or crashing the interpreter:
//  - Deallocating a cache detaches it (waits for a sweep of it in progress, which never needs
//    the GIL).
//  - pause() joins the thread, which may be waiting for the GIL in its hook, so it lets go of
//    the GIL while it waits: called before os.fork() (the child must not inherit a held
//    mutex) and at interpreter exit (atexit, registered by the package), after which the
//    thread is never restarted and so never takes the GIL of a finalizing interpreter.
//  - resume() starts it again (after fork, in parent and child) if any cache is registered.
#pragma once

#include <Python.h>

#include "engine/expiry_sweeper.h"
#include "py_ref.h"

namespace cuckoocache::python {

// The process's sweeper for Python caches, its hook installed.
inline ExpirySweeper& python_sweeper() {
  static ExpirySweeper& sweeper = []() -> ExpirySweeper& {
    ExpirySweeper& s = ExpirySweeper::shared();
    s.set_after_round([] {
      if (!detail::graveyard().nonempty.load(std::memory_order_acquire)) return;
      if (_Py_IsFinalizing()) return;  // never reached: the module pauses the sweeper at exit
      const PyGILState_STATE gil = PyGILState_Ensure();
      {
        ReleaseScope scope;  // drains the graveyard when it closes
      }
      PyGILState_Release(gil);
    });
    return s;
  }();
  return sweeper;
}

// Stops the sweeper thread (GIL held by the caller; released while joining).
inline void pause_sweeper(bool for_good) {
  ExpirySweeper& sweeper = python_sweeper();
  Py_BEGIN_ALLOW_THREADS sweeper.pause(for_good);
  Py_END_ALLOW_THREADS
}

}  // namespace cuckoocache::python
