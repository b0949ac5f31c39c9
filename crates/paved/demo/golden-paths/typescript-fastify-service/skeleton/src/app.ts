// The HTTP service: routes, validation, errors, metrics and security headers. main.ts only
// binds it to a port.
import { readFileSync } from "node:fs";
import { ROOT_CONTEXT, SpanKind, SpanStatusCode, trace, type Span, type Tracer, defaultTextMapGetter } from "@opentelemetry/api";
import Fastify, { type FastifyError, type FastifyInstance, type FastifyReply } from "fastify";
import { Counter, Histogram, Registry } from "prom-client";
import { propagator } from "./telemetry.js";

export const OPENAPI = readFileSync(new URL("../../openapi.yaml", import.meta.url), "utf8");

const SECURITY_HEADERS: Record<string, string> = {
  "x-content-type-options": "nosniff",
  "x-frame-options": "DENY",
  "referrer-policy": "no-referrer",
  "content-security-policy": "default-src 'none'; frame-ancestors 'none'",
  "strict-transport-security": "max-age=63072000; includeSubDomains",
  "cross-origin-resource-policy": "same-origin",
  "cache-control": "no-store",
};

export interface FieldError {
  field: string;
  message: string;
}

export interface Item {
  id: number;
  name: string;
  quantity: number;
}

interface NewItem {
  name: string;
  quantity: number;
}

/** Sends the one error shape of the service: {"error": {"code", "message", "details"?}}. */
function sendError(reply: FastifyReply, status: number, code: string, message: string, details?: FieldError[]) {
  return reply.code(status).send({ error: details ? { code, message, details } : { code, message } });
}

const newItemSchema = {
  type: "object",
  additionalProperties: false,
  required: ["name", "quantity"],
  properties: {
    name: { type: "string", minLength: 1, maxLength: 100 },
    quantity: { type: "integer", minimum: 0, maximum: 1000000 },
  },
} as const;

export interface Options {
  tracer?: Tracer;
  logLevel?: string;
}

declare module "fastify" {
  interface FastifyRequest {
    span?: Span;
    started?: bigint;
  }
}

export function buildApp(options: Options = {}): FastifyInstance & { setReady(ready: boolean): void } {
  const tracer = options.tracer ?? trace.getTracer("${{ values.name }}");
  const app = Fastify({
    logger: { level: options.logLevel ?? process.env.LOG_LEVEL ?? "info" },
    bodyLimit: 64 * 1024,
    ajv: { customOptions: { removeAdditional: false, coerceTypes: false, allErrors: true } },
  });
  let ready = false;
  const items: Item[] = [];

  const registry = new Registry();
  const labelNames = ["method", "route", "status"] as const;
  const requests = new Counter({ name: "http_requests_total", help: "HTTP requests served", labelNames, registers: [registry] });
  const durations = new Histogram({ name: "http_request_duration_seconds", help: "HTTP request durations", labelNames, registers: [registry] });

  app.addHook("onRequest", async (request, reply) => {
    request.started = process.hrtime.bigint();
    const parent = propagator.extract(ROOT_CONTEXT, request.headers, defaultTextMapGetter);
    const route = request.routeOptions.url ?? "unmatched";
    request.span = tracer.startSpan(`${request.method} ${route}`, { kind: SpanKind.SERVER, attributes: { "http.request.method": request.method, "http.route": route } }, parent);
    const spanContext = request.span.spanContext();
    if (trace.isSpanContextValid(spanContext)) {
      request.log = request.log.child({ trace_id: spanContext.traceId, span_id: spanContext.spanId });
    }
    for (const [name, value] of Object.entries(SECURITY_HEADERS)) reply.header(name, value);
  });
  app.addHook("onResponse", async (request, reply) => {
    const route = request.routeOptions.url ?? "unmatched";
    const labels = { method: request.method, route, status: String(reply.statusCode) };
    requests.inc(labels);
    const started = request.started ?? process.hrtime.bigint();
    durations.observe(labels, Number(process.hrtime.bigint() - started) / 1e9);
    if (request.span) {
      request.span.setAttribute("http.response.status_code", reply.statusCode);
      if (reply.statusCode >= 500) request.span.setStatus({ code: SpanStatusCode.ERROR });
      request.span.end();
    }
  });

  app.setErrorHandler((error: FastifyError, request, reply) => {
    if (error.validation) {
      const details: FieldError[] = error.validation.map((v) => {
        const missing = (v.params as { missingProperty?: string; additionalProperty?: string });
        const path = v.instancePath.replace(/^\//, "").replace(/\//g, ".");
        const field = missing.missingProperty ?? missing.additionalProperty ?? path;
        return { field: field || "body", message: v.message ?? "is invalid" };
      });
      return sendError(reply, 400, "validation_failed", "the request breaks one or more rules", details);
    }
    if (error.statusCode === 413) return sendError(reply, 413, "too_large", "the body is larger than 64 KiB");
    if (error.statusCode && error.statusCode < 500) return sendError(reply, error.statusCode, "bad_request", error.message);
    request.log.error({ err: error }, "unhandled error");
    return sendError(reply, 500, "internal", "internal error");
  });
  app.setNotFoundHandler((_request, reply) => sendError(reply, 404, "not_found", "no such route"));

  app.get("/healthz/live", async () => ({ status: "ok" }));
  app.get("/healthz/ready", async (_request, reply) =>
    ready ? { status: "ready" } : sendError(reply, 503, "not_ready", "the service is not ready"),
  );
  app.get("/metrics", async (_request, reply) => reply.type(registry.contentType).send(await registry.metrics()));
  app.get("/openapi.yaml", async (_request, reply) => reply.type("application/yaml").send(OPENAPI));

  app.get("/v1/items", async () => ({ items }));
  app.post<{ Body: NewItem }>("/v1/items", { schema: { body: newItemSchema } }, async (request, reply) => {
    const name = request.body.name.trim();
    if (name === "") {
      return sendError(reply, 400, "validation_failed", "the request breaks one or more rules", [{ field: "name", message: "must not be empty" }]);
    }
    const item: Item = { id: items.length + 1, name, quantity: request.body.quantity };
    items.push(item);
    request.log.info({ id: item.id }, "item created");
    return reply.code(201).send(item);
  });
  app.get<{ Params: { id: string } }>("/v1/items/:id", async (request, reply) => {
    const id = /^[0-9]+$/.test(request.params.id) ? Number(request.params.id) : 0;
    if (id < 1) {
      return sendError(reply, 400, "validation_failed", "the request breaks one or more rules", [{ field: "id", message: "must be a positive integer" }]);
    }
    const item = items.find((i) => i.id === id);
    return item ?? sendError(reply, 404, "not_found", `item ${id} does not exist`);
  });

  return Object.assign(app, { setReady: (value: boolean) => { ready = value; } });
}
