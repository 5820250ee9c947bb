// The command line as a user runs it: the compiled CLI (dist/) through bin/regen-bench.js.
import { execFileSync, spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

import { describe, expect, it } from 'vitest';

import { buildProgram } from '../src/cli/main.js';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const bin = path.join(root, 'bin', 'regen-bench.js');
const run = (...args: string[]) => spawnSync(process.execPath, [bin, ...args], { encoding: 'utf8' });

describe('regen-bench CLI', () => {
  it('--version prints the package version', () => {
    const { version } = JSON.parse(readFileSync(path.join(root, 'package.json'), 'utf8'));
    expect(execFileSync(process.execPath, [bin, '--version'], { encoding: 'utf8' }).trim()).toBe(version);
  });

  it('--help lists the commands', () => {
    const out = run('--help').stdout;
    expect(out).toMatch(/info/);
    expect(out).toMatch(/selftest/);
    for (const c of ['eval', 'merge', 'compare', 'baseline', 'data', 'score-text', 'prompts', 'generate', 'train', 'report', 'run']) expect(out).toMatch(new RegExp(`^  ${c} `, 'm'));
  });

  it('loads only the modules of the command it runs (start-up: --version and info load no command module)', async () => {
    const names = async (...args: string[]) => (await buildProgram(['node', 'regen-bench', ...args])).commands.map((c) => c.name());
    const own = ['info', 'selftest'];
    expect(await names('--version')).toEqual(own);
    expect(await names('info', '--json')).toEqual(own);
    expect(await names('eval', '--task', '1')).toEqual([...own, 'eval', 'merge', 'compare']);
    expect(await names('report', 'a')).toEqual([...own, 'report', 'run']);
    expect(await names('data', 'stats', 'demo')).toEqual([...own, 'data']);
    // No command, `help`, or an unknown one: every command, so that help and suggestions are complete.
    const all = [...own, 'eval', 'merge', 'compare', 'baseline', 'data', 'score-text', 'prompts', 'generate', 'train', 'report', 'run'];
    expect(await names()).toEqual(all);
    expect(await names('help', 'eval')).toEqual(all);
    expect(await names('evl')).toEqual(all);
    expect(run('evl').stderr).toMatch(/unknown command 'evl'\n\(Did you mean eval\?\)/);
  });

  it('info --json reports the backend, CPU features, kernels, threads and CUDA', () => {
    const r = run('info', '--json');
    expect(r.status).toBe(0);
    const info = JSON.parse(r.stdout);
    expect(info.backend).toBe('cpu');
    expect(info.supportedIsas).toContain('scalar');
    expect(info.supportedIsas).toContain(info.isa);
    expect(typeof info.cpu.features.avx2).toBe('boolean');
    expect(typeof info.cpu.features.amxTile).toBe('boolean');
    expect(info.threads.perSearch).toBeGreaterThanOrEqual(1);
    expect(info.cuda).toHaveProperty('binary');
    expect(run('info').stdout).toMatch(/AVX-512/);
  });

  it('info honours REGEN_ISA, REGEN_THREADS and REGEN_SPIN_US', () => {
    const r = spawnSync(process.execPath, [bin, 'info', '--json'], {
      encoding: 'utf8',
      env: { ...process.env, REGEN_ISA: 'scalar', REGEN_THREADS: '1', REGEN_SPIN_US: '0' },
    });
    const info = JSON.parse(r.stdout);
    expect(info.isa).toBe('scalar');
    expect(info.threads.perSearch).toBe(1);
    expect(info.threads.idleSpinMicroseconds).toBe(0);
    const text = spawnSync(process.execPath, [bin, 'info'], { encoding: 'utf8', env: { ...process.env, REGEN_SPIN_US: '0' } });
    expect(text.stdout).toContain('idle ones spin 0 us before they sleep   [REGEN_SPIN_US]');
    const { REGEN_SPIN_US: _unset, ...env } = process.env;
    expect(JSON.parse(spawnSync(process.execPath, [bin, 'info', '--json'], { encoding: 'utf8', env }).stdout).threads.idleSpinMicroseconds).toBe(200);
    for (const bad of ['abc', '-5', '1e3', '2000000']) {
      const b = spawnSync(process.execPath, [bin, 'info'], { encoding: 'utf8', env: { ...process.env, REGEN_SPIN_US: bad } });
      expect(b.status).not.toBe(0);
      expect(b.stderr).toContain(`REGEN_SPIN_US environment variable to be an integer number of microseconds in [0, 1000000] (0: idle engine threads sleep at once) but received "${bad}"`);
    }
  });

  it('selftest passes and says so', () => {
    const r = run('selftest', '--seed', '7');
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
    expect(r.stdout).toMatch(/selftest passed: \d+ checks \(seed 7\)/);
  });

  it('selftest --quick narrows the GPU selftest only: alone it says to add --gpu', () => {
    const r = run('selftest', '--quick');
    expect(r.status).toBe(1);
    expect(r.stderr).toMatch(/--quick narrows the GPU selftest: give it with --gpu N/);
  });

  it('a bad flag value is a one-line error and a non-zero exit', () => {
    const r = run('selftest', '--seed', 'abc');
    expect(r.status).not.toBe(0);
    expect(r.stderr).toMatch(/--seed expects an integer/);
  });
});
