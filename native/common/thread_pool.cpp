#include "common/thread_pool.h"

#include <condition_variable>
#include <deque>
#include <mutex>
#include <thread>
#include <vector>

#if defined(__linux__)
#include <sched.h>
#endif

namespace regen::detail {
namespace {

class Pool {
 public:
  // Grows to `threads` workers on demand; never shrinks (workers sleep when idle).
  void ensure(int threads) {
    std::lock_guard<std::mutex> lock(mutex_);
    while (static_cast<int>(workers_.size()) < threads) workers_.emplace_back([this] { loop(); });
  }

  // avoid_cpu: the CPU of the thread that hands out the task (-1: none); see apart_from().
  void push(std::function<void()> task, int avoid_cpu) {
    {
      std::lock_guard<std::mutex> lock(mutex_);
      queue_.push_back(Task{std::move(task), avoid_cpu});
    }
    ready_.notify_one();
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
      Task task;
      {
        std::unique_lock<std::mutex> lock(mutex_);
        ready_.wait(lock, [this] { return stopping_ || !queue_.empty(); });
        if (queue_.empty()) return;  // stopping
        task = std::move(queue_.front());
        queue_.pop_front();
      }
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
  std::vector<std::thread> workers_;
  bool stopping_ = false;
};

Pool& pool() {
  static Pool p;
  return p;
}

}  // namespace

void run_parallel(int workers, const std::function<void(int)>& fn) {
  if (workers <= 1) {
    fn(0);
    return;
  }
  Pool& p = pool();
  p.ensure(workers - 1);
  std::mutex mutex;
  std::condition_variable done;
  int remaining = workers - 1;
#if defined(__linux__)
  const int caller_cpu = sched_getcpu();
#else
  const int caller_cpu = -1;
#endif
  for (int t = 1; t < workers; ++t)
    p.push(
        [&, t] {
          fn(t);
          std::lock_guard<std::mutex> lock(mutex);
          if (--remaining == 0) done.notify_one();
        },
        caller_cpu);
  fn(0);
  std::unique_lock<std::mutex> lock(mutex);
  done.wait(lock, [&] { return remaining == 0; });
}

}  // namespace regen::detail
