// Records the reference Glance's normalized answers to every compat scenario into
// test/compat/golden.json. usage: REF_GLANCE_URL=http://127.0.0.1:9393 npm run compat:record
import { writeFileSync } from 'node:fs';
import { newRun, play, type Outcome } from '../test/compat/harness.ts';
import { scenarios } from '../test/compat/scenarios.ts';

const reference = process.env.REF_GLANCE_URL?.replace(/\/+$/, '');
if (!reference) {
  console.error('set REF_GLANCE_URL to a reference Glance with trusted-auth (../shared/tools/refglance.sh)');
  process.exit(2);
}
const golden: Record<string, Outcome[]> = {};
for (const scenario of scenarios) golden[scenario.name] = await play(newRun(reference), scenario);
writeFileSync(new URL('../test/compat/golden.json', import.meta.url), `${JSON.stringify(golden, null, 1)}\n`);
console.log(`recorded ${scenarios.length} scenarios from ${reference}`);
