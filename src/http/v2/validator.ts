// Validates request bodies against the same schema documents /v2/schemas serves, with ajv,
// and words failures the way Glance (Python jsonschema) does: the first line of its message,
// e.g. "Provided object does not match schema 'image': 1 is not of type 'null', 'string'".
import { Ajv, type ErrorObject, type ValidateFunction } from 'ajv';
import { badRequest } from '../../domain/errors.ts';

/** Python's repr of a JSON value, as jsonschema prints instances. */
export function pyRepr(value: unknown): string {
  if (value === null || value === undefined) return 'None';
  if (value === true) return 'True';
  if (value === false) return 'False';
  if (typeof value === 'string') return `'${value.replace(/\\/g, '\\\\').replace(/'/g, "\\'")}'`;
  if (Array.isArray(value)) return `[${value.map(pyRepr).join(', ')}]`;
  if (typeof value === 'object') {
    return `{${Object.entries(value as Record<string, unknown>).map(([k, v]) => `${pyRepr(k)}: ${pyRepr(v)}`).join(', ')}}`;
  }
  return String(value);
}

function reason(error: ErrorObject, root: unknown): string {
  const data = error.data ?? valueAt(root, error.instancePath);
  const p = error.params as Record<string, unknown>;
  switch (error.keyword) {
    case 'type': {
      const types = Array.isArray(p.type) ? p.type : String(p.type).split(',');
      return `${pyRepr(data)} is not of type ${types.map((t) => `'${t}'`).join(', ')}`;
    }
    case 'enum': return `${pyRepr(data)} is not one of ${pyRepr(p.allowedValues)}`;
    case 'maxLength': return `${pyRepr(data)} is too long`;
    case 'minLength': return `${pyRepr(data)} is too short`;
    case 'maxItems': return `${pyRepr(data)} is too long`;
    case 'pattern': return `${pyRepr(data)} does not match ${pyRepr(p.pattern)}`;
    case 'required': return `${pyRepr(p.missingProperty)} is a required property`;
    case 'additionalProperties': return `Additional properties are not allowed (${pyRepr(p.additionalProperty)} was unexpected)`;
    case 'minimum': return `${pyRepr(data)} is less than the minimum of ${String(p.limit)}`;
    case 'maximum': return `${pyRepr(data)} is greater than the maximum of ${String(p.limit)}`;
    default: return error.message ?? 'is not valid';
  }
}

function valueAt(root: unknown, pointer: string): unknown {
  let node = root;
  for (const segment of pointer.split('/').slice(1)) {
    const key = segment.replace(/~1/g, '/').replace(/~0/g, '~');
    node = (node as Record<string, unknown> | undefined)?.[key];
  }
  return node;
}

const ajv = new Ajv({ strict: false, allErrors: false, verbose: true, validateFormats: false });

export class SchemaValidator {
  private readonly check: ValidateFunction;

  constructor(readonly name: string, schema: Record<string, unknown>) {
    // `name` and `links` are documentation keys of Glance's documents, not validation keywords.
    const { name: _n, links: _l, ...validation } = schema;
    this.check = ajv.compile({ type: 'object', ...validation });
  }

  validate(value: unknown): void {
    if (this.check(value)) return;
    const first = this.check.errors?.[0];
    throw badRequest("Provided object does not match schema '{schema}': {reason}",
      { schema: this.name, reason: first ? reason(first, value) : 'invalid' }, 'schema.invalid');
  }
}
