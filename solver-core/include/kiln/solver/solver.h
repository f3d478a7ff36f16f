// solver-core: executes LLB Definitions (see DESIGN.md). It depends on llb
// only and knows nothing of Dockerfiles or other frontend languages.
//
// What is here so far: the stores a build needs (content_store.h,
// image_store.h, snapshotter.h), the registry client (registry.h), layer
// unpacking (layer_unpack.h), image archives (image_archive.h) and LLB image
// sources (image_source.h); for the solver itself, the validated op graph
// (graph.h), cache keys (cache_key.h) and the runc executor (executor.h,
// user_lookup.h). The scheduler and the ops that use them come with the rest
// of the solver issue: nothing here runs a whole Definition yet.
#ifndef KILN_SOLVER_SOLVER_H_
#define KILN_SOLVER_SOLVER_H_

#include "kiln/llb/status.h"

namespace kiln::solver {}  // namespace kiln::solver

#endif  // KILN_SOLVER_SOLVER_H_
