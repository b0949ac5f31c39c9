// Browser tests of the portal: Debian's headless Chromium, driven by playwright-core, against
// the real paved binary serving the demo organisation. Every page visited is checked for
// console errors and failed requests, run through axe-core, and saved as a screenshot under
// tests/browser/artifacts/.
//
// Run through scripts/test (it builds the binary and installs Chromium); alone:
//   PAVED_BIN=target/debug/paved npm --prefix tests/browser test

import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { mkdtempSync, mkdirSync, writeFileSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, dirname, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { chromium } from "playwright-core";

const here = dirname(fileURLToPath(import.meta.url));
const repo = resolve(here, "..", "..");
const artifacts = join(here, "artifacts");
const pavedBin = process.env.PAVED_BIN || join(repo, "target", "debug", "paved");
const chromiumPath = process.env.CHROMIUM || "/usr/bin/chromium";
const axeSource = readFileSync(join(here, "node_modules", "axe-core", "axe.min.js"), "utf8");

let server;
let baseUrl;
let dataDir;
let browser;

function startPaved() {
  return new Promise((resolveStart, reject) => {
    dataDir = mkdtempSync(join(tmpdir(), "paved-browser-"));
    server = spawn(pavedBin, ["serve", "--demo", "--data-dir", dataDir, "--port", "0"], {
      stdio: ["ignore", "pipe", "pipe"],
      env: { ...process.env, RUST_LOG: "warn" },
    });
    let stdout = "";
    let stderr = "";
    const timer = setTimeout(() => reject(new Error(`paved did not start: ${stderr}`)), 60_000);
    server.stdout.on("data", (chunk) => {
      stdout += chunk;
      const match = stdout.match(/paved listening on (http:\/\/\S+)/);
      if (match) {
        clearTimeout(timer);
        resolveStart(match[1]);
      }
    });
    server.stderr.on("data", (chunk) => { stderr += chunk; });
    server.on("exit", (code) => {
      clearTimeout(timer);
      reject(new Error(`paved exited with ${code}: ${stderr}`));
    });
  });
}

async function waitForCatalog() {
  // The demo is read at start; wait until the whole organisation is served.
  for (let i = 0; i < 300; i++) {
    const response = await fetch(`${baseUrl}/api/catalog/entities/by-query?filter=kind=component&limit=1`);
    if (response.ok) {
      const body = await response.json();
      if (body.totalItems >= 40) return;
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error("the demo catalog was not served in time");
}

before(async () => {
  mkdirSync(artifacts, { recursive: true });
  baseUrl = await startPaved();
  await waitForCatalog();
  browser = await chromium.launch({
    executablePath: chromiumPath,
    args: [
      "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
      "--disable-background-networking", "--disable-component-update", "--disable-sync",
    ],
  });
});

after(async () => {
  if (browser) await browser.close();
  if (server && server.exitCode === null) {
    // Stop paved and wait for it: background work (docs builds, checkouts) writes into the
    // data folder until it exits.
    const exited = new Promise((resolveExit) => server.once("exit", resolveExit));
    server.kill("SIGTERM");
    await Promise.race([exited, new Promise((r) => setTimeout(r, 15_000))]);
  }
  if (dataDir) rmSync(dataDir, { recursive: true, force: true, maxRetries: 5 });
});

/// A fresh browser context whose pages record console errors and failed requests.
async function openContext(options = {}) {
  const context = await browser.newContext({ viewport: { width: 1366, height: 900 }, ...options });
  const problems = [];
  context.on("page", (page) => watch(page, problems));
  const page = await context.newPage();
  watch(page, problems);
  return { context, page, problems };
}

function watch(page, problems) {
  if (page.__watched) return;
  page.__watched = true;
  page.on("console", (message) => {
    if (message.type() !== "error") return;
    // The browser logs an expected 4xx page load (a 404, a form sent back with its errors) as a
    // console error too.
    if (page.__expectErrorStatus && /status of 4\d\d/.test(message.text())) return;
    problems.push(`console: ${message.text()}`);
  });
  page.on("pageerror", (error) => problems.push(`page error: ${error.message}`));
  page.on("requestfailed", (request) => {
    // net::ERR_ABORTED is the browser cancelling a request itself, never an answer of the
    // server: leaving a page drops what it still loads (the favicon, a search suggestion),
    // and a task page closes its live-log stream when the task ends. Server errors still
    // count (the "response" handler below), and so does every other network failure.
    if (request.failure()?.errorText === "net::ERR_ABORTED") return;
    problems.push(`request failed: ${request.url()} ${request.failure()?.errorText}`);
  });
  page.on("response", (response) => {
    const url = response.url();
    if (url.startsWith(baseUrl) && response.status() >= 400 && !page.__expectErrorStatus) {
      problems.push(`HTTP ${response.status()}: ${url}`);
    }
  });
}

async function screenshot(page, name) {
  await page.screenshot({ path: join(artifacts, `${name}.png`), fullPage: true });
}

/// axe-core in the page; serious and critical violations fail the test.
async function checkAccessibility(page, name) {
  await page.evaluate(axeSource);
  const result = await page.evaluate(async () => {
    // eslint-disable-next-line no-undef
    const run = await axe.run(document, { resultTypes: ["violations"] });
    return run.violations.map((v) => ({
      id: v.id,
      impact: v.impact,
      help: v.help,
      nodes: v.nodes.slice(0, 3).map((n) => n.target.join(" ")),
    }));
  });
  const serious = result.filter((v) => v.impact === "serious" || v.impact === "critical");
  writeFileSync(join(artifacts, `${name}.axe.json`), JSON.stringify(result, null, 2));
  assert.deepEqual(serious, [], `accessibility violations on ${name}`);
}

function assertClean(problems, name) {
  assert.deepEqual(problems, [], `browser problems on ${name}`);
}

test("home shows counts, the error badge and personalises after choosing a user", async () => {
  const { context, page, problems } = await openContext();
  await page.goto(`${baseUrl}/`);
  await assert.doesNotReject(page.getByRole("heading", { name: /find any service/i }).waitFor());
  const counts = await page.locator(".kind-counts").innerText();
  assert.match(counts, /46\s+Components/);
  assert.match(counts, /15\s+APIs/);
  assert.match(counts, /processing errors?/);
  assert.match(await page.locator("#my-title + p").innerText(), /Tell paved who you are/);
  await checkAccessibility(page, "home");
  await screenshot(page, "home-guest");

  // Keyboard: the first Tab reaches the skip link, "/" focuses the search box.
  await page.keyboard.press("Tab");
  assert.equal(await page.evaluate(() => document.activeElement.textContent.trim()), "Skip to content");
  await page.locator("body").click({ position: { x: 5, y: 300 } });
  await page.keyboard.press("/");
  assert.equal(await page.evaluate(() => document.activeElement.id), "topsearch-q");

  await page.getByRole("link", { name: "Choose your user" }).click();
  await page.waitForURL(/\/whoami/);
  const user = await page.locator("#user option").filter({ hasText: /./ }).first().getAttribute("value");
  assert.ok(user.startsWith("user:"));
  // Pick a user who is a member of a team that owns services.
  const response = await fetch(`${baseUrl}/api/catalog/entities/by-query?filter=kind=user,relations.memberOf=group:default/checkout&limit=1`);
  const checkoutMember = (await response.json()).items[0];
  const memberRef = `user:default/${checkoutMember.metadata.name}`.toLowerCase();
  await page.locator("#user").selectOption(memberRef);
  await page.getByRole("button", { name: "Continue" }).click();
  await page.waitForURL(`${baseUrl}/`);
  const mine = page.locator("section[aria-labelledby='my-title'] .entity-card");
  assert.ok((await mine.count()) > 0, "my services lists what the user's team owns");
  assert.match(await page.locator("section[aria-labelledby='my-title']").innerText(), /Checkout Service/);
  await screenshot(page, "home-signed-in");
  assertClean(problems, "home");
  await context.close();
});

test("catalog: facets, text filter, sorting and paging keep their state in the URL", async () => {
  const { context, page, problems } = await openContext();
  await page.goto(`${baseUrl}/catalog`);
  await page.locator("table.entities tbody tr").first().waitFor();
  const total = Number((await page.locator(".result-count strong").innerText()).replace(/,/g, ""));
  assert.ok(total > 100, `the demo has more than 100 entities, saw ${total}`);
  await checkAccessibility(page, "catalog");

  // Facet: kind=API (htmx swaps the results and pushes the URL).
  await page.locator("#facets input[name='kind'][value='api' i]").check();
  await page.waitForURL(/kind=api/i);
  await page.waitForFunction(() => document.querySelector(".result-count strong")?.textContent.trim() === "15");
  const kinds = await page.locator("table.entities tbody tr").count();
  assert.equal(kinds, 15);

  // Facet inside the kind: type=openapi.
  await page.locator("#facets input[name='type'][value='openapi']").check();
  await page.waitForURL(/type=openapi/);
  await page.waitForFunction(() => document.querySelector(".result-count strong")?.textContent.trim() === "7");

  // Text filter.
  await page.locator("#catalog-q").fill("checkout");
  await page.waitForURL(/q=checkout/);
  await page.waitForFunction(() => document.querySelectorAll("table.entities tbody tr").length === 1);
  assert.match(await page.locator("table.entities tbody").innerText(), /Checkout/i);
  await screenshot(page, "catalog-filtered");

  // The URL alone reproduces the view (shareable).
  const shared = page.url();
  const other = await context.newPage();
  await other.goto(shared);
  assert.equal(await other.locator("table.entities tbody tr").count(), 1);
  await other.close();

  // Sorting by owner, descending, and paging through components.
  await page.goto(`${baseUrl}/catalog?kind=component&limit=10`);
  await page.getByRole("link", { name: /^Owner/ }).click();
  await page.waitForURL(/sort=owner/);
  await page.getByRole("link", { name: /^Owner/ }).click();
  await page.waitForURL(/dir=desc/);
  assert.equal(await page.locator("th[aria-sort='descending']").count(), 1);
  const firstPage = await page.locator("table.entities tbody tr td.col-name a").allInnerTexts();
  await page.getByRole("link", { name: "Next", exact: true }).click();
  await page.waitForURL(/cursor=/);
  const secondPage = await page.locator("table.entities tbody tr td.col-name a").allInnerTexts();
  assert.equal(secondPage.length, 10);
  assert.deepEqual(firstPage.filter((n) => secondPage.includes(n)), [], "pages do not overlap");
  await page.getByRole("link", { name: "Previous", exact: true }).click();
  await page.waitForFunction(
    (names) => [...document.querySelectorAll("table.entities tbody tr td.col-name a")].map((a) => a.textContent).join("|") === names.join("|"),
    firstPage,
  );
  assertClean(problems, "catalog");
  await context.close();
});

test("catalog filters work without JavaScript", async () => {
  const { context, page, problems } = await openContext({ javaScriptEnabled: false });
  await page.goto(`${baseUrl}/catalog`);
  await page.locator("#facets input[name='kind'][value='resource' i]").check();
  await page.getByRole("button", { name: "Filter", exact: true }).click();
  await page.waitForURL(/kind=resource/i);
  assert.equal(await page.locator(".result-count strong").innerText(), "22");
  await screenshot(page, "catalog-no-js");
  assertClean(problems, "catalog without JavaScript");
  await context.close();
});

test("search: suggestions while typing, Enter for results, a facet, click through", async () => {
  // The index is built in the background at start; search answers 503 until it is.
  for (let i = 0; i < 300; i++) {
    const response = await fetch(`${baseUrl}/api/search/query?term=checkout`);
    if (response.ok) break;
    await new Promise((resolveWait) => setTimeout(resolveWait, 100));
  }
  const { context, page, problems } = await openContext();
  await page.goto(`${baseUrl}/`);
  await page.locator("body").click({ position: { x: 5, y: 300 } });
  await page.keyboard.press("/");
  assert.equal(await page.evaluate(() => document.activeElement.id), "topsearch-q");
  await page.keyboard.type("checkout-serv", { delay: 30 });
  const suggestion = page.locator("#topsearch-suggestions a", { hasText: "Checkout Service" }).first();
  await suggestion.waitFor();
  await screenshot(page, "search-suggestions");
  await page.keyboard.press("Enter");
  await page.waitForURL(/\/search\?query=checkout-serv/);
  assert.match(await page.locator(".result-count").innerText(), /results? for/);
  assert.ok(await page.locator(".search-result mark").count() > 0, "highlighted matches");
  await page.locator("#search-facets input[name='kind'][value='Component']").check();
  await page.waitForURL(/kind=Component/);
  assert.equal(await page.locator("#search-facets input[name='kind'][value='Component']").isChecked(), true);
  await checkAccessibility(page, "search");
  await screenshot(page, "search");
  await page.getByRole("link", { name: "Checkout Service", exact: true }).first().click();
  await page.waitForURL(/\/catalog\/default\/component\/checkout-service$/);
  assertClean(problems, "search");
  await context.close();
});

test("entity page: header, links bar, cards, YAML, star", async () => {
  const { context, page, problems } = await openContext();
  await page.goto(`${baseUrl}/catalog?q=checkout-service`);
  await page.getByRole("link", { name: "Checkout Service" }).first().click();
  await page.waitForURL(/\/catalog\/default\/component\/checkout-service$/);
  assert.equal(await page.locator("h1").innerText(), "Checkout Service");
  const header = await page.locator(".entity-header").innerText();
  assert.match(header, /production/);
  assert.match(header, /critical/);
  assert.match(header, /kotlin/);
  const links = page.locator(".quick-links");
  assert.equal(await links.getByRole("link", { name: "Runbook" }).getAttribute("href"), "https://runbooks.northwind.example.com/checkout-service");
  assert.match(await links.getByRole("link", { name: "Source" }).getAttribute("href"), /github\.com\/northwind-commerce\/checkout-service/);
  const provided = await page.locator("section[aria-labelledby='card-provides']").innerText();
  assert.match(provided, /Checkout API/);
  const consumed = page.locator("section[aria-labelledby='card-consumes'] ul.related li");
  assert.equal(await consumed.count(), 7);
  await checkAccessibility(page, "entity-component");
  await screenshot(page, "entity-checkout-service");

  await page.getByRole("link", { name: "YAML" }).click();
  await page.waitForURL(/\/yaml$/);
  const yaml = await page.locator("pre.code").innerText();
  assert.match(yaml, /relations:/);
  assert.match(yaml, /targetRef: api:default\/checkout-api/);
  await screenshot(page, "entity-yaml");

  await page.getByRole("button", { name: /Star/ }).click();
  await page.waitForURL(/notice=starred/);
  assert.equal(await page.getByRole("button", { name: /Starred/ }).getAttribute("aria-pressed"), "true");
  await page.goto(`${baseUrl}/`);
  assert.match(await page.locator("section[aria-labelledby='starred-title']").innerText(), /Checkout Service/);
  await page.goto(`${baseUrl}/catalog?starred=1`);
  assert.equal(await page.locator("table.entities tbody tr").count(), 1);

  // Group and user pages list members and what they own.
  await page.goto(`${baseUrl}/catalog/default/group/checkout`);
  assert.ok((await page.locator("section[aria-labelledby='card-members'] li").count()) > 0);
  assert.match(await page.locator("section[aria-labelledby='card-owns']").innerText(), /Checkout Service/);
  await screenshot(page, "entity-group");
  assertClean(problems, "entity page");
  await context.close();
});

test("docs: a component's Docs tab, its nav, contents and the docs home", async () => {
  const { context, page, problems } = await openContext();
  // Sites build in the background after start; wait until the checkout site is there.
  for (let i = 0; i < 300; i++) {
    const response = await fetch(`${baseUrl}/api/techdocs/metadata/techdocs/default/component/checkout-service`);
    if (response.ok) break;
    await new Promise((r) => setTimeout(r, 100));
  }
  await page.goto(`${baseUrl}/catalog/default/component/checkout-service`);
  await page.locator("nav.tabs").getByRole("link", { name: "Docs", exact: true }).click();
  await page.waitForURL(/\/catalog\/default\/component\/checkout-service\/docs$/);
  const content = page.locator("article.docs-content");
  assert.match(await content.locator("h1").innerText(), /^Checkout Service/);
  assert.match(await content.locator(".admonition.warning .admonition-title").innerText(), /Card data/);
  assert.ok((await content.locator("table").count()) > 0);
  assert.match(await content.locator("code.language-yaml").innerText(), /session-ttl/);
  assert.match(await page.locator(".docs-toc").innerText(), /Guarantees/);
  await checkAccessibility(page, "docs-page");
  await screenshot(page, "docs-checkout-service");

  await page.locator(".docs-nav").getByRole("link", { name: "Checkout flow" }).click();
  await page.waitForURL(/\/docs\/checkout-flow$/);
  assert.equal(await page.locator(".docs-nav a[aria-current='page']").innerText(), "Checkout flow");
  // The diagram is drawn by the vendored Mermaid script.
  await page.locator("article.docs-content pre.mermaid svg").waitFor();
  assert.match(await page.locator("article.docs-content pre.mermaid svg").innerHTML(), /Checkout/i);
  await screenshot(page, "docs-checkout-flow");

  await page.locator("nav.mainnav").getByRole("link", { name: "Docs", exact: true }).click();
  await page.waitForURL(/\/docs$/);
  assert.match(await page.locator("table.docs-sites").innerText(), /Checkout Service/);
  await checkAccessibility(page, "docs-home");
  assertClean(problems, "docs");
  await context.close();
});

test("dependency graph: an SVG with clickable nodes, depth selectable", async () => {
  const { context, page, problems } = await openContext();
  await page.goto(`${baseUrl}/catalog/default/component/checkout-service`);
  await page.getByRole("link", { name: "Dependencies" }).click();
  await page.waitForURL(/\/dependencies$/);
  const svg = page.locator(".graph-frame svg.paved-graph");
  await svg.waitFor();
  const nodes = svg.locator("a.node-link");
  const depth2 = await nodes.count();
  assert.ok(depth2 >= 8, `depth 2 shows the neighbourhood, saw ${depth2} nodes`);
  assert.equal(await svg.locator("g.node.focus").count(), 1);
  assert.ok((await svg.locator("g.node.critical").count()) >= 1, "critical-tier nodes are marked");
  await checkAccessibility(page, "entity-dependencies");
  await screenshot(page, "entity-dependencies");

  await page.getByRole("navigation", { name: "Graph depth" }).getByRole("link", { name: "1" }).click();
  await page.waitForURL(/depth=1/);
  const depth1 = await page.locator(".graph-frame svg a.node-link").count();
  assert.ok(depth1 < depth2, `depth 1 (${depth1}) is smaller than depth 2 (${depth2})`);

  // Clicking a node opens its entity.
  await page.locator(".graph-frame svg a.node-link[href='/catalog/default/resource/checkout-db']").click();
  await page.waitForURL(/\/catalog\/default\/resource\/checkout-db$/);
  assert.match(await page.locator("h1").innerText(), /checkout/i);

  // Systems show their parts as a diagram.
  await page.goto(`${baseUrl}/catalog/default/system/checkout-payments`);
  assert.ok((await page.locator("section[aria-labelledby='parts-title'] svg a.node-link").count()) >= 3);
  await screenshot(page, "entity-system");
  assertClean(problems, "graph");
  await context.close();
});

test("API definitions render as operations, channels, types and services", async () => {
  const { context, page, problems } = await openContext();
  const apis = await (await fetch(`${baseUrl}/api/catalog/entities/by-query?filter=kind=api&limit=50`)).json();
  const byType = {};
  for (const api of apis.items) byType[api.spec.type] ??= api.metadata.name;
  for (const type of ["openapi", "asyncapi", "graphql", "grpc"]) {
    assert.ok(byType[type], `the demo has a ${type} API`);
    await page.goto(`${baseUrl}/catalog/default/api/${byType[type]}/definition`);
    const definition = page.locator(".definition");
    await definition.waitFor();
    const text = await definition.innerText();
    assert.ok(text.length > 50, `${type} definition renders content`);
    if (type === "openapi") assert.ok((await page.locator(".definition .method").count()) > 0, "OpenAPI lists operations");
    assert.ok((await page.locator(".raw-definition pre code").textContent()).length > 50, "the raw definition is there");
    await screenshot(page, `api-${type}`);
  }
  await checkAccessibility(page, "api-definition");
  assertClean(problems, "API definitions");
  await context.close();
});

test("register a location: preview with errors, import, errors page, unregister", async () => {
  const { context, page, problems } = await openContext();
  // A new repository-like folder inside the demo's allowed root.
  const folder = join(dataDir, "demo", "new-service");
  mkdirSync(folder, { recursive: true });
  const file = join(folder, "catalog-info.yaml");
  writeFileSync(file, [
    "apiVersion: backstage.io/v1alpha1",
    "kind: Component",
    "metadata:",
    "  name: fresh-service",
    "  title: Fresh Service",
    "spec:",
    "  type: service",
    "  lifecycle: experimental",
    "  owner: checkout",
    "---",
    "apiVersion: backstage.io/v1alpha1",
    "kind: Component",
    "metadata:",
    "  name: Bad Name!",
    "spec:",
    "  type: service",
    "  lifecycle: production",
    "  owner: checkout",
    "",
  ].join("\n"));

  await page.goto(`${baseUrl}/`);
  await page.getByRole("link", { name: "Register", exact: true }).click();
  await page.waitForURL(/\/catalog-import$/);
  await checkAccessibility(page, "register");
  await page.getByLabel(/Path or git URL/).fill(file);
  await page.getByRole("button", { name: "Analyse" }).click();
  await page.getByRole("heading", { name: /Preview: 2 entities, 1 error/ }).waitFor();
  const preview = await page.locator("main").innerText();
  assert.match(preview, /Fresh Service/);
  assert.match(preview, /catalog-info\.yaml:14:\d+/);
  assert.match(preview, /metadata\.name/);
  await screenshot(page, "register-preview");

  await page.getByRole("button", { name: /^Import/ }).click();
  await page.getByRole("heading", { name: /Registered/ }).waitFor();
  await page.getByRole("link", { name: "Fresh Service" }).click();
  await page.waitForURL(/\/catalog\/default\/component\/fresh-service$/);
  assert.equal(await page.locator("h1").innerText(), "Fresh Service");

  await page.getByRole("link", { name: "Errors", exact: true }).click();
  await page.waitForURL(/\/errors$/);
  const errors = await page.locator("main").innerText();
  assert.match(errors, /new-service\/catalog-info\.yaml/);
  assert.match(errors, /14:\d+/);
  await checkAccessibility(page, "errors");
  await screenshot(page, "errors");

  await page.goto(`${baseUrl}/catalog/default/component/fresh-service`);
  await page.getByRole("link", { name: "Unregister" }).click();
  await page.waitForURL(/\/unregister$/);
  await page.locator("form[action$='/actions/unregister'] button").click();
  await page.waitForURL(/\/catalog\?notice=unregistered/);
  page.__expectErrorStatus = true;
  const gone = await page.goto(`${baseUrl}/catalog/default/component/fresh-service`);
  assert.equal(gone.status(), 404);
  page.__expectErrorStatus = false;
  assertClean(problems, "register");
  await context.close();
});

test("dark theme: the system setting applies and passes the contrast checks", async () => {
  const { context, page, problems } = await openContext({ colorScheme: "dark" });
  for (const [path, name] of [["/", "home-dark"], ["/catalog?kind=component", "catalog-dark"], ["/catalog/default/component/checkout-service/dependencies", "dependencies-dark"]]) {
    await page.goto(`${baseUrl}${path}`);
    const background = await page.evaluate(() => getComputedStyle(document.body).backgroundColor);
    assert.equal(background, "rgb(15, 20, 27)", `${name} uses the dark palette`);
    await checkAccessibility(page, name);
    await screenshot(page, name);
  }
  // The toggle overrides the system setting and is remembered.
  await page.getByRole("button", { name: /light and dark theme/ }).click();
  assert.equal(await page.evaluate(() => document.documentElement.getAttribute("data-theme")), "light");
  await page.reload();
  assert.equal(await page.evaluate(() => getComputedStyle(document.body).backgroundColor), "rgb(246, 247, 249)");
  assertClean(problems, "dark theme");
  await context.close();
});

test("golden path: the Rust service template, from the gallery to the new component", async () => {
  const { context, page, problems } = await openContext();
  const started = Date.now();
  await page.goto(`${baseUrl}/`);
  await page.getByRole("link", { name: "Create", exact: true }).click();
  await page.waitForURL(/\/create$/);
  await checkAccessibility(page, "create-gallery");
  await screenshot(page, "create-gallery");
  await page.getByLabel("Search templates").fill("rust");
  await page.getByRole("button", { name: "Search", exact: true }).click();
  await page.waitForURL(/\/create\?q=rust/);
  await page.getByRole("link", { name: "Choose Rust REST API service (axum)" }).click();
  await page.waitForURL(/\/create\/templates\/default\/rust-axum-service$/);

  // Step 1. The name field has the focus; the pickers suggest from the catalog.
  assert.equal(await page.evaluate(() => document.activeElement.id), "f-name");
  const owners = await page.locator("#f-owner-options option").evaluateAll((os) => os.map((o) => o.value));
  assert.ok(owners.includes("group:default/platform"), "OwnerPicker suggests the demo's groups");
  await checkAccessibility(page, "create-form");
  // A name breaking the pattern comes back with the error next to the field.
  // A name breaking the pattern, then one the catalog already has, come back with the error
  // next to the field.
  page.__expectErrorStatus = true;
  await page.locator("#f-name").fill("Parcel Tracker");
  await page.getByRole("button", { name: "Next" }).click();
  await page.locator("#name-error").waitFor();
  assert.equal(await page.locator("#f-name").getAttribute("aria-invalid"), "true");
  await screenshot(page, "create-form-error");
  await page.locator("#f-name").fill("orders-api");
  await page.locator("#f-description").fill("Takes and tracks orders.");
  await page.locator("#f-owner").fill("group:default/platform");
  await page.locator("#f-system").fill("system:default/developer-platform");
  await page.getByRole("button", { name: "Next" }).click();
  await page.locator("#f-repoUrl-repo").waitFor();
  await page.locator("#f-repoUrl-repo").fill("orders-api");
  await page.getByRole("button", { name: "Review" }).click();
  await page.getByRole("button", { name: "Create" }).click();
  await page.locator("#name-error").waitFor();
  assert.match(await page.locator("#name-error").innerText(), /already taken by api:default\/orders-api/);
  page.__expectErrorStatus = false;
  await page.locator("#f-name").fill("parcel-tracker");
  await page.locator("#f-description").fill("Takes and tracks orders.");
  await page.locator("#f-owner").fill("group:default/platform");
  await page.locator("#f-system").fill("system:default/developer-platform");
  await page.locator("#f-lifecycle").selectOption("experimental");
  await page.getByRole("button", { name: "Next" }).click();

  // Step 2: where the repository goes (the demo sends github.com to a local bare repository).
  await page.locator("#f-repoUrl-repo").waitFor();
  await page.locator("#f-repoUrl").selectOption("github.com");
  await page.locator("#f-repoUrl-owner").fill("northwind");
  await page.locator("#f-repoUrl-repo").fill("parcel-tracker");
  await page.getByRole("button", { name: "Review" }).click();
  await page.getByRole("heading", { name: "Review" }).waitFor();
  const review = await page.locator(".review").allInnerTexts();
  assert.match(review.join("\n"), /parcel-tracker/);
  assert.match(review.join("\n"), /github\.com\?owner=northwind&repo=parcel-tracker/);
  await checkAccessibility(page, "create-review");
  await screenshot(page, "create-review");
  await page.getByRole("button", { name: "Create" }).click();

  // The task page follows the live log until the task ends, then shows the links.
  await page.waitForURL(/\/create\/tasks\/[0-9a-f-]+$/);
  await page.locator(".task-log li").first().waitFor();
  await page.getByRole("link", { name: "Open in catalog" }).waitFor({ timeout: 120_000 });
  assert.equal(await page.locator("[data-task-status]").innerText(), "completed");
  const log = await page.locator(".task-log").innerText();
  assert.match(log, /publish/);
  await checkAccessibility(page, "create-task");
  await screenshot(page, "create-task");
  await page.getByRole("link", { name: "Open in catalog" }).click();
  await page.waitForURL(/\/catalog\/default\/component\/parcel-tracker$/);
  assert.equal(await page.locator("h1").innerText(), "parcel-tracker");
  const seconds = (Date.now() - started) / 1000;
  writeFileSync(join(artifacts, "golden-path-timing.json"), JSON.stringify({ template: "rust-axum-service", seconds }, null, 2));
  console.log(`golden path (Rust service) in the browser: ${seconds.toFixed(1)} s`);
  await screenshot(page, "create-new-component");
  assertClean(problems, "golden path");
  await context.close();
});

test("a form posted from another site is refused", async () => {
  const response = await fetch(`${baseUrl}/catalog/default/component/checkout-service/actions/refresh`, {
    method: "POST",
    headers: { origin: "https://evil.example", "sec-fetch-site": "cross-site" },
  });
  assert.equal(response.status, 403);
});
