// The parts an end-to-end test runs: psmongo built from this checkout, its
// embedded store as a process of its own (so that it can be stopped and
// started again under a running server), and psmongo serve, all on
// 127.0.0.1.

import { execFile, spawn } from 'node:child_process';
import { once } from 'node:events';
import { createWriteStream } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';

export const repoRoot = fileURLToPath(new URL('..', import.meta.url));

// buildPsmongo builds the server into dir and returns the binary's path.
export async function buildPsmongo(dir) {
  const bin = join(dir, 'psmongo');
  await promisify(execFile)('go', ['build', '-o', bin, '.'], { cwd: repoRoot, timeout: 10 * 60_000 });
  return bin;
}

// freePort returns a port on 127.0.0.1 that was free a moment ago.
export async function freePort() {
  const srv = createServer();
  srv.listen(0, '127.0.0.1');
  await once(srv, 'listening');
  const { port } = srv.address();
  srv.close();
  await once(srv, 'close');
  return port;
}

// Process is a psmongo command running in the background, its output in
// a log file.
class Process {
  constructor(name, child, logFile) {
    this.name = name;
    this.child = child;
    this.logFile = logFile;
    this.exited = once(child, 'exit');
  }

  // stop sends SIGTERM and waits for the process to end.
  async stop() {
    if (this.child.exitCode === null && this.child.signalCode === null) {
      this.child.kill('SIGTERM');
    }
    await this.exited;
  }

  // logTail returns the end of the log, for a failure message.
  async logTail() {
    const text = await readFile(this.logFile, 'utf8').catch(() => '');
    return text.split('\n').slice(-30).join('\n');
  }
}

// start runs the binary with args and env (nothing else of this process's
// environment but PATH and HOME reaches it), logging to dir/name.log.
function start(name, bin, args, { dir, env = {}, stdout = 'log' }) {
  const logFile = join(dir, `${name}.log`);
  const log = createWriteStream(logFile, { flags: 'a' });
  const child = spawn(bin, args, {
    cwd: dir,
    env: { PATH: process.env.PATH, HOME: process.env.HOME, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  child.stderr.pipe(log);
  if (stdout === 'log') {
    child.stdout.pipe(log);
  }
  return new Process(name, child, logFile);
}

// startStore runs psmongo devstore on port with its files in dataDir and
// returns the process and the mongodb:// URI it prints.
export async function startStore(bin, { dir, config, port, dataDir }) {
  const p = start('devstore', bin, ['devstore', '--config', config, '--port', String(port), '--data-dir', dataDir], {
    dir,
    stdout: 'read',
  });
  const lines = createInterface({ input: p.child.stdout });
  const first = await Promise.race([
    once(lines, 'line').then(([line]) => line.trim()),
    p.exited.then(() => null),
  ]);
  if (!first?.startsWith('mongodb://127.0.0.1:')) {
    await p.stop();
    throw new Error(`devstore printed ${JSON.stringify(first)}, not a mongodb://127.0.0.1 URI:\n${await p.logTail()}`);
  }
  return { process: p, uri: first };
}

// startServer runs psmongo serve with the config file and env, and waits
// until /readyz answers 200.
export async function startServer(bin, { dir, config, env, url }) {
  const p = start('serve', bin, ['serve', '--config', config], { dir, env });
  for (let i = 0; i < 240; i++) {
    if (p.child.exitCode !== null) {
      break;
    }
    const res = await fetch(`${url}/readyz`).catch(() => null);
    if (res?.status === 200) {
      return p;
    }
    await sleep(250);
  }
  await p.stop();
  throw new Error(`psmongo serve did not get ready:\n${await p.logTail()}`);
}

export function sleep(ms) {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
