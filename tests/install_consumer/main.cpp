// Compiled against the *installed* headers only: include paths come from cuckoocache::engine.
#include <engine/thread_index.h>

int main() {
  const auto first = cuckoocache::thread_index();
  return first == cuckoocache::thread_index() ? 0 : 1;
}
