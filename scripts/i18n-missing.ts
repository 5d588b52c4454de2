// Lists, per catalogue (src/i18n/locales/<name>.json), the message ids used in the code or held
// by zh_CN that have no entry there, the entries whose placeholders differ from their id, and
// the entries no code uses any more. Exit status 1 when an id is missing or a placeholder differs.
// usage: npm run i18n:missing [-- --json]
import { catalogueEntry, catalogueIds, catalogueNames } from '../src/i18n/catalogue.ts';
import { messagesInSource, placeholders } from './i18n-messages.ts';

// `npm run i18n:missing | head` closes the pipe early: not an error.
process.stdout.on('error', (error: NodeJS.ErrnoException) => {
  if (error.code === 'EPIPE') process.exit(process.exitCode ?? 0);
  throw error;
});

interface Report { missing: string[]; placeholders: string[]; unused: string[] }

const used = [...messagesInSource()].sort();
// zh_CN is where a new message gets its first translation: its ids count as wanted everywhere.
const wanted = [...new Set([...used, ...catalogueIds('zh_CN')])].sort();
const reports: Record<string, Report> = {};
for (const name of catalogueNames) {
  const held = new Set(catalogueIds(name));
  reports[name] = {
    missing: wanted.filter((id) => !held.has(id)),
    placeholders: [...held].filter((id) =>
      placeholders(catalogueEntry(name, id) ?? '').join() !== placeholders(id).join()),
    unused: [...held].filter((id) => !used.includes(id)),
  };
}

if (process.argv.includes('--json')) {
  console.log(JSON.stringify(reports, null, 2));
} else {
  for (const [name, report] of Object.entries(reports)) {
    const file = `src/i18n/locales/${name}.json`;
    console.log(`${file}: ${report.missing.length} missing, ${report.placeholders.length} with other placeholders, `
      + `${report.unused.length} unused`);
    for (const id of report.missing) console.log(`  missing: ${JSON.stringify(id)}`);
    for (const id of report.placeholders) console.log(`  placeholders differ: ${JSON.stringify(id)}`);
    for (const id of report.unused) console.log(`  unused: ${JSON.stringify(id)}`);
  }
}
const failed = Object.values(reports).some((r) => r.missing.length > 0 || r.placeholders.length > 0);
process.exitCode = failed ? 1 : 0;
