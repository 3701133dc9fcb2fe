// Writes one JSON artifact per deployable contract: {abi, bytecode, deployedBytecode}.
// Usage: node scripts/export-artifacts.mjs <forge-out-dir> <dest-dir>
import fs from "node:fs";
import path from "node:path";

export const CONTRACTS = [
  "AGIALPHA",
  "StakeManager",
  "JobRegistry",
  "ValidationModule",
  "IdentityRegistry",
  "SystemPause",
  "CheckpointRegistry",
  "DisputeModule",
];

const [outDir, destDir] = process.argv.slice(2);
if (!outDir || !destDir) {
  console.error("usage: export-artifacts.mjs <forge-out-dir> <dest-dir>");
  process.exit(2);
}
fs.mkdirSync(destDir, { recursive: true });
const hex = (o) => {
  const s = typeof o === "string" ? o : o && o.object;
  if (!s || s === "0x") throw new Error("empty bytecode");
  return s.startsWith("0x") ? s : "0x" + s;
};
for (const name of CONTRACTS) {
  const src = path.join(outDir, `${name}.sol`, `${name}.json`);
  const a = JSON.parse(fs.readFileSync(src, "utf8"));
  const art = { abi: a.abi, bytecode: hex(a.bytecode), deployedBytecode: hex(a.deployedBytecode) };
  fs.writeFileSync(path.join(destDir, `${name}.json`), JSON.stringify(art, null, 2) + "\n");
}
console.log(`exported ${CONTRACTS.length} artifacts to ${destDir}`);
