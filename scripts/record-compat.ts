// Records the reference Glance's normalized answers to every compat scenario into
// test/compat/golden.json. usage: REF_GLANCE_URL=http://127.0.0.1:9393 npm run compat:record
// COMPAT_SET=cache records the cache API scenarios into test/compat/cache-golden.json instead,
// against a reference with the cache on (GLANCE_CACHE=1 refglance.sh). COMPAT_ONLY=text records only
// the scenarios whose name contains that text and keeps every other recorded answer as it is.
import { readFileSync, writeFileSync } from 'node:fs';
import { newRun, play, type Outcome } from '../test/compat/harness.ts';
import { scenarios as mainScenarios } from '../test/compat/scenarios.ts';
import { cacheScenarios } from '../test/compat/cache-scenarios.ts';

const reference = process.env.REF_GLANCE_URL?.replace(/\/+$/, '');
if (!reference) {
  console.error('set REF_GLANCE_URL to a reference Glance with trusted-auth (../shared/tools/refglance.sh)');
  process.exit(2);
}
const cacheSet = process.env.COMPAT_SET === 'cache';
const scenarios = cacheSet ? cacheScenarios : mainScenarios;
const file = new URL(cacheSet ? '../test/compat/cache-golden.json' : '../test/compat/golden.json', import.meta.url);
const only = process.env.COMPAT_ONLY;
const recorded = only ? JSON.parse(readFileSync(file, 'utf8')) as Record<string, Outcome[]> : {};
const golden: Record<string, Outcome[]> = {};
let count = 0;
for (const scenario of scenarios) {
  if (only && !scenario.name.includes(only)) {
    if (recorded[scenario.name]) golden[scenario.name] = recorded[scenario.name]!;
    continue;
  }
  golden[scenario.name] = await play(newRun(reference), scenario);
  count++;
}
writeFileSync(file, `${JSON.stringify(golden, null, 1)}\n`);
console.log(`recorded ${count} scenarios from ${reference}`);
