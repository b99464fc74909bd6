// The reference server (examples/reference-server/main.mjs) as its own process on a free loopback port,
// and a small HTTP client for it.
import { spawn, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';

export const MAIN = fileURLToPath(new URL('../../examples/reference-server/main.mjs', import.meta.url));

export interface Server {
  url: string;
  child: ChildProcess;
  /** What the server printed so far. */
  output(): string;
  /** SIGTERM, then the exit code. */
  stop(): Promise<number | null>;
}

/** Starts the server with `env` (PORT 0 unless given); resolves once it listens, rejects if it exits first. */
export async function startServer(env: Record<string, string>): Promise<Server> {
  const child = spawn(process.execPath, [MAIN], { env: { ...process.env, PORT: '0', ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  let err = '';
  child.stderr!.on('data', (d: Buffer) => (err += d.toString()));
  const url = await new Promise<string>((resolve, reject) => {
    child.stdout!.on('data', (d: Buffer) => {
      out += d.toString();
      const m = /listening on (http:\/\/\S+)/.exec(out);
      if (m) resolve(m[1]!);
    });
    child.on('exit', (code) => reject(Object.assign(new Error(`server exited with ${code}: ${err}`), { exitCode: code, stderr: err })));
  });
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  return {
    url, child,
    output: () => out,
    async stop() {
      child.kill('SIGTERM');
      return exited;
    },
  };
}

export interface Answer {
  status: number;
  body: Record<string, unknown>;
  headers: Headers;
}

/** One request; a JSON answer is parsed, any other is kept as text. */
export async function call(url: string, method: string, path: string, auth: string | null, body?: unknown, headers: Record<string, string> = {}): Promise<Answer> {
  const res = await fetch(url + path, {
    method,
    headers: { ...(auth ? { authorization: auth } : {}), ...(body === undefined ? {} : { 'content-type': 'application/json' }), ...headers },
    ...(body === undefined ? {} : { body: typeof body === 'string' ? body : JSON.stringify(body) }),
  });
  const text = await res.text();
  let json: unknown = text;
  try {
    json = JSON.parse(text);
  } catch {
    // the checkpoint and the metrics are text
  }
  return { status: res.status, body: json as Record<string, unknown>, headers: res.headers };
}

export const invoke = (url: string, auth: string | null, body: unknown): Promise<Answer> => call(url, 'POST', '/v1/invoke', auth, body);
