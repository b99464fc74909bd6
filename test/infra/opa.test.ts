// Infrastructure check: the pinned OPA (scripts/install-opa.sh, `npm run tools:opa`) is installed at
// .tools/bin/opa with WebAssembly support (needed for `opa test --target wasm`). .ci/run installs it before
// `npm test`; locally, a missing binary fails this test with the command to run, it never passes silently.
import { execFile } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";

const REPO = fileURLToPath(new URL("../../", import.meta.url));
const INSTALL_SCRIPT = `${REPO}scripts/install-opa.sh`;
const OPA = `${REPO}.tools/bin/opa`;
const TIMEOUT = 60_000;

function pinnedVersion(): string {
  const match = /^OPA_VERSION=v(\d+\.\d+\.\d+)\s*$/m.exec(readFileSync(INSTALL_SCRIPT, "utf8"));
  if (!match?.[1]) throw new Error(`no OPA_VERSION=vX.Y.Z line in ${INSTALL_SCRIPT}`);
  return match[1];
}

function run(file: string, args: readonly string[], input?: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = execFile(file, args, { timeout: TIMEOUT, encoding: "utf8" }, (error, stdout, stderr) => {
      if (error) reject(new Error(`${file} ${args.join(" ")} failed: ${stderr.trim() || error.message}`, { cause: error }));
      else resolve(stdout);
    });
    if (input !== undefined) child.stdin?.end(input);
  });
}

describe("infra: pinned OPA at .tools/bin/opa", () => {
  it("pins exactly one OPA v1 release", () => {
    expect(pinnedVersion()).toMatch(/^1\.\d+\.\d+$/);
  });

  it("is installed, reports the pinned version and has WebAssembly support", { timeout: TIMEOUT }, async () => {
    if (!existsSync(OPA)) {
      throw new Error(
        `OPA is not installed at ${OPA}. Run \`npm run tools:opa\` (bash scripts/install-opa.sh; needs Go >= 1.26; ` +
          `the first build takes a few minutes). CI installs it before \`npm test\`.`,
      );
    }
    const out = await run(OPA, ["version"]);
    const version = /^Version: (\S+)$/m.exec(out)?.[1];
    expect(version, `.tools/bin/opa reports ${version ?? "no version"}; run \`npm run tools:opa\` to install v${pinnedVersion()}`).toBe(
      pinnedVersion(),
    );
    expect(out, "opa built without WebAssembly support; run `npm run tools:opa` to rebuild").toMatch(
      /^WebAssembly: available$/m,
    );
    expect(out).toMatch(/^Rego Version: v1$/m);
  });

  it("evaluates Rego v1 and compiles a wasm bundle", { timeout: TIMEOUT }, async () => {
    if (!existsSync(OPA)) throw new Error(`OPA is not installed at ${OPA}. Run \`npm run tools:opa\`.`);
    const module = "package infra\n\nallow if input.tenant == \"t1\"\n";
    const dir = mkdtempSync(`${tmpdir()}/tenantry-opa-`);
    try {
      writeFileSync(`${dir}/infra.rego`, module);
      const allowed = await run(OPA, ["eval", "-f", "raw", "-d", `${dir}/infra.rego`, "--stdin-input", "data.infra.allow"], '{"tenant":"t1"}');
      expect(allowed.trim()).toBe("true");
      const wasmEval = await run(
        OPA,
        ["eval", "-t", "wasm", "-f", "raw", "-d", `${dir}/infra.rego`, "--stdin-input", "data.infra.allow"],
        '{"tenant":"t1"}',
      );
      expect(wasmEval.trim()).toBe("true");
      await run(OPA, ["build", "-t", "wasm", "-e", "infra/allow", "-o", `${dir}/bundle.tar.gz`, `${dir}/infra.rego`]);
      expect(statSync(`${dir}/bundle.tar.gz`).size).toBeGreaterThan(0);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
