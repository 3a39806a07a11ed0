// What every eviction policy sees when it scores a sampled entry (EntryMeta and Score are
// in engine/entry_meta.h, below the policies, because the sampler keeps them too).
//
// A policy is a small stateless type with a static score(): the lower the score, the sooner
// the entry should go. Eviction samples a few live slots, scores each with the active policy
// and removes the lowest. Scores are plain values so they can be kept between rounds in the
// sampler's candidate pool and compared later. ADAPTIVE is the one policy with state (its
// window and its simulation), and it uses these scores for its main region.
#pragma once

#include "../engine/entry_meta.h"
#include "../engine/frequency_sketch.h"

namespace cuckoocache {

struct ScoreContext {
  const FrequencySketch& sketch;
  // The cache is small enough to be exact (engine/eviction.h): every slot is scored, the
  // recency tick advances on every use, and `uses` counts an entry's uses exactly.
  bool exact = false;
};

}  // namespace cuckoocache
