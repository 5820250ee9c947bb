"""PyTorch reference for `npm run bench -- train`: the same SASRec (pre-LN transformer, GELU
feed-forward, learned positions counted back from the last item, tied item embeddings) trained
with full cross-entropy over every item, on the same training sequences, on the CPU.

Written the way a PyTorch user would: sequences left-padded to the batch's longest (padding is
computed and masked, as in SASRec.pytorch and RecBole), logits = h @ E^T for every position, then
F.cross_entropy and AdamW. Times `--steps` batches after one warm-up batch and extrapolates to the
epoch; prints JSON for bench/train.ts, with the rate of a plain matmul of the loss's shape
(Debian's python3-torch is built with a generic BLAS: its CPU matmul is slow, so the ratio is context
only, not a claim about PyTorch at its best).
Usage: python3 bench/train_torch.py --data sequences.txt --items N [--dim 64] [--layers 2]
       [--heads 1] [--max-len 50] [--batch 128] [--steps 4] [--threads 2]
"""
import argparse
import json
import math
import time

import torch
import torch.nn as nn
import torch.nn.functional as F


class Block(nn.Module):
    def __init__(self, d, heads, dropout):
        super().__init__()
        self.ln1 = nn.LayerNorm(d)
        self.qkv = nn.Linear(d, 3 * d)
        self.proj = nn.Linear(d, d)
        self.ln2 = nn.LayerNorm(d)
        self.fc = nn.Linear(d, 4 * d)
        self.fc_proj = nn.Linear(4 * d, d)
        self.heads = heads
        self.drop = nn.Dropout(dropout)

    def forward(self, x, mask):
        B, T, C = x.shape
        h = self.heads
        q, k, v = self.qkv(self.ln1(x)).split(C, dim=2)
        q = q.view(B, T, h, C // h).transpose(1, 2)
        k = k.view(B, T, h, C // h).transpose(1, 2)
        v = v.view(B, T, h, C // h).transpose(1, 2)
        att = (q @ k.transpose(-2, -1)) / math.sqrt(C // h)
        att = att.masked_fill(~mask, float("-inf")).softmax(-1).nan_to_num(0.0)
        y = (self.drop(att) @ v).transpose(1, 2).reshape(B, T, C)
        x = x + self.drop(self.proj(y))
        return x + self.drop(self.fc_proj(F.gelu(self.fc(self.ln2(x)), approximate="tanh")))


class SASRec(nn.Module):
    def __init__(self, items, d, layers, heads, max_len, dropout):
        super().__init__()
        self.items = nn.Embedding(items, d)
        self.pos = nn.Embedding(max_len, d)
        self.blocks = nn.ModuleList([Block(d, heads, dropout) for _ in range(layers)])
        self.ln_f = nn.LayerNorm(d)
        self.drop = nn.Dropout(dropout)

    def forward(self, ids, valid):
        B, T = ids.shape
        # Left-padded: the last column is the most recent item, position 0.
        pos = torch.arange(T - 1, -1, -1, device=ids.device).unsqueeze(0).expand(B, T)
        x = self.drop(self.items(ids) + self.pos(pos))
        causal = torch.ones(T, T, dtype=torch.bool).tril()
        mask = (causal.unsqueeze(0) & valid.unsqueeze(1)).unsqueeze(1)
        for b in self.blocks:
            x = b(x, mask)
        return self.ln_f(x)


def load_sequences(path):
    seqs = []
    with open(path) as f:
        for line in f:
            parts = line.split()
            if len(parts) < 2:
                continue
            items = [int(x) - 1 for x in parts[1:]]
            train = items[:-2]  # leave-one-out: the last two are valid and test
            if len(train) >= 2:
                seqs.append(train)
    return seqs


def batch_tensors(batch, max_len):
    rows = [s[-(max_len + 1):] for s in batch]
    T = max(len(r) - 1 for r in rows)
    ids = torch.zeros(len(rows), T, dtype=torch.long)
    tgt = torch.full((len(rows), T), -100, dtype=torch.long)
    valid = torch.zeros(len(rows), T, dtype=torch.bool)
    for i, r in enumerate(rows):
        n = len(r) - 1
        ids[i, T - n:] = torch.tensor(r[:-1])
        tgt[i, T - n:] = torch.tensor(r[1:])
        valid[i, T - n:] = True
    return ids, tgt, valid


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--data", required=True)
    ap.add_argument("--items", type=int, required=True)
    ap.add_argument("--dim", type=int, default=64)
    ap.add_argument("--layers", type=int, default=2)
    ap.add_argument("--heads", type=int, default=1)
    ap.add_argument("--max-len", type=int, default=50)
    ap.add_argument("--batch", type=int, default=128)
    ap.add_argument("--dropout", type=float, default=0.2)
    ap.add_argument("--steps", type=int, default=4)
    ap.add_argument("--threads", type=int, default=2)
    a = ap.parse_args()
    torch.set_num_threads(a.threads)
    torch.manual_seed(0)
    seqs = load_sequences(a.data)
    g = torch.Generator().manual_seed(0)
    order = torch.randperm(len(seqs), generator=g).tolist()
    batches = [[seqs[i] for i in order[b:b + a.batch]] for b in range(0, len(order), a.batch)]
    model = SASRec(a.items, a.dim, a.layers, a.heads, a.max_len, a.dropout)
    opt = torch.optim.AdamW(model.parameters(), lr=1e-3, weight_decay=0.0)
    positions = sum(min(len(s) - 1, a.max_len) for s in seqs)

    def step(batch):
        ids, tgt, valid = batch_tensors(batch, a.max_len)
        h = model(ids, valid)
        logits = h.reshape(-1, a.dim) @ model.items.weight.T
        loss = F.cross_entropy(logits, tgt.reshape(-1), ignore_index=-100)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        return loss.item(), int(valid.sum())

    step(batches[0])
    steps = min(a.steps, len(batches) - 1)
    done = 0
    t0 = time.perf_counter()
    for b in batches[1:steps + 1]:
        _, n = step(b)
        done += n
    sec = time.perf_counter() - t0
    # The loss's matmul alone, at this run's mean rows per batch.
    rows = max(1, done // max(steps, 1))
    q = torch.randn(rows, a.dim)
    e = torch.randn(a.items, a.dim)
    q @ e.T
    t1 = time.perf_counter()
    reps = 5
    for _ in range(reps):
        q @ e.T
    mm = (time.perf_counter() - t1) / reps
    print(json.dumps({
        "torch": torch.__version__,
        "threads": a.threads,
        "blas": torch.__config__.show().split("BLAS_INFO=")[1].split(",")[0] if "BLAS_INFO=" in torch.__config__.show() else "unknown",
        "steps": steps,
        "positions_timed": done,
        "seconds_timed": sec,
        "positions_per_s": done / sec,
        "epoch_positions": positions,
        "epoch_seconds_estimate": positions / (done / sec),
        "matmul_gflops": 2 * rows * a.items * a.dim / mm / 1e9,
        "matmul_shape": [rows, a.dim, a.items],
    }))


if __name__ == "__main__":
    main()
