// `npm run bench`: runs every benchmark in turn. Benchmarks print numbers; they assert nothing.
import { run as hash } from './hash.ts';

const benchmarks: Array<[string, () => Promise<void>]> = [
  ['hash', hash],
];

for (const [name, run] of benchmarks) {
  console.log(`\n== ${name} ==`);
  await run();
}
