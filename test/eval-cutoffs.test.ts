// eval --k 5,10,20: several cut-offs in one pass. Each cut-off's numbers and intervals are those of a
// run with that cut-off alone; one cut-off keeps the settings and signature it always had.
import { spawnSync } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

import { describe, expect, it } from 'vitest';

import { comparePartFiles } from '../src/eval/compare.js';
import { checkCutoffs, runEval } from '../src/eval/run.js';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const dir = mkdtempSync(path.join(tmpdir(), 'regen-cutoffs-'));
const quick = { bootstrapSamples: 200, semsim: false as const, task: 1 as const, model: 'sknn' };

describe('eval with several cut-offs', () => {
  it('reports recall@k and ndcg@k per cut-off, each equal to a run with that cut-off alone', async () => {
    const many = await runEval({ ...quick, k: [20, 5, 10], out: path.join(dir, 'many') });
    const json = many.json as { signature: string; ranking: Record<string, number>; ci: { ranking: Record<string, [number, number]> } };
    expect(Object.keys(json.ranking)).toEqual(['recall@5', 'ndcg@5', 'recall@10', 'ndcg@10', 'recall@20', 'ndcg@20', 'mrr', 'n']);
    expect(json.signature).toContain('|k:5+10+20|');
    expect(many.parts[0].settings.k).toBe(20);
    expect(many.parts[0].settings.cutoffs).toEqual([5, 10, 20]);
    for (const k of [5, 10, 20]) {
      const one = (await runEval({ ...quick, k })).json as typeof json;
      expect(json.ranking[`recall@${k}`]).toBe(one.ranking[`recall@${k}`]);
      expect(json.ranking[`ndcg@${k}`]).toBe(one.ranking[`ndcg@${k}`]);
      expect(json.ranking.mrr).toBe(one.ranking.mrr);
      // The same resamples: the same intervals.
      expect(json.ci.ranking[`recall@${k}`]).toEqual(one.ci.ranking[`recall@${k}`]);
      expect(json.ci.ranking[`ndcg@${k}`]).toEqual(one.ci.ranking[`ndcg@${k}`]);
    }
    expect(many.markdown).toContain('| Task | Recall@5 | NDCG@5 | Recall@10 | NDCG@10 | Recall@20 | NDCG@20 | MRR | n |');
  });

  it('keeps one cut-off as it was: no cutoffs field, k:10 in the signature', async () => {
    const one = await runEval({ ...quick, k: 10 });
    expect(one.parts[0].settings).not.toHaveProperty('cutoffs');
    expect((one.json as { signature: string }).signature).toContain('|k:10|');
    const list = await runEval({ ...quick, k: [10] });
    expect(list.json).toEqual(one.json);
  });

  it('compares runs cut-off by cut-off', async () => {
    await runEval({ ...quick, model: 'pop', k: [5, 10, 20], out: path.join(dir, 'pop') });
    const c = comparePartFiles(path.join(dir, 'pop'), path.join(dir, 'many'), { samples: 100 });
    expect(c.metrics.slice(0, 7).map((m) => m.metric)).toEqual(['recall@5', 'ndcg@5', 'recall@10', 'ndcg@10', 'recall@20', 'ndcg@20', 'mrr']);
    await runEval({ ...quick, model: 'pop', k: 10, out: path.join(dir, 'pop10') });
    expect(() => comparePartFiles(path.join(dir, 'pop10'), path.join(dir, 'many'))).toThrow(/differ in k \(10 vs 5,10,20\)/);
  });

  it('refuses bad cut-offs with the flag and the fix', () => {
    expect(() => checkCutoffs([5, 10, 5])).toThrow(/lists the cut-off 5 twice/);
    expect(() => checkCutoffs([])).toThrow(/at least one cut-off/);
    expect(() => checkCutoffs([0])).toThrow(/integers from 1 to 100000 but received 0/);
    const cli = (k: string) => spawnSync(process.execPath, [path.join(root, 'bin/regen-bench.js'), 'eval', '--task', '1', '--k', k], { encoding: 'utf8' });
    expect(cli('10,10').stderr).toMatch(/--k lists the cut-off 10 twice in '10,10': give each once/);
    expect(cli('5,x').stderr).toMatch(/--k expects one cut-off or a comma-separated list of integers in \[1, 100000\] \(e\.g\. --k 10 or --k 5,10,20\) but received '5,x'/);
    expect(cli('0').status).toBe(1);
  });
});
