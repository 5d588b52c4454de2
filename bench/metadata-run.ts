// `npm run bench:metadata`: only the metadata part of `npm run bench` (bench/metadata.ts).
import { runMetadataBench } from './metadata.ts';

await runMetadataBench();
