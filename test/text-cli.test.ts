// `regen-bench score-text` as a user runs it (compiled CLI through bin/regen-bench.js).
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

import { describe, expect, it } from 'vitest';

import { rougeScoreMultiReference } from '../src/metrics/text/reference.js';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const bin = path.join(root, 'bin', 'regen-bench.js');
const run = (...args: string[]) => spawnSync(process.execPath, [bin, ...args], { encoding: 'utf8' });
const dir = mkdtempSync(path.join(os.tmpdir(), 'regen-text-'));
const file = (name: string, content: string) => {
  const p = path.join(dir, name);
  writeFileSync(p, content);
  return p;
};

const golden = JSON.parse(readFileSync(path.join(root, 'test', 'golden', 'text-golden.json'), 'utf8'));
const cases = JSON.parse(readFileSync(path.join(root, 'test', 'golden', 'text-cases.json'), 'utf8'));

describe('regen-bench score-text', () => {
  it('--json prints {n, bleu, rouge} equal to sacrebleu and rouge-score on the golden corpus', () => {
    const lines = cases.segments.map((s: { hyp: string; refs: string[] }) => JSON.stringify(s.refs.length === 1 ? { hyp: s.hyp, ref: s.refs[0] } : s));
    const input = file('golden.jsonl', lines.join('\r\n') + '\r\n');
    const r = run('score-text', '--input', input, '--json');
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
    const out = JSON.parse(r.stdout);
    expect(Object.keys(out)).toEqual(['n', 'bleu', 'rouge']);
    expect(out.n).toBe(cases.segments.length);
    expect(Object.keys(out.bleu)).toEqual(['score', 'counts', 'totals', 'precisions', 'bp', 'sys_len', 'ref_len', 'signature']);
    expect(out.bleu.counts).toEqual(golden.corpus.exp.counts);
    expect(out.bleu.score).toBeCloseTo(golden.corpus.exp.score, 9);
    expect(Object.keys(out.rouge)).toEqual(['rouge1', 'rouge2', 'rougeL', 'rougeLsum']);
    // rouge means = mean over pairs of rouge-score's score_multi
    for (const t of ['rouge1', 'rougeL']) {
      const mean = golden.segments.reduce((a: number, g: { rouge: { plain: Record<string, number[]> } }) => a + g.rouge.plain[t][2], 0) / cases.segments.length;
      expect(out.rouge[t].fmeasure).toBeCloseTo(mean, 12);
      expect(Object.keys(out.rouge[t])).toEqual(['precision', 'recall', 'fmeasure']);
    }
  });

  it('--per-example writes sentence BLEU and the four ROUGE triples per pair; --stem stems', () => {
    const input = file('small.jsonl', ['{"hyp": "The runners were running.", "ref": "A runner runs."}', '{"hyp": "x", "refs": ["x y", "x"]}'].join('\n'));
    const out = path.join(dir, 'per.jsonl');
    const r = run('score-text', '--input', input, '--stem', '--per-example', out);
    expect(r.status).toBe(0);
    expect(r.stdout).toMatch(/BLEU = /);
    expect(r.stdout).toMatch(/nrefs:var\|case:mixed\|eff:no\|tok:13a\|smooth:exp/);
    const rows = readFileSync(out, 'utf8').trim().split('\n').map((l) => JSON.parse(l));
    expect(rows).toHaveLength(2);
    expect(Object.keys(rows[0].bleu)).toEqual(['score', 'counts', 'totals']);
    expect(Object.keys(rows[0].rouge)).toEqual(['rouge1', 'rouge2', 'rougeL', 'rougeLsum']);
    const expected = rougeScoreMultiReference(['A runner runs.'], 'The runners were running.', ['rouge1'], true).rouge1;
    expect(rows[0].rouge.rouge1).toEqual(expected);
    expect(rows[1].bleu.score).toBe(100.00000000000004); // sacrebleu.sentence_bleu('x', ['x y', 'x']).score
    expect(readdirSync(dir).filter((f) => f.includes('.tmp-'))).toEqual([]);
  });

  const bad: [string, string, RegExp][] = [
    ['invalid JSON', '{"hyp": "a", "ref": "b"}\n{"hyp": "a", "ref": }\n', /bad\.jsonl:2: invalid JSON/],
    ['missing hyp', '{"hyp": "a", "ref": "b"}\n\n{"ref": "b"}\n', /bad\.jsonl:3: missing "hyp"/],
    ['non-string hyp', '{"hyp": 3, "ref": "b"}\n', /bad\.jsonl:1: "hyp" must be a string but is the number 3/],
    ['non-string ref', '{"hyp": "a", "refs": ["b", null]}\n', /bad\.jsonl:1: "refs"\[1\] must be a string but is null/],
    ['missing ref', '{"hyp": "a"}\n', /bad\.jsonl:1: missing "ref" \(or "refs"\)/],
    ['empty refs', '{"hyp": "a", "refs": []}\n', /bad\.jsonl:1: "refs" must be a non-empty array/],
    ['not an object', '["a", "b"]\n', /bad\.jsonl:1: expected a JSON object/],
  ];
  for (const [what, content, message] of bad)
    it(`${what}: names the line, stops, writes nothing`, () => {
      const input = file('bad.jsonl', content);
      const out = path.join(dir, `never-${what.replace(/ /g, '-')}.jsonl`);
      const r = run('score-text', '--input', input, '--per-example', out, '--json');
      expect(r.status).not.toBe(0);
      expect(r.stderr).toMatch(message);
      expect(r.stdout).toBe('');
      expect(existsSync(out)).toBe(false);
    });

  it('reports skipped blank lines, and a missing file or bad flag clearly', () => {
    const input = file('blank.jsonl', '{"hyp": "a b", "ref": "a b"}\n\n   \n{"hyp": "c", "ref": "c"}\n');
    const r = run('score-text', '--input', input, '--json');
    expect(r.status).toBe(0);
    expect(r.stderr).toMatch(/skipped 2 blank lines/);
    expect(JSON.parse(r.stdout).n).toBe(2);
    expect(run('score-text', '--input', path.join(dir, 'nope.jsonl')).stderr).toMatch(/--input .*nope\.jsonl: no such file/);
    expect(run('score-text', '--input', input, '--smooth', 'magic').stderr).toMatch(/--smooth/);
    expect(run('score-text', '--input', input, '--threads', '0').stderr).toMatch(/--threads expects an integer in \[1, 1024\]/); // issue 13: the shared --threads parser
  });

  it('--bootstrap adds rouge-score-style intervals, reproducible with --seed; options change the signature', () => {
    const input = file('ci.jsonl', Array.from({ length: 20 }, (_, i) => JSON.stringify({ hyp: `a b c ${i % 3}`, ref: `a b ${i % 4} c` })).join('\n'));
    const a = JSON.parse(run('score-text', '--input', input, '--json', '--bootstrap', '50', '--seed', '3').stdout);
    const b = JSON.parse(run('score-text', '--input', input, '--json', '--bootstrap', '50', '--seed', '3').stdout);
    expect(a.rouge_ci).toEqual(b.rouge_ci);
    expect(a.rouge_ci.rouge1.low.fmeasure).toBeLessThanOrEqual(a.rouge_ci.rouge1.high.fmeasure);
    const c = JSON.parse(run('score-text', '--input', input, '--json', '--lowercase', '--smooth', 'floor', '--tokenize', 'none').stdout);
    expect(c.bleu.signature).toMatch(/^nrefs:1\|case:lc\|eff:no\|tok:none\|smooth:floor\[0\.10\]\|version:/);
  });

  it('--help lists score-text', () => {
    expect(run('--help').stdout).toMatch(/score-text/);
  });
});

describe('regen-bench score-text --semsim (tiny local encoder, offline)', () => {
  it('adds semsim to --json and per pair, and names what is missing offline', async () => {
    const { writeTinyEncoder } = await import('./helpers/tiny-encoder.js');
    const model = writeTinyEncoder(path.join(dir, 'tiny'));
    const input = file('sem.jsonl', '{"hyp": "the cat sat", "ref": "the cat sat"}\n{"hyp": "blue ink", "refs": ["dog", "fine tip"]}\n');
    const per = path.join(dir, 'sem-per.jsonl');
    const r = run('score-text', '--input', input, '--json', '--semsim', model, '--offline', '--embedding-cache', path.join(dir, 'emb'), '--per-example', per);
    expect(r.status).toBe(0);
    const out = JSON.parse(r.stdout);
    expect(out.semsim.model).toBe(model);
    expect(out.semsim.dim).toBe(6);
    const rows = readFileSync(per, 'utf8').trim().split('\n').map((l) => JSON.parse(l));
    expect(rows[0].semsim).toBeCloseTo(1, 6);
    expect(out.semsim.mean).toBeCloseTo((rows[0].semsim + rows[1].semsim) / 2, 12);
    const missing = run('score-text', '--input', input, '--semsim', path.join(dir, 'no-model'), '--offline');
    expect(missing.status).not.toBe(0);
    expect(missing.stderr).toMatch(/--semsim .*no-model: no such folder/);
  });
});
