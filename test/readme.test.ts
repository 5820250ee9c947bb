// The README's commands run as pasted: every ```sh block, in order, with bash, in one scratch folder
// (later blocks use the files earlier ones wrote), with `regen-bench` on PATH as a user's install has
// it (node_modules/.bin; `npx regen-bench` finds the same), the cache in the scratch folder, and
// REGEN_BENCH_SYNTH_SCALE so that `data synth --preset office` stays small. A block that cannot run
// here says why on the line above its fence: <!-- readme-test: skip (reason) -->.
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

import { afterAll, describe, expect, it } from 'vitest';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const readme = readFileSync(path.join(root, 'README.md'), 'utf8');

export interface ReadmeBlock {
  /** 1-based line of the opening fence. */
  line: number;
  /** The section heading above it. */
  section: string;
  script: string;
  /** The reason of a <!-- readme-test: skip (reason) --> marker, or null. */
  skip: string | null;
}

/** The ```sh blocks of a Markdown text (fences may be indented, as in list items). */
export function shellBlocks(markdown: string): ReadmeBlock[] {
  const lines = markdown.split('\n');
  const blocks: ReadmeBlock[] = [];
  let section = '';
  for (let i = 0; i < lines.length; i++) {
    const heading = /^#{1,6}\s+(.*)$/.exec(lines[i]);
    if (heading) section = heading[1];
    const open = /^(\s*)(```+)\s*(\S*)\s*$/.exec(lines[i]);
    if (!open) continue;
    const [, indent, fence, lang] = open;
    let end = i + 1;
    while (end < lines.length && !(lines[end].startsWith(indent + fence) && lines[end].trim() === fence)) end++;
    if (lang === 'sh' || lang === 'bash' || lang === 'shell') {
      let prev = i - 1;
      while (prev >= 0 && lines[prev].trim() === '') prev--;
      const marker = prev >= 0 ? /^\s*<!--\s*readme-test:\s*skip\s*\((.+)\)\s*-->\s*$/.exec(lines[prev]) : null;
      const body = lines.slice(i + 1, end).map((l) => (l.startsWith(indent) ? l.slice(indent.length) : l));
      blocks.push({ line: i + 1, section, script: body.join('\n'), skip: marker ? marker[1] : null });
    }
    i = end;
  }
  return blocks;
}

const blocks = shellBlocks(readme);
const work = mkdtempSync(path.join(os.tmpdir(), 'regen-bench-readme-'));
afterAll(() => rmSync(work, { recursive: true, force: true }));

// A user's project with regen-bench installed: node_modules/regen-bench is this checkout.
writeFileSync(path.join(work, 'package.json'), '{ "name": "readme-run", "private": true }\n');
mkdirSync(path.join(work, 'node_modules', '.bin'), { recursive: true });
symlinkSync(root, path.join(work, 'node_modules', 'regen-bench'), 'dir');
symlinkSync(path.join('..', 'regen-bench', 'bin', 'regen-bench.js'), path.join(work, 'node_modules', '.bin', 'regen-bench'));
const env: NodeJS.ProcessEnv = {
  ...process.env,
  PATH: `${path.join(work, 'node_modules', '.bin')}${path.delimiter}${process.env.PATH}`,
  REGEN_BENCH_CACHE: path.join(work, '.cache'),
  REGEN_BENCH_SYNTH_SCALE: '0.03',
  // npx must find the local install, never ask the registry.
  npm_config_offline: 'true',
  npm_config_update_notifier: 'false',
};

describe('README', () => {
  it('has shell blocks, and each skipped one says why', () => {
    expect(blocks.length).toBeGreaterThan(5);
    for (const b of blocks.filter((x) => x.skip !== null)) {
      expect(b.skip!.length, `README.md:${b.line}`).toBeGreaterThan(10);
      console.log(`README.md:${b.line} (${b.section}) skipped: ${b.skip}`);
    }
  });

  it('runs every shell block that is not marked skip, in order, as pasted', () => {
    const runnable = blocks.filter((b) => b.skip === null);
    expect(runnable.length).toBeGreaterThan(3);
    for (const b of runnable) {
      const started = Date.now();
      const r = spawnSync('bash', ['-euo', 'pipefail', '-c', b.script], { cwd: work, env, encoding: 'utf8', timeout: 300_000, maxBuffer: 64 << 20 });
      const where = `README.md:${b.line} (${b.section})`;
      const tail = (t: string) => t.split('\n').slice(-15).join('\n');
      if (r.status !== 0)
        throw new Error(
          `${where} failed (exit ${r.status}${r.signal ? `, ${r.signal}` : ''}; mark it <!-- readme-test: skip (reason) --> only if it cannot run offline here):\n` +
            `${b.script}\n--- stdout (tail)\n${tail(r.stdout)}\n--- stderr (tail)\n${tail(r.stderr)}`,
        );
      console.log(`${where}: ran in ${((Date.now() - started) / 1000).toFixed(1)} s`);
    }
  }, 900_000);

  it("the signature under Evaluation is the one eval prints on the demo (but for the backend)", () => {
    const shown = /`(regen-bench:[^`]*\|data:demo@[^`]*)`/.exec(readme)?.[1];
    expect(shown).toBeDefined();
    const r = spawnSync('regen-bench', ['eval', '--json'], { cwd: work, env, encoding: 'utf8' });
    expect(r.status, r.stderr).toBe(0);
    const actual = (JSON.parse(r.stdout) as { signature: string }).signature;
    const noBackend = (s: string) => s.replace(/\|backend:[^|]*$/, '|backend:*');
    expect(noBackend(shown!)).toBe(noBackend(actual));
  }, 120_000);
});

describe('shellBlocks', () => {
  it('finds indented fences and skip markers, and nothing in other languages', () => {
    const md = [
      '# A',
      '```sh',
      'echo one',
      '```',
      '## B',
      '- item',
      '  <!-- readme-test: skip (needs the network) -->',
      '',
      '  ```sh',
      '  curl x',
      '  ```',
      '```text',
      'regen-bench eval [--data D]',
      '```',
      '```ts',
      'const x = 1;',
      '```',
    ].join('\n');
    expect(shellBlocks(md)).toEqual([
      { line: 2, section: 'A', script: 'echo one', skip: null },
      { line: 9, section: 'B', script: 'curl x', skip: 'needs the network' },
    ]);
  });
});
