// Headless Chromium driven over the DevTools protocol on a pipe (--remote-debugging-pipe: commands on
// fd 3, replies and events on fd 4, each a NUL-terminated JSON message), so that a test can render a
// page, read its console, evaluate script in it and take a screenshot without any npm dependency.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { Readable, Writable } from 'node:stream';

/** The Chromium on PATH (Debian's `chromium`), or $CHROMIUM; null when there is none. */
export function findChromium(): string | null {
  const candidates = [process.env.CHROMIUM, 'chromium', 'chromium-browser', 'google-chrome'].filter((x): x is string => !!x);
  for (const c of candidates) {
    const r = spawnSync(c, ['--version'], { encoding: 'utf8', timeout: 20_000 });
    if (r.status === 0 && /chrom/i.test(r.stdout)) return c;
  }
  return null;
}

export interface ConsoleEntry {
  level: string;
  text: string;
}

export class Browser {
  private readonly child: ChildProcess;
  private readonly profile: string;
  private nextId = 1;
  private buffer = '';
  private readonly pending = new Map<number, { resolve: (v: any) => void; reject: (e: Error) => void; method: string }>();
  private readonly listeners: ((m: any) => void)[] = [];
  /** Console errors and warnings, uncaught exceptions and failed loads, from every page. */
  readonly console: ConsoleEntry[] = [];
  private closed = false;

  constructor(executable: string) {
    this.profile = mkdtempSync(path.join(tmpdir(), 'regen-chromium-'));
    this.child = spawn(
      executable,
      ['--headless=new', '--no-sandbox', '--disable-gpu', '--disable-dev-shm-usage', '--no-first-run', '--no-default-browser-check', '--remote-debugging-pipe', `--user-data-dir=${this.profile}`, 'about:blank'],
      { stdio: ['ignore', 'ignore', 'ignore', 'pipe', 'pipe'] },
    );
    const out = this.child.stdio[4] as Readable;
    out.setEncoding('utf8');
    out.on('data', (chunk: string) => {
      this.buffer += chunk;
      let end: number;
      while ((end = this.buffer.indexOf('\0')) >= 0) {
        const message = JSON.parse(this.buffer.slice(0, end));
        this.buffer = this.buffer.slice(end + 1);
        this.dispatch(message);
      }
    });
    this.child.on('exit', () => {
      this.closed = true;
      for (const p of this.pending.values()) p.reject(new Error(`chromium exited while waiting for ${p.method}`));
      this.pending.clear();
    });
  }

  private dispatch(m: any): void {
    if (m.id !== undefined) {
      const p = this.pending.get(m.id);
      if (!p) return;
      this.pending.delete(m.id);
      if (m.error) p.reject(new Error(`${p.method}: ${m.error.message}`));
      else p.resolve(m.result);
      return;
    }
    if (m.method === 'Runtime.consoleAPICalled' && ['error', 'warning', 'assert'].includes(m.params.type))
      this.console.push({ level: m.params.type, text: m.params.args.map((a: any) => a.value ?? a.description ?? '').join(' ') });
    if (m.method === 'Runtime.exceptionThrown') this.console.push({ level: 'exception', text: m.params.exceptionDetails?.exception?.description ?? m.params.exceptionDetails?.text });
    if (m.method === 'Log.entryAdded' && ['error', 'warning'].includes(m.params.entry.level)) this.console.push({ level: m.params.entry.level, text: `${m.params.entry.text} ${m.params.entry.url ?? ''}`.trim() });
    for (const l of this.listeners) l(m);
  }

  send<T = any>(method: string, params: Record<string, unknown> = {}, sessionId?: string): Promise<T> {
    if (this.closed) return Promise.reject(new Error(`chromium is closed (${method})`));
    const id = this.nextId++;
    const promise = new Promise<T>((resolve, reject) => this.pending.set(id, { resolve, reject, method }));
    (this.child.stdio[3] as Writable).write(JSON.stringify({ id, method, params, ...(sessionId ? { sessionId } : {}) }) + '\0');
    return promise;
  }

  waitFor(method: string, sessionId: string, timeoutMs = 30_000): Promise<any> {
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`no ${method} within ${timeoutMs} ms`)), timeoutMs);
      const l = (m: any) => {
        if (m.method === method && m.sessionId === sessionId) {
          clearTimeout(timer);
          this.listeners.splice(this.listeners.indexOf(l), 1);
          resolve(m.params);
        }
      };
      this.listeners.push(l);
    });
  }

  /** Opens url at the given viewport, waits for its load event, and returns a handle to the page. */
  async open(url: string, viewport: { width: number; height: number; mobile?: boolean }): Promise<Page> {
    const { targetId } = await this.send('Target.createTarget', { url: 'about:blank' });
    const { sessionId } = await this.send('Target.attachToTarget', { targetId, flatten: true });
    await this.send('Runtime.enable', {}, sessionId);
    await this.send('Log.enable', {}, sessionId);
    await this.send('Page.enable', {}, sessionId);
    await this.send('Emulation.setDeviceMetricsOverride', { width: viewport.width, height: viewport.height, deviceScaleFactor: 1, mobile: !!viewport.mobile }, sessionId);
    const loaded = this.waitFor('Page.loadEventFired', sessionId);
    const nav = await this.send('Page.navigate', { url }, sessionId);
    if (nav.errorText) throw new Error(`loading ${url}: ${nav.errorText}`);
    await loaded;
    return new Page(this, sessionId);
  }

  async close(): Promise<void> {
    if (!this.closed) {
      await this.send('Browser.close').catch(() => {});
      await new Promise<void>((resolve) => {
        if (this.closed) return resolve();
        const timer = setTimeout(() => {
          this.child.kill('SIGKILL');
          resolve();
        }, 5000);
        this.child.once('exit', () => {
          clearTimeout(timer);
          resolve();
        });
      });
    }
    rmSync(this.profile, { recursive: true, force: true });
  }
}

export class Page {
  constructor(
    private readonly browser: Browser,
    private readonly sessionId: string,
  ) {}

  /** Evaluates an expression in the page and returns its value (JSON-serialisable results only). */
  async evaluate<T>(expression: string): Promise<T> {
    const r = await this.browser.send('Runtime.evaluate', { expression, returnByValue: true, awaitPromise: true }, this.sessionId);
    if (r.exceptionDetails) throw new Error(`evaluating in the page: ${r.exceptionDetails.exception?.description ?? r.exceptionDetails.text}`);
    return r.result.value as T;
  }

  /** A PNG of the whole page. */
  async screenshot(): Promise<Buffer> {
    const r = await this.browser.send('Page.captureScreenshot', { format: 'png', captureBeyondViewport: true }, this.sessionId);
    return Buffer.from(r.data, 'base64');
  }
}
