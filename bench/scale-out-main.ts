// `npm run bench:scale-out`: only the two-nodes-vs-one part of `npm run bench`.
import { benchScaleOut, printScaleOut } from './scale-out.ts';

const url = process.env.BENCH_POSTGRES_URL ?? process.env.GLIMPSE_TEST_POSTGRES_URL;
if (!url) {
  console.error('set BENCH_POSTGRES_URL (or GLIMPSE_TEST_POSTGRES_URL) to a PostgreSQL the bench may create a schema in');
  process.exit(2);
}
printScaleOut(await benchScaleOut(url, { rounds: Math.max(1, Number(process.env.BENCH_ROUNDS ?? 3)) }));
