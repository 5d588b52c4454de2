// The ten metadef schema documents (/v2/schemas/metadefs/…) as Glance 25.1 serves them, key
// order included, and the Python-style JSON text they are sent as (byte-identical to Glance's
// answer). The same documents validate request bodies (spec/v2.md §8.1: unknown keys → 400).
type Json = Record<string, unknown>;

const propertyTypes = ['array', 'boolean', 'integer', 'number', 'object', 'string', null];

/** The fields of a property definition. */
const propertyFields: Json = {
  name: { type: 'string', maxLength: 80 },
  title: { type: 'string' },
  description: { type: 'string' },
  operators: { type: 'array', items: { type: 'string' } },
  type: { type: 'string', enum: propertyTypes },
  required: { $ref: '#/definitions/stringArray' },
  minimum: { type: 'number' },
  maximum: { type: 'number' },
  maxLength: { $ref: '#/definitions/positiveInteger' },
  minLength: { $ref: '#/definitions/positiveIntegerDefault0' },
  pattern: { type: 'string', format: 'regex' },
  enum: { type: 'array' },
  readonly: { type: 'boolean' },
  default: {},
  items: { type: 'object', properties: { type: { type: 'string', enum: propertyTypes }, enum: { type: 'array' } } },
  maxItems: { $ref: '#/definitions/positiveInteger' },
  minItems: { $ref: '#/definitions/positiveIntegerDefault0' },
  uniqueItems: { type: 'boolean', default: false },
  additionalItems: { type: 'boolean' },
};

function baseDefinitions(stringArrayMinItems: boolean): Json {
  return {
    positiveInteger: { type: 'integer', minimum: 0 },
    positiveIntegerDefault0: { allOf: [{ $ref: '#/definitions/positiveInteger' }, { default: 0 }] },
    stringArray: { type: 'array', items: { type: 'string' }, ...(stringArrayMinItems ? { minItems: 1 } : {}),
      uniqueItems: true },
  };
}

const definitions: Json = {
  ...baseDefinitions(false),
  property: { type: 'object', additionalProperties: { type: 'object', required: ['title', 'type'], properties: propertyFields } },
};

const created = (what: string) => ({ type: 'string', readOnly: true, description: `Date and time of ${what}`,
  format: 'date-time' });
const readOnlyString = { readOnly: true, type: 'string' };

const namespaceProperties: Json = {
  namespace: { type: 'string', description: 'The unique namespace text.', maxLength: 80 },
  display_name: { type: 'string', description: 'The user friendly name for the namespace. Used by UI if available.',
    maxLength: 80 },
  description: { type: 'string', description: 'Provides a user friendly description of the namespace.', maxLength: 500 },
  visibility: { type: 'string', description: 'Scope of namespace accessibility.', enum: ['public', 'private'] },
  protected: { type: 'boolean', description: 'If true, namespace will not be deletable.' },
  owner: { type: 'string', description: 'Owner of the namespace.', maxLength: 255 },
  created_at: created('namespace creation'),
  updated_at: created('the last namespace modification'),
  schema: readOnlyString,
  self: readOnlyString,
  resource_type_associations: { type: 'array', items: { type: 'object', properties: {
    name: { type: 'string' }, prefix: { type: 'string' }, properties_target: { type: 'string' } } } },
  properties: { $ref: '#/definitions/property' },
  objects: { type: 'array', items: { type: 'object', properties: {
    name: { type: 'string' }, description: { type: 'string' }, required: { $ref: '#/definitions/stringArray' },
    properties: { $ref: '#/definitions/property' } } } },
  tags: { type: 'array', items: { type: 'object', properties: { name: { type: 'string' } } } },
};

const associationProperties: Json = {
  name: { type: 'string', description: 'Resource type names should be aligned with Heat resource types whenever '
    + 'possible: https://docs.openstack.org/heat/latest/template_guide/openstack.html', maxLength: 80 },
  prefix: { type: 'string', description: 'Specifies the prefix to use for the given resource type. Any properties in '
    + 'the namespace should be prefixed with this prefix when being applied to the specified resource type. Must '
    + 'include prefix separator (e.g. a colon :).', maxLength: 80 },
  properties_target: { type: 'string', description: 'Some resource types allow more than one key / value pair per '
    + 'instance.  For example, Cinder allows user and image metadata on volumes. Only the image properties metadata '
    + 'is evaluated by Nova (scheduling or drivers). This property allows a namespace target to remove the ambiguity.',
  maxLength: 80 },
  created_at: created('resource type association'),
  updated_at: created('the last resource type association modification'),
};

const objectProperties: Json = {
  name: { type: 'string', maxLength: 80 },
  description: { type: 'string' },
  required: { $ref: '#/definitions/stringArray' },
  properties: { $ref: '#/definitions/property' },
  schema: readOnlyString,
  self: readOnlyString,
  created_at: created('object creation'),
  updated_at: created('the last object modification'),
};

const tagProperties: Json = {
  name: { type: 'string', maxLength: 80 },
  created_at: created('tag creation'),
  updated_at: created('the last tag modification'),
};

/** Glance's Schema.raw(): name, properties, additionalProperties, [definitions], [required]. */
function schema(name: string, properties: Json, required: string[] | null, defs?: Json): Json {
  return { name, properties, additionalProperties: false, ...(defs ? { definitions: defs } : {}),
    ...(required ? { required } : {}) };
}

/** Glance's CollectionSchema: the item's minimal form (no definitions) inside, its definitions at the top. */
function collection(name: string, item: Json, dict = false): Json {
  const { definitions: defs, ...minimal } = item;
  return {
    name,
    properties: {
      [name]: dict ? { type: 'object', additionalProperties: minimal } : { type: 'array', items: minimal },
      first: { type: 'string' }, next: { type: 'string' }, schema: { type: 'string' },
    },
    links: [{ rel: 'first', href: '{first}' }, { rel: 'next', href: '{next}' }, { rel: 'describedby', href: '{schema}' }],
    ...(defs ? { definitions: defs } : {}),
  };
}

export const namespaceSchema = schema('namespace', namespaceProperties, ['namespace'], definitions);
export const objectSchema = schema('object', objectProperties, ['name'], definitions);
export const propertySchema = schema('property', propertyFields, ['type', 'title', 'name'], baseDefinitions(true));
/** A property inside the properties collection and in an object: no name required. */
export const unnamedPropertySchema = schema('property', propertyFields, ['type', 'title'], baseDefinitions(true));
export const associationSchema = schema('resource_type_association', associationProperties, ['name']);
export const tagSchema = schema('tag', tagProperties, ['name']);
/** What POST …/tags validates against (not served). */
export const tagListSchema = schema('tags', { tags: { type: 'array', items: { type: 'object',
  properties: { name: { type: 'string' } }, required: ['name'], additionalProperties: false } } }, null);

export const metadefSchemas: Record<string, Json> = {
  namespace: namespaceSchema,
  namespaces: collection('namespaces', namespaceSchema),
  resource_type: associationSchema,
  resource_types: collection('resource_type_associations', associationSchema),
  property: propertySchema,
  properties: collection('properties', unnamedPropertySchema, true),
  object: objectSchema,
  objects: collection('objects', objectSchema),
  tag: tagSchema,
  tags: collection('tags', tagSchema),
};

/** JSON text as Python's json.dumps writes it (", " and ": " separators, non-ASCII escaped). */
export function pythonJson(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(pythonJson).join(', ')}]`;
  if (value !== null && typeof value === 'object') {
    return `{${Object.entries(value as Json).map(([k, v]) => `${pythonJson(k)}: ${pythonJson(v)}`).join(', ')}}`;
  }
  if (typeof value === 'string') {
    return JSON.stringify(value).replace(/[\u007f-\uffff]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);
  }
  return JSON.stringify(value);
}
