// `npx tsx test/notifications/run-scenario.ts <base url>`: runs the scripted sequence against a server.
import { runScenario } from './scenario.ts';

runScenario(process.argv[2]!).then(() => undefined, (error: unknown) => {
  console.error(error);
  process.exit(1);
});
