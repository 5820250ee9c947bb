#!/usr/bin/env python3
"""Runs the reference implementations on text cases and prints their numbers as JSON.

Imports only the reference packages (nothing of them is kept in this repository):
  sacrebleu 2.x, rouge-score 0.1.2, NLTK (PorterStemmer), numpy.
Usage: PYTHONPATH=<sacrebleu src>:<rouge-score src> python3 reference.py < cases.json > results.json

cases.json: {"segments": [{"hyp": str, "refs": [str, ...]}, ...],
             "words": [str, ...],                     # optional: words to Porter-stem
             "bootstrap": [{"seed": int, "n_samples": int, "segments": [int, ...]}]}  # optional
"""
import json
import sys

import numpy as np
import sacrebleu
from sacrebleu.metrics import BLEU
from nltk.stem import porter
from rouge_score import rouge_scorer, scoring, tokenize

ROUGE_TYPES = ["rouge1", "rouge2", "rouge3", "rougeL", "rougeLsum"]
BLEU_CONFIGS = {
    "default": dict(),
    "lowercase": dict(lowercase=True),
    "tok-none": dict(tokenize="none"),
}
CORPUS_CONFIGS = {
    "exp": dict(),
    "floor": dict(smooth_method="floor"),
    "floor-0.125": dict(smooth_method="floor", smooth_value=0.125),
    "add-k": dict(smooth_method="add-k"),
    "add-k-2": dict(smooth_method="add-k", smooth_value=2),
    "none": dict(smooth_method="none"),
    "lowercase": dict(lowercase=True),
    "tok-none": dict(tokenize="none"),
    "eff": dict(effective_order=True),
}


def bleu_json(s):
    return {"score": s.score, "counts": list(s.counts), "totals": list(s.totals),
            "precisions": list(s.precisions), "bp": s.bp, "sys_len": s.sys_len, "ref_len": s.ref_len}


def prf(s):
    return [s.precision, s.recall, s.fmeasure]


def main():
    cases = json.loads(sys.stdin.read())
    segs = cases["segments"]
    out = {"versions": {"sacrebleu": sacrebleu.__version__, "numpy": np.__version__,
                        "nltk": __import__("nltk").__version__, "python": sys.version.split()[0]},
           "segments": [], "corpus": {}}
    metrics = {name: BLEU(**cfg) for name, cfg in BLEU_CONFIGS.items()}
    scorers = {stem: rouge_scorer.RougeScorer(ROUGE_TYPES, use_stemmer=stem) for stem in (False, True)}
    stemmer = porter.PorterStemmer()
    for seg in segs:
        hyp, refs = seg["hyp"], seg["refs"]
        r = {"bleu_stats": {}, "rouge": {}, "rouge_tokens": {}}
        for name, m in metrics.items():
            ref_info = m._extract_reference_info([m._preprocess_segment(x) for x in refs])
            r["bleu_stats"][name] = [int(x) for x in m._compute_segment_statistics(m._preprocess_segment(hyp), ref_info)]
        r["sentence_bleu"] = bleu_json(sacrebleu.sentence_bleu(hyp, refs))
        r["tokens_13a"] = metrics["default"]._preprocess_segment(hyp)
        for stem, sc in scorers.items():
            key = "stem" if stem else "plain"
            scores = sc.score_multi(refs, hyp)
            r["rouge"][key] = {t: prf(scores[t]) for t in ROUGE_TYPES}
            r["rouge_tokens"][key] = tokenize.tokenize(hyp, stemmer if stem else None)
        out["segments"].append(r)
    if segs:
        nrefs = max(len(s["refs"]) for s in segs)
        streams = [[s["refs"][k] if k < len(s["refs"]) else None for s in segs] for k in range(nrefs)]
        hyps = [s["hyp"] for s in segs]
        for name, cfg in CORPUS_CONFIGS.items():
            m = BLEU(**cfg)
            score = m.corpus_score(hyps, streams)
            out["corpus"][name] = dict(bleu_json(score), signature=str(m.get_signature()))
    if "words" in cases:
        out["stems"] = [stemmer.stem(w) for w in cases["words"]]
    out["bootstrap"] = []
    for b in cases.get("bootstrap", []):
        agg = scoring.BootstrapAggregator(n_samples=b["n_samples"])
        sc = scorers[False]
        for i in b["segments"]:
            agg.add_scores(sc.score_multi(segs[i]["refs"], segs[i]["hyp"]))
        np.random.seed(b["seed"])
        res = agg.aggregate()
        out["bootstrap"].append({t: {"low": prf(v.low), "mid": prf(v.mid), "high": prf(v.high)} for t, v in res.items()})
    json.dump(out, sys.stdout, ensure_ascii=True)


if __name__ == "__main__":
    main()
