#!/usr/bin/env bash
# End-to-end smoke test + real-transaction gas measurement on a throwaway anvil devnet:
# deploys contracts-abi/*.json exactly in the order of contracts/README.md ("Deployment and wiring"),
# runs two full successful job lifecycles (3 validators) and prints each transaction's gasUsed from
# its receipt. Usage: scripts/anvil-lifecycle.sh [port]   (needs scripts/setup.sh first; without a
# port argument a free loopback port is picked)
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
PORT="${1:-$(node -e 'const s=require("net").createServer().listen(0,"127.0.0.1",()=>{console.log(s.address().port);s.close()})')}"
ANVIL="$(ls node_modules/@foundry-rs/anvil-*/bin/anvil | head -1)"
CAST="$(ls node_modules/@foundry-rs/cast-*/bin/cast | head -1)"
RPC="http://127.0.0.1:$PORT"
"$ANVIL" --port "$PORT" --silent --chain-id 31337 --prune-history 64 >/dev/null 2>&1 &
ANVIL_PID=$!
trap 'kill $ANVIL_PID 2>/dev/null || true' EXIT
for _ in $(seq 100); do "$CAST" chain-id --rpc-url "$RPC" >/dev/null 2>&1 && break; sleep 0.1; done
"$CAST" chain-id --rpc-url "$RPC" >/dev/null || { echo "anvil did not start on port $PORT" >&2; exit 1; }

# anvil's default unlocked accounts
GOV=0xf39Fd6e51aad88F6F4ce6aB8827279cffFb92266
EMP=0x70997970C51812dc3A010C7d01b50e0d17dc79C8
AGENT=0x3C44CdDdB6a900fa2b585dd299e03d12FA4293BC
V1=0x90F79bf6EB2c4f870365E785982E1f101E93b906
V2=0x15d34AAf54267DB7D7c367839AAf71A00a2C6A65
V3=0x9965507D1a55bcC2695C58ba16FB37d819B0A4dc

art() { node -e 'const a=require(process.argv[1]);process.stdout.write(a.bytecode)' "$ROOT/contracts-abi/$1.json"; }
# deploy <Name> <constructor sig> [args...] -> address
deploy() {
  local name="$1" sig="$2"; shift 2
  local args; args="$("$CAST" abi-encode "$sig" "$@")"
  "$CAST" send --rpc-url "$RPC" --unlocked --from "$GOV" --json --create "$(art "$name")${args#0x}" |
    node -e 'let s="";process.stdin.on("data",d=>s+=d).on("end",()=>{const r=JSON.parse(s);if(r.status!=="0x1")process.exit(1);console.log(r.contractAddress)})'
}
GAS_TOTAL=0
# tx <label|-> <from> <to> <sig> [args...]  (prints gasUsed for labelled steps)
tx() {
  local label="$1" from="$2" to="$3"; shift 3
  local gas
  gas="$("$CAST" send --rpc-url "$RPC" --unlocked --from "$from" --json --gas-limit 3000000 "$to" "$@" |
    node -e 'let s="";process.stdin.on("data",d=>s+=d).on("end",()=>{const r=JSON.parse(s);if(r.status!=="0x1"){console.error("tx failed");process.exit(1)}console.log(parseInt(r.gasUsed,16))})')"
  if [ "$label" != "-" ]; then
    printf '  %-24s %8d\n' "$label" "$gas"
    GAS_TOTAL=$((GAS_TOTAL + gas))
  fi
}
call() { "$CAST" call --rpc-url "$RPC" "$@"; }

echo "deploying (README order)"
TOKEN=$(deploy AGIALPHA "constructor(address)" "$GOV")
SM=$(deploy StakeManager "constructor(address,address)" "$TOKEN" "$GOV")
ID=$(deploy IdentityRegistry "constructor(address)" "$GOV")
VM=$(deploy ValidationModule "constructor(address,address,address)" "$SM" "$ID" "$GOV")
JR=$(deploy JobRegistry "constructor(address,address,address,address)" "$SM" "$VM" "$ID" "$GOV")
SP=$(deploy SystemPause "constructor(address,address,address,address)" "$JR" "$SM" "$VM" "$GOV")
CP=$(deploy CheckpointRegistry "constructor(address)" "$GOV")
tx - "$GOV" "$SM" "setJobRegistry(address)" "$JR"
tx - "$GOV" "$SM" "setValidationModule(address)" "$VM"
tx - "$GOV" "$VM" "setJobRegistry(address)" "$JR"
for m in "$JR" "$SM" "$VM"; do tx - "$GOV" "$m" "setPauser(address)" "$SP"; done
tx - "$GOV" "$CP" "setAttestor(address,bool)" "$GOV" true
tx - "$GOV" "$ID" "addAdditionalAgent(address)" "$AGENT"
for v in $V1 $V2 $V3; do tx - "$GOV" "$ID" "addAdditionalValidator(address)" "$v"; done
tx - "$GOV" "$VM" "setValidatorPool(address[])" "[$V1,$V2,$V3]"
tx - "$GOV" "$VM" "setCommitRevealWindows(uint256,uint256)" 60 60
for who in $EMP $AGENT $V1 $V2 $V3; do
  tx - "$GOV" "$TOKEN" "mint(address,uint256)" "$who" 1000000000000000000000
  tx - "$who" "$TOKEN" "approve(address,uint256)" "$SM" 1000000000000000000000000
done
tx - "$AGENT" "$SM" "depositStake(uint8,uint256)" 0 10000000000000000000
for v in $V1 $V2 $V3; do tx - "$v" "$SM" "depositStake(uint8,uint256)" 1 10000000000000000000; done
echo "token=$TOKEN stakeManager=$SM identityRegistry=$ID validationModule=$VM jobRegistry=$JR systemPause=$SP checkpointRegistry=$CP"

SPEC=$("$CAST" keccak "spec")
lifecycle() {
  echo "$1"
  GAS_TOTAL=0
  local deadline=$(( $("$CAST" block latest --rpc-url "$RPC" -f timestamp) + 86400 ))
  tx createJob "$EMP" "$JR" "createJob(uint256,uint64,bytes32,string)" 100000000000000000000 "$deadline" "$SPEC" "ipfs://spec"
  local id; id=$(call "$JR" "nextJobId()(uint256)")
  tx applyForJob "$AGENT" "$JR" "applyForJob(uint256,string,bytes32[])" "$id" agent "[]"
  tx submit "$AGENT" "$JR" "submit(uint256,bytes32,string,string,bytes32[])" "$id" "$("$CAST" keccak result)" "ipfs://result" agent "[]"
  tx selectValidators "$GOV" "$VM" "selectValidators(uint256,uint256)" "$id" 42
  local vals; vals=$(call "$VM" "validators(uint256)(address[])" "$id" | tr -d '[] ' | tr ',' ' ')
  local i=0
  for v in $vals; do
    i=$((i+1))
    local salt; salt=$("$CAST" keccak "salt-$v-$id")
    local h; h=$(call "$VM" "commitHashFor(uint256,uint256,bytes32,bool,bytes32,bytes32,address)(bytes32)" "$id" 1 "$SPEC" true 0x0000000000000000000000000000000000000000000000000000000000000000 "$salt" "$v")
    tx "commitValidation #$i" "$v" "$VM" "commitValidation(uint256,bytes32,string,bytes32[])" "$id" "$h" validator "[]"
  done
  "$CAST" rpc --rpc-url "$RPC" evm_increaseTime 61 >/dev/null
  "$CAST" rpc --rpc-url "$RPC" anvil_mine 1 >/dev/null
  i=0
  for v in $vals; do
    i=$((i+1))
    tx "revealValidation #$i" "$v" "$VM" "revealValidation(uint256,bool,bytes32,bytes32,string,bytes32[])" "$id" true 0x0000000000000000000000000000000000000000000000000000000000000000 "$("$CAST" keccak "salt-$v-$id")" validator "[]"
  done
  tx "validation finalize" "$GOV" "$VM" "finalize(uint256)" "$id"
  tx "registry finalize" "$EMP" "$JR" "finalize(uint256)" "$id"
  local state; state=$(call "$JR" "jobState(uint256)(uint8)" "$id")
  [ "$state" = 6 ] || { echo "job $id not Finalized (state $state)" >&2; exit 1; }
  printf '  %-24s %8d\n' TOTAL "$GAS_TOTAL"
}
lifecycle "job 1 (first job of the deployment), gasUsed per transaction:"
lifecycle "job 2 (warm deployment), gasUsed per transaction:"
