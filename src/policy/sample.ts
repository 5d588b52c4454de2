// `glimpse policy sample`: every default rule, commented out, in the YAML shape of oslo's
// sample generator. Uncommenting a line gives a valid override; JSON string quoting is also
// valid YAML double-quoted scalar syntax, so check strings with quotes or % survive as-is.
import { policyDefaults } from './defaults.ts';

export function renderPolicySample(): string {
  return policyDefaults
    .map((d) => `# ${d.description}\n#${JSON.stringify(d.name)}: ${JSON.stringify(d.checkString)}\n\n`)
    .join('');
}
