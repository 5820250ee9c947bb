// A process-wide pool of worker threads for the kernels. Threads persist between searches, so
// each search skips thread creation and the OS keeps a stable placement of workers on cores.
#pragma once

#include <functional>

namespace regen::detail {

// Runs fn(0) .. fn(workers - 1) concurrently, fn(0) on the calling thread, and returns when all
// have finished. Safe to call from several threads at once: their tasks share the pool's queue, so
// a task may start late; callers must split their work dynamically (a shared counter) so that a
// late task finds nothing left rather than holding everyone up.
void run_parallel(int workers, const std::function<void(int)>& fn);

}  // namespace regen::detail
