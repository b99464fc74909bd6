// Infrastructure check: scripts/redis.sh + test/helpers/redis.ts start a real redis-server on a free loopback
// port, it speaks RESP, and stop() really shuts it down. Needs redis-server installed
// (`bash scripts/redis.sh install`; .ci/run does it before `npm test`).
import net from "node:net";
import { afterAll, describe, expect, it } from "vitest";
import { startRedis, type RedisServer } from "../helpers/redis.js";

const TIMEOUT = 60_000;

type Reply = string | number | Buffer | null | { error: string } | Reply[];

/** RESP request: an array of bulk strings. */
function encode(args: readonly (string | Buffer)[]): Buffer {
  const parts: Buffer[] = [Buffer.from(`*${args.length}\r\n`)];
  for (const arg of args) {
    const bytes = typeof arg === "string" ? Buffer.from(arg, "utf8") : arg;
    parts.push(Buffer.from(`$${bytes.length}\r\n`), bytes, Buffer.from("\r\n"));
  }
  return Buffer.concat(parts);
}

/** Parses one RESP2 reply (simple string, error, integer, bulk string, array) at the start of buf; undefined if incomplete. */
function parseReply(buf: Buffer): { reply: Reply; rest: Buffer } | undefined {
  const eol = buf.indexOf("\r\n");
  if (eol < 0) return undefined;
  const type = String.fromCharCode(buf[0] ?? 0);
  const line = buf.subarray(1, eol).toString("utf8");
  const after = buf.subarray(eol + 2);
  switch (type) {
    case "+":
      return { reply: line, rest: after };
    case "-":
      return { reply: { error: line }, rest: after };
    case ":":
      return { reply: Number(line), rest: after };
    case "$": {
      const len = Number(line);
      if (len < 0) return { reply: null, rest: after };
      if (after.length < len + 2) return undefined;
      return { reply: Buffer.from(after.subarray(0, len)), rest: after.subarray(len + 2) };
    }
    case "*": {
      const count = Number(line);
      if (count < 0) return { reply: null, rest: after };
      const items: Reply[] = [];
      let rest = after;
      for (let i = 0; i < count; i++) {
        const item = parseReply(rest);
        if (!item) return undefined;
        items.push(item.reply);
        rest = item.rest;
      }
      return { reply: items, rest };
    }
    default:
      throw new Error(`unexpected RESP type byte ${JSON.stringify(type)} in ${JSON.stringify(buf.toString("latin1"))}`);
  }
}

/** A minimal RESP client over a raw TCP socket: one command at a time. */
class RawRedis {
  private buffer: Buffer = Buffer.alloc(0);
  private waiting: { resolve: (r: Reply) => void; reject: (e: Error) => void } | undefined;

  private constructor(private readonly socket: net.Socket) {
    socket.on("data", (chunk: Buffer) => {
      this.buffer = Buffer.concat([this.buffer, chunk]);
      this.drain();
    });
    socket.on("error", (err) => this.fail(err));
    socket.on("close", () => this.fail(new Error("connection closed")));
  }

  static connect(port: number): Promise<RawRedis> {
    return new Promise((resolve, reject) => {
      const socket = net.createConnection({ host: "127.0.0.1", port });
      socket.once("connect", () => {
        socket.off("error", reject);
        resolve(new RawRedis(socket));
      });
      socket.once("error", reject);
    });
  }

  command(...args: (string | Buffer)[]): Promise<Reply> {
    if (this.waiting) throw new Error("RawRedis: one command at a time");
    return new Promise((resolve, reject) => {
      this.waiting = { resolve, reject };
      this.socket.write(encode(args));
    });
  }

  close(): void {
    this.socket.destroy();
  }

  private drain(): void {
    if (!this.waiting) return;
    const parsed = parseReply(this.buffer);
    if (!parsed) return;
    this.buffer = parsed.rest;
    const { resolve } = this.waiting;
    this.waiting = undefined;
    resolve(parsed.reply);
  }

  private fail(err: Error): void {
    const waiting = this.waiting;
    this.waiting = undefined;
    waiting?.reject(err);
  }
}

/** Resolves with the connect error code (e.g. ECONNREFUSED), or "connected" when something accepted. */
function probe(port: number): Promise<string> {
  return new Promise((resolve) => {
    const socket = net.createConnection({ host: "127.0.0.1", port });
    socket.once("connect", () => {
      socket.destroy();
      resolve("connected");
    });
    socket.once("error", (err: NodeJS.ErrnoException) => resolve(err.code ?? err.message));
  });
}

describe("infra: redis-server via scripts/redis.sh", () => {
  let redis: RedisServer | undefined;

  afterAll(async () => {
    await redis?.stop();
  }, TIMEOUT);

  it("starts a server on a loopback port that answers PING", { timeout: TIMEOUT }, async () => {
    redis = await startRedis();
    expect(Number.isInteger(redis.port)).toBe(true);
    expect(redis.port).toBeGreaterThan(0);
    expect(redis.port).toBeLessThan(65536);
    expect(redis.url).toBe(`redis://127.0.0.1:${redis.port}`);

    const client = await RawRedis.connect(redis.port);
    try {
      expect(await client.command("PING")).toBe("PONG");
      // Raw bytes on the wire, as RESP says: PING → "+PONG\r\n".
      const raw = await new Promise<string>((resolve, reject) => {
        const s = net.createConnection({ host: "127.0.0.1", port: redis!.port }, () => s.write("PING\r\n"));
        s.once("data", (d: Buffer) => {
          resolve(d.toString("latin1"));
          s.destroy();
        });
        s.once("error", reject);
      });
      expect(raw).toBe("+PONG\r\n");
    } finally {
      client.close();
    }
  });

  it("round-trips SET/GET (binary-safe) and runs without persistence on loopback", { timeout: TIMEOUT }, async () => {
    expect(redis).toBeDefined();
    const client = await RawRedis.connect(redis!.port);
    try {
      expect(await client.command("SET", "tenantry:infra:k", "hello")).toBe("OK");
      expect((await client.command("GET", "tenantry:infra:k")) as Buffer).toEqual(Buffer.from("hello"));

      const binary = Buffer.concat([Buffer.from("a\r\nb\0 ", "latin1"), Buffer.from("tenant ü €", "utf8")]);
      expect(await client.command("SET", "tenantry:infra:bin", binary)).toBe("OK");
      expect((await client.command("GET", "tenantry:infra:bin")) as Buffer).toEqual(binary);

      expect(await client.command("GET", "tenantry:infra:missing")).toBeNull();
      expect(await client.command("INCR", "tenantry:infra:n")).toBe(1);
      expect(await client.command("SET", "tenantry:infra:n", "x", "EX", "notanumber")).toMatchObject({
        error: expect.stringMatching(/^ERR/),
      });

      // Started with no persistence (--save '' --appendonly no), bound to loopback only.
      expect(await client.command("CONFIG", "GET", "save")).toEqual([Buffer.from("save"), Buffer.from("")]);
      expect(await client.command("CONFIG", "GET", "appendonly")).toEqual([Buffer.from("appendonly"), Buffer.from("no")]);
      expect(await client.command("CONFIG", "GET", "bind")).toEqual([Buffer.from("bind"), Buffer.from("127.0.0.1")]);
    } finally {
      client.close();
    }
  });

  it("stop() shuts the server down: the port refuses connections; stop() is idempotent", { timeout: TIMEOUT }, async () => {
    expect(redis).toBeDefined();
    const { port } = redis!;
    expect(await probe(port)).toBe("connected");
    await redis!.stop();
    expect(await probe(port)).toBe("ECONNREFUSED");
    await redis!.stop(); // second call is a no-op
    expect(await probe(port)).toBe("ECONNREFUSED");
  });

  it("gives concurrent callers separate servers", { timeout: TIMEOUT }, async () => {
    const [a, b] = await Promise.all([startRedis(), startRedis()]);
    try {
      expect(a.port).not.toBe(b.port);
      const ca = await RawRedis.connect(a.port);
      const cb = await RawRedis.connect(b.port);
      try {
        expect(await ca.command("SET", "who", "a")).toBe("OK");
        expect(await cb.command("GET", "who")).toBeNull();
      } finally {
        ca.close();
        cb.close();
      }
    } finally {
      await Promise.all([a.stop(), b.stop()]);
    }
    expect(await probe(a.port)).toBe("ECONNREFUSED");
    expect(await probe(b.port)).toBe("ECONNREFUSED");
  });
});
