// OpenTelemetry tracing over OTLP/HTTP, on only when OTEL_EXPORTER_OTLP_ENDPOINT (or
// OTEL_EXPORTER_OTLP_TRACES_ENDPOINT) is set. Logs are JSON lines from fastify's logger (pino).
import { trace, type Tracer } from "@opentelemetry/api";
import { W3CTraceContextPropagator } from "@opentelemetry/core";
import { OTLPTraceExporter } from "@opentelemetry/exporter-trace-otlp-http";
import { resourceFromAttributes } from "@opentelemetry/resources";
import { BasicTracerProvider, BatchSpanProcessor } from "@opentelemetry/sdk-trace-base";

export const propagator = new W3CTraceContextPropagator();

export function otlpConfigured(env: NodeJS.ProcessEnv = process.env): boolean {
  return ["OTEL_EXPORTER_OTLP_ENDPOINT", "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT"].some(
    (k) => (env[k] ?? "").trim() !== "",
  );
}

export interface Telemetry {
  tracer: Tracer;
  shutdown(): Promise<void>;
}

export function setupTracing(serviceName: string): Telemetry {
  if (!otlpConfigured()) {
    // The API's no-op tracer: spans cost nothing and go nowhere.
    return { tracer: trace.getTracer(serviceName), shutdown: async () => {} };
  }
  const provider = new BasicTracerProvider({
    resource: resourceFromAttributes({ "service.name": process.env.OTEL_SERVICE_NAME ?? serviceName }),
    spanProcessors: [new BatchSpanProcessor(new OTLPTraceExporter())],
  });
  trace.setGlobalTracerProvider(provider);
  return { tracer: provider.getTracer(serviceName), shutdown: () => provider.shutdown() };
}
