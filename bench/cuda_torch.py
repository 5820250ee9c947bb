"""PyTorch reference for `npm run bench -- cuda`: matmul + topk + logsumexp on the same GPU.

Times, with CUDA events, what a researcher would write in PyTorch for one batch of queries
against the Clothing item table (376,847 items): scores = Q @ E^T (fp32 with TF32 off, or bf16),
torch.topk(scores, 10) and torch.logsumexp(scores) in float32. Prints JSON for bench/cuda.ts.
Usage: python3 bench/cuda_torch.py [--full] > torch.json
"""
import json
import sys

import torch

ITEMS = 376_847
USERS = 1_168_735
K = 10


def timed(fn, reps=10):
    fn()
    torch.cuda.synchronize()
    times = []
    for _ in range(reps):
        start, end = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
        start.record()
        fn()
        end.record()
        torch.cuda.synchronize()
        times.append(start.elapsed_time(end))
    times.sort()
    return times[len(times) // 2]


def search(q, e):
    s = q @ e.T
    top = torch.topk(s, K, dim=1)
    lse = torch.logsumexp(s.float(), dim=1)
    return top, lse


def main():
    torch.backends.cuda.matmul.allow_tf32 = False
    torch.backends.cudnn.allow_tf32 = False
    dev = torch.device("cuda")
    g = torch.Generator(device=dev).manual_seed(0)
    out = {"device": torch.cuda.get_device_name(0), "torch": torch.__version__, "scoring": [], "full": []}
    for dim in (64, 256):
        e32 = torch.rand(ITEMS, dim, device=dev, generator=g) * 2 - 1
        for precision, dtype in (("fp32", torch.float32), ("bf16", torch.bfloat16)):
            e = e32.to(dtype)
            for rows in (256, 4096):
                q = (torch.rand(rows, dim, device=dev, generator=g) * 2 - 1).to(dtype)
                ms = timed(lambda: search(q, e))
                out["scoring"].append({"precision": precision, "dim": dim, "rows": rows, "ms": ms})
        del e32
    if "--full" in sys.argv:
        dim, chunk = 64, 8192
        e32 = torch.rand(ITEMS, dim, device=dev, generator=g) * 2 - 1
        queries = torch.rand(USERS, dim, device=dev, generator=g) * 2 - 1
        for precision, dtype in (("fp32", torch.float32), ("bf16", torch.bfloat16)):
            e, qs = e32.to(dtype), queries.to(dtype)

            def run():
                for first in range(0, USERS, chunk):
                    search(qs[first:first + chunk], e)

            out["full"].append({"precision": precision, "dim": dim, "rows": USERS, "ms": timed(run, reps=1)})
    print(json.dumps(out))


if __name__ == "__main__":
    main()
