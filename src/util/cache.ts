// Where regen-bench keeps what it can rebuild: prepared datasets, file hashes, sentence-encoder
// downloads and embeddings, LLM narrators' generations. One root for all of them, never inside node_modules (which `npm ci`
// wipes): $REGEN_BENCH_CACHE, else the platform's per-user cache folder.
import os from 'node:os';
import path from 'node:path';

/** The kinds of cached data, each in its own subfolder of the root. */
export type CacheKind = 'datasets' | 'hashes' | 'embeddings' | 'models' | 'generations';

/**
 * The cache root: $REGEN_BENCH_CACHE; else $XDG_CACHE_HOME/regen-bench or ~/.cache/regen-bench
 * (Linux and other Unix), ~/Library/Caches/regen-bench (macOS), %LOCALAPPDATA%\regen-bench\Cache
 * (Windows). Relative values of the variables are ignored, as the XDG specification asks.
 */
export function cacheRoot(env: NodeJS.ProcessEnv = process.env, platform: NodeJS.Platform = process.platform, home = os.homedir()): string {
  const own = env.REGEN_BENCH_CACHE;
  if (own) return path.resolve(own);
  if (platform === 'win32') {
    const local = env.LOCALAPPDATA;
    return path.win32.join(local && path.win32.isAbsolute(local) ? local : path.win32.join(home, 'AppData', 'Local'), 'regen-bench', 'Cache');
  }
  if (platform === 'darwin') return path.join(home, 'Library', 'Caches', 'regen-bench');
  const xdg = env.XDG_CACHE_HOME;
  return path.join(xdg && path.isAbsolute(xdg) ? xdg : path.join(home, '.cache'), 'regen-bench');
}

/** The folder of one kind of cached data under the root (or under `root` when given). */
export function cacheDir(kind: CacheKind, root?: string): string {
  return path.join(root ?? cacheRoot(), kind);
}
