// ${{ values.name }}: ${{ values.description }}
import { buildApp } from "./app.js";
import { setupTracing } from "./telemetry.js";

const telemetry = setupTracing("${{ values.name }}");
const app = buildApp({ tracer: telemetry.tracer });
const port = Number(process.env.PORT ?? 8080);

await app.listen({ host: "0.0.0.0", port });
app.setReady(true);

for (const signal of ["SIGINT", "SIGTERM"] as const) {
  process.once(signal, async () => {
    app.setReady(false);
    app.log.info({ signal }, "shutting down");
    await app.close();
    await telemetry.shutdown();
    process.exit(0);
  });
}
