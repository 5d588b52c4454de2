// `npx tsx test/notifications/run-scenario.ts <base url> <source port>`: runs the scripted sequence
// against a server; the legacy task imports from 127.0.0.1:<source port>.
import { runScenario } from './scenario.ts';

runScenario(process.argv[2]!, { sourcePort: Number(process.argv[3]) }).then(() => undefined, (error: unknown) => {
  console.error(error);
  process.exit(1);
});
