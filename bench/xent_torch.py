"""PyTorch reference for `npm run bench -- xent`: the unfused full-catalogue cross-entropy.

For each shape, what a researcher writes in PyTorch: logits = Q @ E.T + b (B x N, materialised),
F.cross_entropy(logits, t, reduction='sum'), then .backward() for the gradients of Q, E and b.
Reports the median time of a forward + backward, the peak extra memory of one (CPU: the process's
resident-set high-water mark, reset through /proc/self/clear_refs just before, minus the resident
set then; CUDA: torch.cuda.max_memory_allocated minus the memory allocated before), the logits'
bytes (the least any unfused implementation holds), and the GEMM rate of Q @ E.T alone for context.
Prints JSON for bench/xent.ts.

Usage: python3 bench/xent_torch.py [--device cpu|cuda|cuda:N] [--shapes dataset:items:dim:rows:precision,...]
       [--max-bytes N] [--threads N] [--budget-seconds S]
Shapes whose logits would pass --max-bytes (default 8 GiB on the CPU, half the free memory on a GPU:
the forward and backward hold about three B x N float32 arrays) are skipped and reported with their
logits' size.
"""
import json
import os
import sys
import time

import torch
import torch.nn.functional as F


def arg(name, default=None):
    return sys.argv[sys.argv.index(name) + 1] if name in sys.argv else default


def rss_bytes():
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) * 1024
    return 0


def hwm_bytes():
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) * 1024
    return 0


def reset_hwm():
    try:
        with open("/proc/self/clear_refs", "w") as f:
            f.write("5")
        return True
    except OSError:
        return False


def main():
    device = torch.device(arg("--device", "cpu"))
    torch.set_num_threads(int(arg("--threads", str(os.cpu_count() or 1))))
    budget = float(arg("--budget-seconds", "60"))
    cuda = device.type == "cuda"
    if cuda:
        torch.backends.cuda.matmul.allow_tf32 = False
    default_bytes = torch.cuda.mem_get_info(device)[0] // 2 if cuda else 8 * 2**30
    max_bytes = int(float(arg("--max-bytes", str(default_bytes))))
    shapes = []
    for spec in arg("--shapes", "office:27887:64:1024:fp32").split(","):
        dataset, items, dim, rows, precision = spec.split(":")
        shapes.append((dataset, int(items), int(dim), int(rows), precision))
    out = {
        "torch": torch.__version__,
        "device": torch.cuda.get_device_name(device) if cuda else "cpu",
        "threads": torch.get_num_threads(),
        "memory": "cuda max_memory_allocated" if cuda else "VmHWM after clear_refs minus VmRSS",
        "rows": [],
    }
    g = torch.Generator(device=device).manual_seed(0)
    for dataset, items, dim, rows, precision in shapes:
        dtype = torch.bfloat16 if precision == "bf16" else torch.float32
        logits_bytes = rows * items * (2 if precision == "bf16" else 4)
        row = {"dataset": dataset, "items": items, "dim": dim, "rows": rows, "precision": precision, "logitsBytes": logits_bytes}
        if logits_bytes * 3 > max_bytes:
            row["skipped"] = f"the logits alone take {logits_bytes / 2**30:.1f} GiB (x3 with the softmax and its gradient) > --max-bytes"
            out["rows"].append(row)
            continue
        e = ((torch.rand(items, dim, device=device, generator=g) * 2 - 1)).to(dtype).requires_grad_()
        b = ((torch.rand(items, device=device, generator=g) - 0.5)).to(dtype).requires_grad_()
        q = ((torch.rand(rows, dim, device=device, generator=g) * 2 - 1)).to(dtype).requires_grad_()
        t = torch.randint(0, items, (rows,), device=device, generator=g)

        def step():
            e.grad = b.grad = q.grad = None
            loss = F.cross_entropy((q @ e.T + b).float(), t, reduction="sum")
            loss.backward()

        def sync():
            if cuda:
                torch.cuda.synchronize()

        # Peak extra memory of one step (the first, so nothing is cached yet on the CPU).
        sync()
        if cuda:
            torch.cuda.reset_peak_memory_stats(device)
            before = torch.cuda.memory_allocated(device)
        else:
            before = rss_bytes()
            have_hwm = reset_hwm()
        t0 = time.perf_counter()
        step()
        sync()
        first = time.perf_counter() - t0
        if cuda:
            row["peakExtraBytes"] = torch.cuda.max_memory_allocated(device) - before
        elif have_hwm:
            row["peakExtraBytes"] = hwm_bytes() - before
        # Time: the median of the steps that fit in the budget after the first (at least one; the
        # first alone when it took more than half the budget).
        times, cpu = [], []
        start = time.perf_counter()
        while not times or (first < budget / 2 and len(times) < 10 and time.perf_counter() - start < budget):
            c0 = time.process_time()
            t0 = time.perf_counter()
            step()
            sync()
            times.append(time.perf_counter() - t0)
            cpu.append(time.process_time() - c0)
            if first >= budget / 2:
                break
        times.sort()
        cpu.sort()
        row["ms"] = times[len(times) // 2] * 1000
        row["cpuMs"] = cpu[len(cpu) // 2] * 1000  # process CPU time, every thread
        row["reps"] = len(times)
        # The forward GEMM alone, for the library's own matmul rate.
        with torch.no_grad():
            sync()
            t0 = time.perf_counter()
            reps = 0
            while reps < 2 or time.perf_counter() - t0 < 1.0:
                _ = q @ e.T
                sync()
                reps += 1
            row["gemmGflops"] = 2 * rows * items * dim * reps / (time.perf_counter() - t0) / 1e9
        out["rows"].append(row)
        del e, b, q, t
    print(json.dumps(out))


if __name__ == "__main__":
    main()
