// Run files: `regen-bench run experiment.yaml` runs every eval it lists into its own folder, skips the
// ones done with the same options and inputs, saves the resolved configuration and writes the report.
// Bad files are errors naming the file, the line and the key.
import { spawnSync } from 'node:child_process';
import { cpSync, existsSync, mkdtempSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

import { describe, expect, it } from 'vitest';

import { readExperiment } from '../src/experiment/config.js';
import { runExperiment } from '../src/experiment/run.js';
import { runBaseline } from '../src/eval/baseline.js';
import { runEval } from '../src/eval/run.js';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const dir = mkdtempSync(path.join(tmpdir(), 'regen-experiment-'));
const write = (name: string, text: string) => {
  const f = path.join(dir, name);
  writeFileSync(f, text);
  return f;
};

describe('run files', () => {
  it('runs every eval, saves the resolved configuration, writes the report; a rerun skips what is done', async () => {
    await runBaseline({ task: 1, model: 'markov', out: path.join(dir, 'markov.jsonl'), k: 20 });
    const file = write(
      'experiment.yaml',
      ['data: demo', 'tasks: [1]', 'k: [10, 5]', 'bootstrap: 100', 'models:', '  - pop', '  - sknn', '  - predictions: markov.jsonl', '    name: markov-preds', 'baseline: pop', 'out: results', 'report:', '  format: csv'].join('\n') + '\n',
    );
    const exp = await readExperiment(file);
    expect(exp.k).toEqual([5, 10]);
    expect(exp.models.map((m) => m.name)).toEqual(['pop', 'sknn', 'markov-preds']);
    expect(exp.models[2].predictions).toBe(path.join(dir, 'markov.jsonl'));
    const lines: string[] = [];
    const first = await runExperiment(exp, { log: (l) => lines.push(l) });
    expect(first.evals.map((e) => [e.model, e.task, e.skipped])).toEqual([
      ['pop', 1, false],
      ['sknn', 1, false],
      ['markov-preds', 1, false],
    ]);
    // Each eval is the eval the CLI runs: the same report.json.
    const direct = await runEval({ task: 1, model: 'sknn', k: [5, 10], bootstrapSamples: 100, semsim: false });
    const viaRun = JSON.parse(readFileSync(path.join(dir, 'results', 'sknn', 'task1', 'report.json'), 'utf8'));
    expect(viaRun.ranking).toEqual(direct.json.ranking);
    expect(viaRun.signature).toBe((direct.json as { signature: string }).signature);
    const csv = readFileSync(path.join(dir, 'results', 'report.csv'), 'utf8').trim().split('\n');
    expect(csv).toHaveLength(4);
    expect(csv[1]).toMatch(/^pop\+template,Hist -> ID,1,yes,3000,/);
    expect(readFileSync(path.join(dir, 'results', 'report.html'), 'utf8')).toContain('<figure class="chart" data-chart="curves"');
    const config = JSON.parse(readFileSync(first.config, 'utf8'));
    expect(config.tool).toMatch(/^regen-bench \d/);
    expect(config.resolved.out).toBe(path.join(dir, 'results'));
    expect(config.resolved.bootstrap).toBe(100);
    expect(config.resolved.split).toBe('test');
    expect(config.evals).toHaveLength(3);

    const mtime = statSync(path.join(dir, 'results', 'pop', 'task1', 'report.json')).mtimeMs;
    const again = await runExperiment(await readExperiment(file), { log: (l) => lines.push(l) });
    expect(again.evals.every((e) => e.skipped)).toBe(true);
    expect(statSync(path.join(dir, 'results', 'pop', 'task1', 'report.json')).mtimeMs).toBe(mtime);
    expect(lines.filter((l) => /done before .*skipped/.test(l))).toHaveLength(3);

    // Changed inputs are not done: a predictions file with other contents runs again, the rest is skipped.
    await runBaseline({ task: 1, model: 'markov', out: path.join(dir, 'markov.jsonl'), k: 10 });
    const third = await runExperiment(await readExperiment(file));
    expect(third.evals.map((e) => e.skipped)).toEqual([true, true, false]);

    // The experiment folder moved as a whole (run file, predictions, results): still done.
    const moved = mkdtempSync(path.join(tmpdir(), 'regen-experiment-moved-'));
    for (const f of ['experiment.yaml', 'markov.jsonl', 'results']) cpSync(path.join(dir, f), path.join(moved, f), { recursive: true });
    const fourth = await runExperiment(await readExperiment(path.join(moved, 'experiment.yaml')));
    expect(fourth.evals.every((e) => e.skipped)).toBe(true);
  }, 240_000);

  it('fails like eval on a predictions file with too many bad lines (exit 3, unless --allow-bad-input), also when the eval was done before', async () => {
    const good = readFileSync(path.join(dir, 'markov.jsonl'), 'utf8').trim().split('\n');
    writeFileSync(path.join(dir, 'half-bad.jsonl'), good.map((l, i) => (i % 2 ? '{not json' : l)).join('\n') + '\n');
    const file = write('bad-input.yaml', ['tasks: [1]', 'bootstrap: 50', 'models:', '  - predictions: half-bad.jsonl', 'out: bad-results'].join('\n') + '\n');
    const cli = (...args: string[]) => spawnSync(process.execPath, [path.join(root, 'bin/regen-bench.js'), 'run', file, ...args], { encoding: 'utf8', cwd: dir });
    const r = cli();
    expect(r.status, r.stderr).toBe(3);
    expect(r.stderr).toMatch(/regen-bench: half-bad, task 1: .*half-bad\.jsonl/);
    const again = cli();
    expect(again.stderr).toMatch(/done before .*skipped/);
    expect(again.status).toBe(3);
    expect(cli('--allow-bad-input').status).toBe(0);
  }, 120_000);

  it('reads the same experiment from JSON, and runs from the CLI', () => {
    const file = write('experiment.json', JSON.stringify({ tasks: [1], k: 10, bootstrap: 50, models: ['pop', { model: 'sknn', name: 'session-knn' }], out: 'json-results' }));
    const r = spawnSync(process.execPath, [path.join(root, 'bin/regen-bench.js'), 'run', file, '--print'], { encoding: 'utf8', cwd: dir });
    expect(r.status, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/\| sknn\+template \| Hist -> ID \| 0\.\d{3} \[/);
    expect(r.stderr).toMatch(/eval 2 of 2: session-knn, task 1 -> json-results\/session-knn\/task1/);
    expect(r.stderr).toContain(`wrote ${path.join(dir, 'json-results', 'report.md')}`);
  }, 120_000);

  it('names the file, line and key of every mistake', async () => {
    const bad = async (name: string, text: string) => readExperiment(write(name, text)).then(() => 'no error', (e: Error) => e.message);
    expect(await bad('a.yaml', 'models: [pop]\nout: r\nbotstrap: 10\n')).toMatch(/a\.yaml:3: botstrap is not a setting here \(expected one of data, category/);
    expect(await bad('b.yaml', 'models: [pop]\nout: r\nk: [5, ten]\n')).toMatch(/b\.yaml:3: k\[1\] must be an integer in \[1, 100000\], not "ten"/);
    expect(await bad('c.yaml', 'models:\n  - predictions: nowhere.jsonl\nout: r\n')).toMatch(/c\.yaml:2: models\[0\]\.predictions names .*nowhere\.jsonl, which does not exist \(relative paths are read from the run file's folder/);
    expect(await bad('d.yaml', 'models: [pop, sknn]\nbaseline: bm25\nout: r\n')).toMatch(/d\.yaml:2: baseline must be the name of one of the models \(pop, sknn\), not "bm25"/);
    expect(await bad('e.yaml', 'models: [pop, pop]\nout: r\n')).toMatch(/e\.yaml:1: models holds two models named 'pop'/);
    expect(await bad('f.yaml', 'models: [pop\nout: r\n')).toMatch(/^.*f\.yaml:\d+: /);
    expect(await bad('g.yaml', 'out: r\n')).toMatch(/g\.yaml:1: the file has no models/);
    expect(await bad('h.yaml', 'models:\n  - model: pop\n    predictions: x.jsonl\nout: r\n')).toMatch(/h\.yaml:2: models\[0\] must give exactly one of model, predictions or checkpoint \(it gives model and predictions\)/);
    expect(await bad('i.txt', 'models: [pop]\n')).toMatch(/i\.txt: a run file is \.yaml, \.yml or \.json/);
    expect(await bad('j.yaml', 'models: [pop]\nout: r\nreport:\n  format: pdf\n')).toMatch(/j\.yaml:4: report\.format must be one of markdown, csv, latex, json/);
    expect(await bad('k.yaml', '- pop\n')).toMatch(/k\.yaml:1: the file is not a mapping of settings/);
    await expect(readExperiment(path.join(dir, 'missing.yaml'))).rejects.toThrow(/missing\.yaml: no such run file/);
    // Names are checked before anything runs, and the message points into the file, not at a flag.
    expect(await bad('l.yaml', 'models:\n  - pop\n  - popular\nout: never\n')).toMatch(/l\.yaml:3: models\[1\] unknown model "popular"; built-in models: pop, markov/);
    expect(await bad('m.yaml', 'models:\n  - {model: pop, narrator: poet}\nout: never\n')).toMatch(/m\.yaml:2: models\[0\]\.narrator unknown narrator "poet"; narrators: template/);
    expect(await bad('n.yaml', 'models: [critique-bm25:nobody]\nout: never\n')).toMatch(/n\.yaml:1: models\[0\] model critique-bm25:nobody: unknown base model 'nobody'/);
    expect(existsSync(path.join(dir, 'never'))).toBe(false);
    expect((await readExperiment(write('o.yaml', 'models: [pop]\nout: r\nsemsim: true\n'))).semsim).toBe('Xenova/all-MiniLM-L6-v2');
  });
});
