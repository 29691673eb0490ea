// Loads the vectors written by tests/js/make_vectors.py (shared by the parity tests).
import { readFileSync, existsSync } from "node:fs";
import { fileURLToPath } from "node:url";
import path from "node:path";

const repo = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..", "..");

export const vectorsPath = path.join(
  process.env.TAKEDOWN_JS_VECTORS || path.join(repo, "var", "js-vectors"),
  "vectors.json",
);

let cached = null;
export function loadVectors() {
  if (cached === null) {
    if (!existsSync(vectorsPath)) {
      throw new Error(
        `no test vectors at ${vectorsPath}: run tests/js/run.sh (or .venv/bin/python tests/js/make_vectors.py) first`,
      );
    }
    cached = JSON.parse(readFileSync(vectorsPath, "utf8"));
  }
  return cached;
}

export function fromBase64(text) {
  const buf = Buffer.from(text, "base64");
  return new Uint8Array(buf.buffer, buf.byteOffset, buf.byteLength);
}
