// The engine's worker threads, shared by every native call in the process. Plain C++: no N-API here.
#pragma once

namespace regen {

// How long an idle worker waits for its next task, and a caller for its workers, spinning before
// it sleeps (each round yields the CPU to any other runnable thread). Default 200 microseconds;
// 0 sleeps at once. Values outside [0, 1000000] are clamped.
void set_spin_microseconds(int us);
int spin_microseconds();

}  // namespace regen
