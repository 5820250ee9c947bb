// Runs one step of the install or build (a compiler, cmake-js, tsc) with its output passed through
// line by line, and a line every 5 s while it prints nothing, so that no step longer than 5 s runs in
// silence (nvcc compiles one file for minutes; tsc prints nothing until it is done).
import { spawn } from 'node:child_process';

const QUIET_MS = 4000; // checked every 0.5 s: no silence reaches 5 s

/**
 * Runs `command args` in `cwd`; prints `regen-bench: <label>` first, heartbeats naming the last
 * output line while quiet, and the elapsed time at the end. Resolves to the exit status.
 */
export function runStep(label, command, args, { cwd, env } = {}) {
  const started = Date.now();
  const elapsed = () => `${Math.round((Date.now() - started) / 1000)} s`;
  console.log(`regen-bench: ${label}`);
  return new Promise((resolve) => {
    const child = spawn(command, args, { cwd, env: env ?? process.env, stdio: ['ignore', 'pipe', 'pipe'] });
    let last = '';
    let lastOutput = Date.now();
    const forward = (stream, out) => {
      let pending = '';
      stream.setEncoding('utf8');
      stream.on('data', (chunk) => {
        pending += chunk;
        const lines = pending.split('\n');
        pending = lines.pop();
        for (const line of lines) {
          out.write(`${line}\n`);
          if (line.trim()) last = line.trim();
          lastOutput = Date.now();
        }
      });
      stream.on('end', () => {
        if (pending) out.write(`${pending}\n`);
      });
    };
    forward(child.stdout, process.stdout);
    forward(child.stderr, process.stderr);
    const timer = setInterval(() => {
      if (Date.now() - lastOutput < QUIET_MS) return;
      lastOutput = Date.now();
      const now = last.length > 100 ? `${last.slice(0, 97)}...` : last;
      console.log(`regen-bench: ${label.replace(/\.\.\.$/, '')}: still working, ${elapsed()}${now ? ` (last: ${now})` : ''}`);
    }, 500);
    child.on('error', (e) => {
      clearInterval(timer);
      console.error(`regen-bench: could not start ${command}: ${e.message}`);
      resolve(1);
    });
    child.on('close', (code, signal) => {
      clearInterval(timer);
      const status = code ?? (signal ? 1 : 0);
      console.log(`regen-bench: ${label.replace(/\.\.\.$/, '')}: ${status === 0 ? 'done' : 'failed'} in ${elapsed()}`);
      resolve(status);
    });
  });
}
