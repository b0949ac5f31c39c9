// Drives the app in process through fastify's inject (no socket), with node:test.
import assert from "node:assert/strict";
import { test } from "node:test";
import { InMemorySpanExporter, BasicTracerProvider, SimpleSpanProcessor } from "@opentelemetry/sdk-trace-base";
import { buildApp } from "../src/app.js";

function newApp(ready = true) {
  const app = buildApp({ logLevel: "silent" });
  app.setReady(ready);
  return app;
}

test("liveness and readiness", async () => {
  const app = newApp(false);
  const live = await app.inject({ method: "GET", url: "/healthz/live" });
  assert.equal(live.statusCode, 200);
  assert.deepEqual(live.json(), { status: "ok" });
  const notReady = await app.inject({ method: "GET", url: "/healthz/ready" });
  assert.equal(notReady.statusCode, 503);
  assert.equal(notReady.json().error.code, "not_ready");
  app.setReady(true);
  assert.equal((await app.inject({ method: "GET", url: "/healthz/ready" })).statusCode, 200);
});

test("items are created and read back", async () => {
  const app = newApp();
  const created = await app.inject({ method: "POST", url: "/v1/items", payload: { name: " bolts ", quantity: 12 } });
  assert.equal(created.statusCode, 201, created.body);
  assert.equal(created.headers["x-content-type-options"], "nosniff");
  assert.equal(created.headers["x-frame-options"], "DENY");
  assert.deepEqual(created.json(), { id: 1, name: "bolts", quantity: 12 });
  assert.deepEqual((await app.inject({ method: "GET", url: "/v1/items/1" })).json(), created.json());
  assert.deepEqual((await app.inject({ method: "GET", url: "/v1/items" })).json(), { items: [created.json()] });
  const missing = await app.inject({ method: "GET", url: "/v1/items/7" });
  assert.equal(missing.statusCode, 404);
  assert.equal(missing.json().error.code, "not_found");
});

test("invalid bodies get JSON errors naming the field", async () => {
  const app = newApp();
  const invalid = await app.inject({ method: "POST", url: "/v1/items", payload: { name: "", quantity: -1 } });
  assert.equal(invalid.statusCode, 400);
  assert.equal(invalid.json().error.code, "validation_failed");
  assert.deepEqual(invalid.json().error.details.map((d: { field: string }) => d.field), ["name", "quantity"]);
  const missing = await app.inject({ method: "POST", url: "/v1/items", payload: { quantity: 1 } });
  assert.deepEqual(missing.json().error.details.map((d: { field: string }) => d.field), ["name"]);
  const badJson = await app.inject({ method: "POST", url: "/v1/items", headers: { "content-type": "application/json" }, payload: "{not json" });
  assert.equal(badJson.statusCode, 400);
  assert.equal(badJson.json().error.code, "bad_request");
  const badId = await app.inject({ method: "GET", url: "/v1/items/zero" });
  assert.equal(badId.statusCode, 400);
  assert.equal(badId.json().error.details[0].field, "id");
  assert.equal((await app.inject({ method: "GET", url: "/nowhere" })).json().error.code, "not_found");
});

test("metrics and the OpenAPI document are served", async () => {
  const app = newApp();
  await app.inject({ method: "GET", url: "/healthz/live" });
  const metrics = await app.inject({ method: "GET", url: "/metrics" });
  assert.match(metrics.body, /http_requests_total\{method="GET",route="\/healthz\/live",status="200"\} 1/);
  const doc = await app.inject({ method: "GET", url: "/openapi.yaml" });
  assert.match(String(doc.headers["content-type"]), /^application\/yaml/);
  assert.ok(doc.body.startsWith("openapi: 3.0.3"));
});

test("requests are traced and continue the caller's trace", async () => {
  const exporter = new InMemorySpanExporter();
  const provider = new BasicTracerProvider({ spanProcessors: [new SimpleSpanProcessor(exporter)] });
  const app = buildApp({ logLevel: "silent", tracer: provider.getTracer("test") });
  await app.inject({
    method: "GET",
    url: "/healthz/live",
    headers: { traceparent: "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01" },
  });
  const [span] = exporter.getFinishedSpans();
  assert.ok(span);
  assert.equal(span.name, "GET /healthz/live");
  assert.equal(span.spanContext().traceId, "0af7651916cd43dd8448eb211c80319c");
  assert.equal(span.attributes["http.response.status_code"], 200);
});
