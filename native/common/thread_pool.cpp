#include "common/thread_pool.h"

#include "regen/threads.h"

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <deque>
#include <mutex>
#include <thread>
#include <vector>

#if defined(__linux__)
#include <sched.h>
#endif
#if defined(__x86_64__) || defined(_M_X64)
#include <immintrin.h>
#endif

namespace regen::detail {
namespace {

inline void cpu_relax() {
#if defined(__x86_64__) || defined(_M_X64)
  _mm_pause();
#endif
}

// How long a worker waits for its next task, and a caller for its workers, spinning before they
// sleep (regen/threads.h). A sleeping thread costs a wake-up when work arrives: a futex call, and on
// the 2-core VMs here an idle vCPU that starts slow. A 32-row Office bf16 search on 2 threads had its
// worker start 16-58 us late and run 13-20% slower than the caller, and its caller woken 30-45 us
// after the worker finished; back-to-back searches through ItemTable took 0.55-0.77 ms where 0.40
// with spinning, and 1-row ones 0.12 where 0.07 (README, "Zen 4, fourth session").
std::atomic<int> g_spin_us{200};

// Spins until ready() or the spin time has passed; returns ready(). Each round yields the CPU to
// any other thread runnable on it: on 2 cores the JavaScript thread and libuv's, which hand work in
// and take results out, often have to share a CPU with a spinner, and must not wait for it.
template <class Ready>
bool spin_until(Ready ready) {
  const int budget = g_spin_us.load(std::memory_order_relaxed);
  if (budget <= 0) return ready();
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::microseconds(budget);
  for (;;) {
    for (int i = 0; i < 16; ++i) {
      if (ready()) return true;
      cpu_relax();
    }
    std::this_thread::yield();
    if (std::chrono::steady_clock::now() >= deadline) return ready();
  }
}

class Pool {
 public:
  // Grows to `threads` workers on demand; never shrinks (idle workers spin a while, then sleep).
  void ensure(int threads) {
    std::lock_guard<std::mutex> lock(mutex_);
    while (static_cast<int>(workers_.size()) < threads) workers_.emplace_back([this] { loop(); });
  }

  // avoid_cpu: the CPU of the thread that hands out the task (-1: none); see apart_from().
  void push(std::function<void()> task, int avoid_cpu) {
    {
      std::lock_guard<std::mutex> lock(mutex_);
      queue_.push_back(Task{std::move(task), avoid_cpu});
      queued_.fetch_add(1, std::memory_order_release);
    }
    ready_.notify_one();  // no system call when no worker sleeps
  }

  ~Pool() {
    {
      std::lock_guard<std::mutex> lock(mutex_);
      stopping_ = true;
    }
    ready_.notify_all();
    for (auto& w : workers_) w.join();
  }

 private:
  struct Task {
    std::function<void()> run;
    int avoid_cpu;
  };

  void loop() {
    for (;;) {
      // Spinning on the counter, not the lock: waiting workers do not slow the thread pushing.
      spin_until([this] { return queued_.load(std::memory_order_acquire) > 0; });
      Task task;
      {
        std::unique_lock<std::mutex> lock(mutex_);
        ready_.wait(lock, [this] { return stopping_ || !queue_.empty(); });
        if (queue_.empty()) return;  // stopping
        task = std::move(queue_.front());
        queue_.pop_front();
        queued_.fetch_sub(1, std::memory_order_relaxed);
      }
      // A spinning worker is already running on a CPU of its own; one woken from sleep may have
      // been placed on the caller's.
      apart_from(task.avoid_cpu);
      task.run();
    }
  }

  // A worker woken on the CPU of the thread that handed it the task would share that CPU with it
  // until the scheduler balances them out, which kernels that pack threads onto few vCPUs
  // (sched_vcpu_pack on the 2-core VMs here) did not do within a search: after the main thread had
  // been busy, Office searches of 32 rows took 0.77 ms (median of 50) instead of 0.45. The worker
  // moves to another CPU it may run on (one affinity call, only then), and may run anywhere again
  // from its next task.
  static void apart_from(int cpu) {
#if defined(__linux__)
    thread_local cpu_set_t before;  // the worker's affinity before it last moved
    thread_local bool moved = false;
    if (moved) {
      sched_setaffinity(0, sizeof before, &before);
      moved = false;
    }
    if (cpu < 0 || sched_getcpu() != cpu || sched_getaffinity(0, sizeof before, &before) != 0) return;
    cpu_set_t others = before;
    CPU_CLR(cpu, &others);
    if (CPU_COUNT(&others) > 0) moved = sched_setaffinity(0, sizeof others, &others) == 0;
#else
    (void)cpu;
#endif
  }

  std::mutex mutex_;
  std::condition_variable ready_;
  std::deque<Task> queue_;
  std::atomic<int> queued_{0};  // queue_.size(), read without the lock by spinning workers
  std::vector<std::thread> workers_;
  bool stopping_ = false;
};

Pool& pool() {
  static Pool p;
  return p;
}

}  // namespace

}  // namespace regen::detail

namespace regen {

void set_spin_microseconds(int us) { detail::g_spin_us.store(us < 0 ? 0 : us > 1000000 ? 1000000 : us, std::memory_order_relaxed); }
int spin_microseconds() { return detail::g_spin_us.load(std::memory_order_relaxed); }

}  // namespace regen

namespace regen::detail {

void run_parallel(int workers, const std::function<void(int)>& fn) {
  if (workers <= 1) {
    fn(0);
    return;
  }
  Pool& p = pool();
  p.ensure(workers - 1);
  std::mutex mutex;
  std::condition_variable done;
  std::atomic<int> remaining{workers - 1};
#if defined(__linux__)
  const int caller_cpu = sched_getcpu();
#else
  const int caller_cpu = -1;
#endif
  for (int t = 1; t < workers; ++t)
    p.push(
        [&, t] {
          fn(t);
          // Under the lock: once the caller has taken the lock after seeing 0, no worker touches
          // mutex or done again (they live on the caller's stack).
          std::lock_guard<std::mutex> lock(mutex);
          if (remaining.fetch_sub(1, std::memory_order_acq_rel) == 1) done.notify_one();
        },
        caller_cpu);
  fn(0);
  spin_until([&] { return remaining.load(std::memory_order_acquire) == 0; });
  std::unique_lock<std::mutex> lock(mutex);
  done.wait(lock, [&] { return remaining.load(std::memory_order_acquire) == 0; });
}

}  // namespace regen::detail
