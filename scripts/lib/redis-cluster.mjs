// Start and stop a real, throw-away three-primary Redis Cluster (loopback, free ports, no persistence), for the tests
// (test/helpers/redis-cluster.ts) and the benchmarks.
//
//   const cluster = await startRedisCluster();   // cluster.nodes = [{ host: "127.0.0.1", port }, …] (3 primaries)
//   ...
//   await cluster.stop();                         // idempotent; also done at process exit if a test forgot
//
// Three `redis-server --cluster-enabled yes` processes, each in its own temporary directory, joined by
// `redis-cli --cluster create … --cluster-replicas 0 --cluster-yes` (16384 slots split in three), and ready once
// `CLUSTER INFO` says `cluster_state:ok` and knows all three nodes on every one of them. Each server's bus port
// is chosen free too (`--cluster-port`), so no port + 10000 can collide. When redis-server is missing the
// promise rejects with a message saying how to install it (`bash scripts/redis.sh install`), as startRedis does.
import { execFile, spawn } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";

const HOST = "127.0.0.1";
const PRIMARIES = 3;
const READY_TIMEOUT_MS = 60_000;

const running = new Set();
let exitHookInstalled = false;

function installExitHook() {
  if (exitHookInstalled) return;
  exitHookInstalled = true;
  // Last resort against leaked servers when a test run ends without calling stop().
  process.once("exit", () => {
    for (const child of running) child.kill("SIGKILL");
  });
}

/** `n` distinct ports the kernel hands out for loopback right now (all held open together, so distinct). */
async function freePorts(n) {
  const servers = await Promise.all(Array.from({ length: n }, () => new Promise((resolve, reject) => {
    const s = createServer();
    s.once("error", reject);
    s.listen(0, HOST, () => resolve(s));
  })));
  const ports = servers.map((s) => s.address().port);
  await Promise.all(servers.map((s) => new Promise((resolve) => s.close(resolve))));
  return ports;
}

function run(cmd, args, timeout = 30_000) {
  return new Promise((resolve, reject) => {
    execFile(cmd, args, { timeout, encoding: "utf8" }, (error, stdout, stderr) => {
      if (error) reject(new Error(`${cmd} ${args.join(" ")} failed: ${stderr.trim() || stdout.trim() || error.message}`, { cause: error }));
      else resolve(stdout);
    });
  });
}

async function clusterInfo(port) {
  return run("redis-cli", ["-h", HOST, "-p", String(port), "cluster", "info"], 5_000).catch(() => "");
}

async function waitFor(what, check) {
  const deadline = Date.now() + READY_TIMEOUT_MS;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`Redis Cluster: ${what} not reached within ${READY_TIMEOUT_MS} ms`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

function stopAll(children, dirs) {
  return Promise.all(children.map((child) => new Promise((resolve) => {
    if (child.exitCode !== null || child.signalCode !== null) {
      running.delete(child);
      resolve();
      return;
    }
    child.once("exit", () => {
      running.delete(child);
      resolve();
    });
    child.kill("SIGKILL");
  }))).then(() => {
    for (const d of dirs) rmSync(d, { recursive: true, force: true });
  });
}

/** Starts a three-primary Redis Cluster on 127.0.0.1, each server on a free port with a free bus port. */
export async function startRedisCluster() {
  try {
    await run("redis-server", ["--version"], 5_000);
  } catch (e) {
    throw new Error("redis-server is not installed. Install it first:  bash scripts/redis.sh install", { cause: e });
  }
  const ports = await freePorts(2 * PRIMARIES);
  const children = [];
  const dirs = [];
  installExitHook();
  try {
    for (let i = 0; i < PRIMARIES; i++) {
      const dir = mkdtempSync(join(tmpdir(), "tenantry-redis-cluster-"));
      dirs.push(dir);
      const child = spawn("redis-server", [
        "--port", String(ports[i]), "--cluster-port", String(ports[PRIMARIES + i]), "--bind", HOST, "--protected-mode", "yes",
        "--cluster-enabled", "yes", "--cluster-config-file", join(dir, "nodes.conf"), "--cluster-node-timeout", "5000",
        "--dir", dir, "--save", "", "--appendonly", "no", "--logfile", join(dir, "redis.log"),
      ], { stdio: "ignore" });
      children.push(child);
      running.add(child);
    }
    await waitFor("every server answering", async () => {
      const exited = children.findIndex((c) => c.exitCode !== null || c.signalCode !== null);
      if (exited !== -1) throw new Error(`redis-server on port ${ports[exited]} exited at start (see ${join(dirs[exited], "redis.log")})`);
      const infos = await Promise.all(ports.slice(0, PRIMARIES).map(clusterInfo));
      return infos.every((s) => s.includes("cluster_state:"));
    });
    await run("redis-cli", [
      "--cluster", "create", ...ports.slice(0, PRIMARIES).map((p) => `${HOST}:${p}`), "--cluster-replicas", "0", "--cluster-yes",
    ], READY_TIMEOUT_MS);
    await waitFor("cluster_state:ok on every primary", async () => {
      const infos = await Promise.all(ports.slice(0, PRIMARIES).map(clusterInfo));
      return infos.every((s) => s.includes("cluster_state:ok") && s.includes(`cluster_known_nodes:${PRIMARIES}`));
    });
  } catch (e) {
    await stopAll(children, dirs);
    throw e;
  }
  let stopping;
  return {
    nodes: ports.slice(0, PRIMARIES).map((port) => ({ host: HOST, port })),
    stop() {
      stopping ??= stopAll(children, dirs);
      return stopping;
    },
  };
}
