"""Python references for `npm run bench -- text --python`: sacrebleu 2.6.0 and rouge-score 0.1.2.

Scores a JSON Lines file of {"hyp": ..., "ref": ...} pairs with the reference packages, single
thread, and prints one JSON object: per stage the CPU time (time.process_time, imports and file
reading excluded) and the results the TypeScript side checks against (corpus BLEU, ROUGE means).
Nothing here is downloaded: place the sources yourself and put them on PYTHONPATH, e.g.
  REGEN_PYREF=/work/pyref:/work/pyref/rouge  (sacrebleu/ and rouge_score/ below those folders)
Debian packages they need: python3-regex python3-tabulate python3-numpy python3-colorama
python3-lxml python3-portalocker python3-absl python3-nltk.
Usage: python3 bench/text_python.py PAIRS.jsonl STAGE[,STAGE...]
Stages: bleu, rouge (rouge1/2/L), rouge-stem (same, use_stemmer=True),
        score-text (what `regen-bench score-text` computes: BLEU + rouge1/2/L/Lsum).
"""
import json
import math
import resource
import sys
import time

import sacrebleu
from rouge_score import rouge_scorer


def rouge_means(scorer, hyps, refs, types):
    sums = {t: ([], [], []) for t in types}
    for h, r in zip(hyps, refs):
        s = scorer.score(r, h)
        for t in types:
            sums[t][0].append(s[t].precision)
            sums[t][1].append(s[t].recall)
            sums[t][2].append(s[t].fmeasure)
    n = len(hyps)
    return {t: {"precision": math.fsum(p) / n, "recall": math.fsum(r) / n, "fmeasure": math.fsum(f) / n} for t, (p, r, f) in sums.items()}


def main():
    path, stages = sys.argv[1], sys.argv[2].split(",")
    hyps, refs = [], []
    with open(path, encoding="utf-8") as f:
        for line in f:
            if line.strip():
                o = json.loads(line)
                hyps.append(o["hyp"])
                refs.append(o["ref"])
    out = {"sacrebleu": sacrebleu.__version__, "n": len(hyps), "stages": {}}
    r3 = ["rouge1", "rouge2", "rougeL"]
    for stage in stages:
        t0 = time.process_time()
        if stage == "bleu":
            res = {"bleu": sacrebleu.corpus_bleu(hyps, [refs]).score}
        elif stage == "rouge":
            res = {"rouge": rouge_means(rouge_scorer.RougeScorer(r3, use_stemmer=False), hyps, refs, r3)}
        elif stage == "rouge-stem":
            res = {"rouge": rouge_means(rouge_scorer.RougeScorer(r3, use_stemmer=True), hyps, refs, r3)}
        elif stage == "score-text":
            r4 = r3 + ["rougeLsum"]
            res = {"bleu": sacrebleu.corpus_bleu(hyps, [refs]).score, "rouge": rouge_means(rouge_scorer.RougeScorer(r4), hyps, refs, r4)}
        else:
            sys.exit(f"text_python.py: unknown stage {stage!r} (bleu, rouge, rouge-stem, score-text)")
        res["cpu_s"] = time.process_time() - t0
        out["stages"][stage] = res
    ru = resource.getrusage(resource.RUSAGE_SELF)
    out["process_cpu_s"] = ru.ru_utime + ru.ru_stime
    print(json.dumps(out))


if __name__ == "__main__":
    main()
