// Drives the dashboard in Debian's headless Chromium (playwright-core, no downloaded browser).
//   node tests/browser/dashboard.mjs http://127.0.0.1:PORT TOKEN
// Checks what the page renders against /status, then clicks Pause (answering the token prompt)
// and waits until the page shows the run paused. Prints one JSON line with what it saw; any
// failure exits non-zero with the reason.
import { chromium } from "playwright-core";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

const [base, token] = process.argv.slice(2);
if (!base || !token) {
  console.error("usage: dashboard.mjs BASE_URL TOKEN");
  process.exit(2);
}
const executablePath = process.env.OMEGA_CHROMIUM || "/usr/bin/chromium";
const profile = mkdtempSync(join(tmpdir(), "omega-chromium-"));
const fail = (msg) => { throw new Error(msg); };
const getJSON = async (path) => (await fetch(base + path)).json();
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

// The page re-polls /status every 500 ms while the run moves on every 200 ms, so a comparison
// is only meaningful when the page shows the very cycle /status reports: retry until it does.
async function compareWithStatus(page) {
  for (let attempt = 0; attempt < 100; attempt++) {
    const status = await getJSON("/status");
    const shown = await page.evaluate(() => ({
      cycle: document.getElementById("cycle").textContent,
      paused: document.getElementById("paused").dataset.paused,
      counts: Object.fromEntries([...document.querySelectorAll("[data-count]")].map((e) => [e.dataset.count, e.textContent])),
      accounts: [...document.querySelectorAll("#balances tr")].map((tr) => ({
        name: tr.dataset.account, free: tr.children[1].dataset.value, bond: tr.children[2].dataset.value, text: tr.children[1].textContent,
      })),
      energy: document.getElementById("price-energy").textContent,
      compute: document.getElementById("price-compute").textContent,
      utilisation: document.getElementById("utilisation").textContent,
    }));
    if (shown.cycle !== String(status.cycle)) { await sleep(50); continue; }
    for (const k of ["pending", "active", "validating", "tracked", "completed", "failed", "cancelled"]) {
      if (shown.counts[k] !== String(status.jobs[k])) fail(`count ${k}: page ${shown.counts[k]}, /status ${status.jobs[k]}`);
    }
    if (shown.paused !== String(status.paused)) fail(`paused: page ${shown.paused}, /status ${status.paused}`);
    if (shown.accounts.length !== status.accounts.length) fail(`accounts: page ${shown.accounts.length}, /status ${status.accounts.length}`);
    status.accounts.forEach((a, i) => {
      const s = shown.accounts[i];
      if (s.name !== a.name || s.free !== a.free || s.bond !== a.validator_stake) fail(`account ${a.name}: page ${JSON.stringify(s)}`);
      if (!s.text) fail(`account ${a.name}: no balance shown`);
    });
    const r = status.resources;
    if (shown.energy !== r.token_per_energy.toFixed(4)) fail(`energy price: page ${shown.energy}, /status ${r.token_per_energy}`);
    if (shown.compute !== r.token_per_compute.toFixed(4)) fail(`compute price: page ${shown.compute}, /status ${r.token_per_compute}`);
    if (shown.utilisation !== (r.utilisation * 100).toFixed(1) + "%") fail(`utilisation: page ${shown.utilisation}`);
    return { cycle: status.cycle, counts: shown.counts, accounts: shown.accounts.length };
  }
  fail("the page never showed the cycle /status reported");
}

// A fresh, empty profile (playwright passes it as --user-data-dir); without the networking flags
// Chromium keeps trying Google's hosts, which this sandboxed machine refuses.
let code = 0;
let browser;
try {
  browser = await chromium.launchPersistentContext(profile, {
    executablePath,
    headless: true,
    args: ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
      "--disable-background-networking", "--disable-component-update", "--disable-sync"],
  });
  const page = await browser.newPage();
  const errors = [];
  page.on("pageerror", (e) => errors.push(e.message));
  page.on("requestfailed", (r) => { if (!r.url().endsWith("/events")) errors.push("request failed: " + r.url()); });
  await page.goto(base + "/", { waitUntil: "load" });
  await page.waitForSelector("body[data-loaded='true']", { timeout: 15000 });
  const compared = await compareWithStatus(page);

  // The DAG shows live jobs, each child under its parent; the chart has points.
  await page.waitForSelector("#dag li[data-job-id]", { timeout: 15000 });
  const nested = await page.evaluate(() => [...document.querySelectorAll("#dag li li")].map((li) =>
    [Number(li.dataset.jobId), Number(li.parentElement.closest("li").dataset.jobId)]));
  for (const [child, parent] of nested.slice(0, 10)) {
    const job = await getJSON("/jobs/" + child); // a job's parent never changes, archived or not
    if (job.parent !== parent) fail(`DAG shows job ${child} under ${parent}, its parent is ${job.parent}`);
  }
  await page.waitForFunction(() => Number(document.getElementById("chart").dataset.points) >= 2, null, { timeout: 15000 });
  await page.waitForFunction(() => document.getElementById("chain-mode").textContent.startsWith("off"), null, { timeout: 15000 });
  await page.waitForSelector("#events li", { timeout: 15000 });

  // Pause: the page asks for the token and sends it as a bearer token.
  page.once("dialog", (d) => d.accept(token));
  await page.click("#pause");
  await page.waitForSelector("#control-result[data-result='accepted']", { timeout: 10000 });
  await page.waitForSelector("#paused[data-paused='true']", { timeout: 10000 });
  if (errors.length) fail("page errors: " + errors.join("; "));
  console.log(JSON.stringify({ ok: true, compared, nested: nested.length }));
} catch (e) {
  console.error("dashboard test: " + (e && e.message ? e.message : e));
  code = 1;
} finally {
  if (browser) await browser.close();
  rmSync(profile, { recursive: true, force: true });
}
process.exit(code);
