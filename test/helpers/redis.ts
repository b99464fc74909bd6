// Start and stop a real, throw-away redis-server for tests (loopback, free port, no persistence).
//
//   const redis = await startRedis();   // redis.port, redis.url = "redis://127.0.0.1:<port>"
//   ...
//   await redis.stop();                 // idempotent; also done at process exit if a test forgot
//
// It runs scripts/redis.sh with REDIS_SH_NO_INSTALL=1: tests never run apt. When redis-server is missing the
// promise rejects with a message saying how to install it (`bash scripts/redis.sh install`; CI does this).
import { execFile, execFileSync } from "node:child_process";
import { fileURLToPath } from "node:url";

export interface RedisServer {
  readonly port: number;
  readonly url: string;
  stop(): Promise<void>;
  /** Shuts the server down but keeps its data directory (with `persist`, everything acknowledged is in it). */
  halt(): Promise<void>;
  /** Starts it again on the same port, from its data directory. */
  restart(): Promise<void>;
}

export interface StartRedisOptions {
  /** Append-only file fsynced on every write (appendfsync always), kept across halt() and restart(). */
  persist?: boolean;
}

const SCRIPT = fileURLToPath(new URL("../../scripts/redis.sh", import.meta.url));
const SCRIPT_TIMEOUT_MS = 60_000;

const running = new Set<number>();
let exitHookInstalled = false;

function scriptEnv(persist = false): NodeJS.ProcessEnv {
  return { ...process.env, REDIS_SH_NO_INSTALL: "1", NO_COLOR: "1", REDIS_SH_PERSIST: persist ? "1" : "" };
}

function runScript(args: readonly string[], persist = false): Promise<{ stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    execFile(
      "bash",
      [SCRIPT, ...args],
      { env: scriptEnv(persist), timeout: SCRIPT_TIMEOUT_MS, encoding: "utf8" },
      (error, stdout, stderr) => {
        if (error) {
          const detail = stderr.trim() || stdout.trim() || error.message;
          reject(new Error(`scripts/redis.sh ${args.join(" ")} failed: ${detail}`, { cause: error }));
        } else {
          resolve({ stdout, stderr });
        }
      },
    );
  });
}

function installExitHook(): void {
  if (exitHookInstalled) return;
  exitHookInstalled = true;
  // Last resort against leaked daemons when a test run ends without calling stop().
  process.once("exit", () => {
    for (const port of running) {
      try {
        execFileSync("bash", [SCRIPT, "stop", String(port)], { env: scriptEnv(), stdio: "ignore", timeout: 15_000 });
      } catch {
        // nothing more to do while exiting
      }
    }
  });
}

/** Starts a redis-server on 127.0.0.1 on a free port via scripts/redis.sh. */
export async function startRedis(options: StartRedisOptions = {}): Promise<RedisServer> {
  const persist = options.persist === true;
  const { stdout } = await runScript(["start"], persist);
  const lines = stdout.trim().split("\n");
  const match = /^REDIS_PORT=(\d+)$/.exec(lines[lines.length - 1]?.trim() ?? "");
  if (!match?.[1]) {
    throw new Error(`scripts/redis.sh start printed no REDIS_PORT=<port> line; stdout was: ${JSON.stringify(stdout)}`);
  }
  const port = Number(match[1]);
  running.add(port);
  installExitHook();

  let stopping: Promise<void> | undefined;
  return {
    port,
    url: `redis://127.0.0.1:${port}`,
    async halt(): Promise<void> {
      await runScript(["halt", String(port)], persist);
    },
    async restart(): Promise<void> {
      await runScript(["start", String(port)], persist);
    },
    stop(): Promise<void> {
      stopping ??= runScript(["stop", String(port)]).then(
        () => {
          running.delete(port);
        },
        (error: unknown) => {
          stopping = undefined; // allow a retry
          throw error;
        },
      );
      return stopping;
    },
  };
}
