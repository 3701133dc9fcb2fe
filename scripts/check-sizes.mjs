// Size check of the committed artifacts: runtime <= 24,576 bytes (EIP-170), initcode <= 49,152 (EIP-3860).
import fs from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");
const dir = process.argv[2] || path.join(root, "contracts-abi");
const RUNTIME_LIMIT = 24576;
const INITCODE_LIMIT = 49152;
const bytes = (h) => (h.startsWith("0x") ? h.length - 2 : h.length) / 2;
let passed = 0;
let failed = 0;
const files = fs.readdirSync(dir).filter((f) => f.endsWith(".json")).sort();
for (const f of files) {
  const a = JSON.parse(fs.readFileSync(path.join(dir, f), "utf8"));
  const rt = bytes(a.deployedBytecode);
  const ic = bytes(a.bytecode);
  const good = rt > 0 && rt <= RUNTIME_LIMIT && ic > 0 && ic <= INITCODE_LIMIT;
  console.log(`${good ? "ok  " : "FAIL"} ${f.replace(/\.json$/, "").padEnd(20)} runtime ${String(rt).padStart(6)} B (limit ${RUNTIME_LIMIT})  initcode ${String(ic).padStart(6)} B (limit ${INITCODE_LIMIT})`);
  good ? passed++ : failed++;
}
console.log(`check-sizes: ${passed} passed, ${failed} failed`);
process.exit(failed === 0 && passed > 0 ? 0 : 1);
