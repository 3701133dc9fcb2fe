// ABI compatibility check (plain node, no dependencies).
// Fails unless every line of contracts/spec/v2-abi-subset.txt is present in contracts-abi/<Contract>.json
// with the identical canonical signature, every event has the indexed flags of
// contracts/spec/v2-event-indexed.json, and the tuple views return the documented types.
import fs from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");
const abiDir = process.argv[2] || path.join(root, "contracts-abi");
const subset = fs.readFileSync(path.join(root, "contracts/spec/v2-abi-subset.txt"), "utf8");
const table = JSON.parse(fs.readFileSync(path.join(root, "contracts/spec/v2-event-indexed.json"), "utf8"));

const canonType = (p) => {
  if (p.type.startsWith("tuple")) return "(" + p.components.map(canonType).join(",") + ")" + p.type.slice(5);
  return p.type;
};
const sig = (e) => `${e.name}(${(e.inputs || []).map(canonType).join(",")})`;

const abis = {};
const load = (c) => {
  if (!abis[c]) {
    const f = path.join(abiDir, `${c}.json`);
    if (!fs.existsSync(f)) throw new Error(`missing artifact ${f}`);
    abis[c] = JSON.parse(fs.readFileSync(f, "utf8")).abi;
  }
  return abis[c];
};

let passed = 0;
let failed = 0;
const ok = () => passed++;
const bad = (msg) => {
  failed++;
  console.log("FAIL " + msg);
};

for (const raw of subset.split("\n")) {
  const line = raw.trim();
  if (!line || line.startsWith("#")) continue;
  const [contract, kind, signature] = line.split(/\s+/);
  let abi;
  try {
    abi = load(contract);
  } catch (e) {
    bad(`${line}: ${e.message}`);
    continue;
  }
  const matches = abi.filter((e) => e.type === kind && sig(e) === signature);
  if (matches.length !== 1) {
    bad(`${line}: ${matches.length === 0 ? "not found" : "ambiguous"}`);
    continue;
  }
  if (kind === "event") {
    const key = `${contract}.${matches[0].name}`;
    const want = table.events[key];
    const have = matches[0].inputs.map((i) => !!i.indexed);
    if (!want) {
      bad(`${line}: no indexed-flag entry for ${key} in v2-event-indexed.json`);
      continue;
    }
    if (matches[0].anonymous) {
      bad(`${line}: event must not be anonymous`);
      continue;
    }
    if (JSON.stringify(want) !== JSON.stringify(have)) {
      bad(`${line}: indexed flags ${JSON.stringify(have)} != expected ${JSON.stringify(want)}`);
      continue;
    }
  } else {
    const key = `${contract}.${matches[0].name}`;
    const want = table.outputs[key];
    if (want) {
      const have = (matches[0].outputs || []).map(canonType);
      if (JSON.stringify(want) !== JSON.stringify(have)) {
        bad(`${line}: outputs ${JSON.stringify(have)} != expected ${JSON.stringify(want)}`);
        continue;
      }
    }
  }
  ok();
}
console.log(`check-abi: ${passed} passed, ${failed} failed`);
process.exit(failed === 0 && passed > 0 ? 0 : 1);
