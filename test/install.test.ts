// What installing regen-bench brings and where it writes: the optional packages (transformers.js,
// onnxruntime-node) stay out of a user's install and say how to add them when a feature needs them;
// no production dependency runs an install script; the clone denies onnxruntime-node's CUDA download;
// caches live under REGEN_BENCH_CACHE or the user's cache folder, never in node_modules; the release
// platforms of the prepack check and of the release workflow agree. (.ci/check-packed-install does
// the real install of the packed tarball with no compiler.)
import { spawnSync } from 'node:child_process';
import { copyFileSync, existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

import { afterAll, describe, expect, it } from 'vitest';

import { defaultCacheDir } from '../src/data/load.js';
import { defaultModelCacheDir, isModelCached, SentenceEncoder } from '../src/metrics/text/semsim.js';
import { cacheDir, cacheRoot } from '../src/util/cache.js';
import { OPTIONAL_VERSIONS } from '../src/util/optional-deps.js';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const pkg = JSON.parse(readFileSync(path.join(root, 'package.json'), 'utf8'));
const lock = JSON.parse(readFileSync(path.join(root, 'package-lock.json'), 'utf8'));
const tmp = mkdtempSync(path.join(os.tmpdir(), 'regen-bench-install-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

describe('dependencies', () => {
  it('transformers.js and onnxruntime-node are optional peers (and dev dependencies of the clone), at the versions the messages name', () => {
    for (const name of ['@huggingface/transformers', 'onnxruntime-node'] as const) {
      expect(pkg.dependencies[name]).toBeUndefined();
      expect(pkg.peerDependenciesMeta[name]).toEqual({ optional: true });
      expect(pkg.peerDependencies[name]).toBe(`^${OPTIONAL_VERSIONS[name]}`);
      expect(pkg.devDependencies[name]).toBe(OPTIONAL_VERSIONS[name]);
    }
  });

  it('no production dependency has an install script (a user install runs only regen-bench\'s own)', () => {
    const withScripts = Object.entries(lock.packages as Record<string, { dev?: boolean; devOptional?: boolean; hasInstallScript?: boolean }>)
      .filter(([name, p]) => name !== '' && !p.dev && !p.devOptional && p.hasInstallScript)
      .map(([name]) => name);
    expect(withScripts).toEqual([]);
  });

  it("the clone denies onnxruntime-node's install step: allowScripts (npm 11.16+) and .npmrc (older npm)", () => {
    expect(pkg.allowScripts['onnxruntime-node']).toBe(false);
    expect(readFileSync(path.join(root, '.npmrc'), 'utf8')).toMatch(/^onnxruntime-node-install=skip$/m);
    // Every dev dependency with an install script is decided, so npm 12 (which blocks undecided ones) and npm 11 behave alike.
    const withScripts = Object.entries(lock.packages as Record<string, { hasInstallScript?: boolean }>)
      .filter(([name, p]) => name !== '' && p.hasInstallScript)
      .map(([name]) => name.replace(/^.*node_modules\//, ''));
    for (const name of withScripts) expect(typeof pkg.allowScripts[name], name).toBe('boolean');
  });

  it('a missing optional package is a MissingDependencyError naming the feature and the npm install to run', async () => {
    // The compiled module copied where no node_modules is reachable, run by plain node (vitest would
    // resolve the package from the project): its import fails as in a user's project without it.
    const copy = path.join(tmp, 'optional-deps.mjs');
    copyFileSync(path.join(root, 'dist', 'util', 'optional-deps.js'), copy);
    const probe = (name: string, feature: string) => {
      const script = `import(${JSON.stringify(pathToFileURL(copy).href)}).then((m) => m.importOptional(${JSON.stringify(name)}, ${JSON.stringify(feature)}))
        .then(() => console.log(JSON.stringify({ loaded: true })), (e) => console.log(JSON.stringify({ name: e.name, code: e.code, message: e.message })))`;
      return JSON.parse(spawnSync(process.execPath, ['-e', script], { cwd: tmp, encoding: 'utf8' }).stdout) as { name: string; code: string; message: string };
    };
    const err = probe('@huggingface/transformers', 'semantic similarity');
    expect(err).toMatchObject({ name: 'MissingDependencyError', code: 'REGEN_MISSING_DEPENDENCY' });
    expect(err.message).toMatch(/^semantic similarity needs the optional package @huggingface\/transformers, which is not installed\./);
    expect(err.message).toContain('npm pkg set allowScripts.onnxruntime-node=false --json');
    expect(err.message).toContain(`npm install @huggingface/transformers@${OPTIONAL_VERSIONS['@huggingface/transformers']}`);
    expect(probe('onnxruntime-node', "a LUMEN checkpoint's decoder body").message).toContain(`onnxruntime-node@${OPTIONAL_VERSIONS['onnxruntime-node']}`);
    // Installed (the clone): the real module.
    const { importOptional } = await import('../src/util/optional-deps.js');
    expect(typeof (await importOptional<{ pipeline: unknown }>('@huggingface/transformers', 'x')).pipeline).toBe('function');
  });
});

describe('caches', () => {
  const home = '/home/u';
  it('REGEN_BENCH_CACHE, else the platform user cache folder', () => {
    expect(cacheRoot({ REGEN_BENCH_CACHE: '/data/rb' }, 'linux', home)).toBe('/data/rb');
    expect(cacheRoot({}, 'linux', home)).toBe('/home/u/.cache/regen-bench');
    expect(cacheRoot({ XDG_CACHE_HOME: '/xdg' }, 'linux', home)).toBe('/xdg/regen-bench');
    expect(cacheRoot({ XDG_CACHE_HOME: 'relative/ignored' }, 'linux', home)).toBe('/home/u/.cache/regen-bench');
    expect(cacheRoot({}, 'darwin', home)).toBe('/home/u/Library/Caches/regen-bench');
    expect(cacheRoot({ LOCALAPPDATA: 'C:\\Users\\u\\AppData\\Local' }, 'win32', 'C:\\Users\\u')).toBe('C:\\Users\\u\\AppData\\Local\\regen-bench\\Cache');
    expect(cacheRoot({}, 'win32', 'C:\\Users\\u')).toBe('C:\\Users\\u\\AppData\\Local\\regen-bench\\Cache');
  });

  it('datasets, embeddings and downloaded encoders all live under the root, never in node_modules', () => {
    const saved = process.env.REGEN_BENCH_CACHE;
    process.env.REGEN_BENCH_CACHE = path.join(tmp, 'cache');
    try {
      expect(defaultCacheDir()).toBe(path.join(tmp, 'cache'));
      expect(cacheDir('embeddings')).toBe(path.join(tmp, 'cache', 'embeddings'));
      expect(defaultModelCacheDir()).toBe(path.join(tmp, 'cache', 'models'));
      delete process.env.REGEN_BENCH_CACHE;
      for (const dir of [defaultCacheDir(), cacheDir('embeddings'), defaultModelCacheDir()]) expect(dir).not.toMatch(/node_modules/);
    } finally {
      process.env.REGEN_BENCH_CACHE = saved;
    }
  });

  it('an offline hub model is looked up in regen-bench\'s model cache, before transformers.js is loaded', async () => {
    const models = path.join(tmp, 'models');
    expect(isModelCached('Xenova/all-MiniLM-L6-v2', { modelCacheDir: models })).toBe(false);
    await expect(SentenceEncoder.load({ model: 'Xenova/all-MiniLM-L6-v2', offline: true, modelCacheDir: models })).rejects.toThrow(
      new RegExp(`not available offline: the model cache ${path.join(models, 'Xenova', 'all-MiniLM-L6-v2').replace(/[/\\]/g, '.')} lacks config.json`),
    );
    expect(existsSync(models)).toBe(false); // nothing written
  });
});

describe('release', () => {
  it('the release workflow builds every platform the prepack check expects, CUDA on linux-x64', () => {
    const workflow = readFileSync(path.join(root, '.github', 'workflows', 'release.yml'), 'utf8');
    const prepack = readFileSync(path.join(root, 'scripts', 'prepack.mjs'), 'utf8');
    const expected = [...(/const RELEASE = \{([^}]*)\}/.exec(prepack)?.[1].matchAll(/'([a-z0-9]+-[a-z0-9]+)'/g) ?? [])].map((m) => m[1]).sort();
    const built = [...workflow.matchAll(/- platform: ([a-z0-9]+-[a-z0-9]+)/g)].map((m) => m[1]).sort();
    expect(expected).toEqual(['darwin-arm64', 'linux-arm64', 'linux-x64', 'win32-x64']);
    expect(built).toEqual(expected);
    expect(workflow).toMatch(/- platform: linux-x64\n\s+runner: [\w.-]+\n\s+cuda: 'ON'/);
  });

  it('the package ships a LICENSE with the Apache-2.0 text and no source maps', () => {
    expect(pkg.license).toBe('Apache-2.0');
    expect(readFileSync(path.join(root, 'LICENSE'), 'utf8')).toMatch(/Apache License\s+Version 2\.0, January 2004/);
    const build = JSON.parse(readFileSync(path.join(root, 'tsconfig.build.json'), 'utf8').replace(/^\s*\/\/.*$/gm, ''));
    expect(build.compilerOptions.sourceMap).toBe(false);
    expect(pkg.scripts.prepack).toBe('node scripts/prepack.mjs');
  });
});
