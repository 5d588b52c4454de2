// `npm run bench:stores`: only the large-image transfer, through the file, swift, s3 and rbd stores
// side by side (BENCH_SIZE_MB, default 1024; BENCH_STORE_ROUNDS, default 1; BENCH_STORES, default
// file,swift,s3,rbd). `npm run bench` includes
// the swift and s3 part too.
import { fmt, printTable } from './report.ts';
import { benchStores, storeRows } from './stores.ts';

const sizeMiB = Number(process.env.BENCH_SIZE_MB ?? 1024);
const rounds = Math.max(1, Number(process.env.BENCH_STORE_ROUNDS ?? 1));
const results = await benchStores({ size: Math.round(sizeMiB * 2 ** 20), rounds, stores: (process.env.BENCH_STORES?.split(',') as Array<'file' | 'swift' | 's3' | 'rbd'> | undefined) ?? ['file', 'swift', 's3', 'rbd'] });
console.log(`\n== results (medians of ${rounds} round(s); MiB = 2^20 bytes) ==`);
printTable(storeRows(results, sizeMiB, (v) => fmt.rate(v), (v) => fmt.mb(v)), false);
