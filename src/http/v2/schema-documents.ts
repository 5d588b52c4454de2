// The schema documents Glance serves under /v2/schemas, reproduced as wire data (they are
// part of the API: clients such as glanceclient read them to build their forms and checks).
// The image schema's format enums come from [image_format]; operator properties can be
// added from a schema-image.json file, as in Glance.

const uuidPattern = '^([0-9a-fA-F]){8}-([0-9a-fA-F]){4}-([0-9a-fA-F]){4}-([0-9a-fA-F]){4}-([0-9a-fA-F]){12}$';
type Json = Record<string, unknown>;

/** The properties Glance's shipped schema-image.json adds (is_base: false). */
export const defaultCustomProperties: Json = {
  kernel_id: { type: ['null', 'string'], pattern: uuidPattern, is_base: false,
    description: 'ID of image stored in Glance that should be used as the kernel when booting an AMI-style image.' },
  ramdisk_id: { type: ['null', 'string'], pattern: uuidPattern, is_base: false,
    description: 'ID of image stored in Glance that should be used as the ramdisk when booting an AMI-style image.' },
  instance_uuid: { type: 'string', is_base: false,
    description: 'Metadata which can be used to record which instance this image is associated with. '
      + '(Informational only, does not create an instance snapshot.)' },
  architecture: { type: 'string', is_base: false, description: 'Operating system architecture as specified in '
    + 'https://docs.openstack.org/python-glanceclient/latest/cli/property-keys.html' },
  os_distro: { type: 'string', is_base: false, description: 'Common name of operating system distribution as '
    + 'specified in https://docs.openstack.org/python-glanceclient/latest/cli/property-keys.html' },
  os_version: { type: 'string', is_base: false, description: 'Operating system version as specified by the distributor.' },
  description: { type: 'string', is_base: false, description: 'A human-readable string describing this image.' },
  cinder_encryption_key_id: { type: 'string', is_base: false, description: 'Identifier in the OpenStack Key '
    + 'Management Service for the encryption key for the Block Storage Service to use when mounting a volume '
    + 'created from this image' },
  cinder_encryption_key_deletion_policy: { type: 'string', enum: ['on_image_deletion', 'do_not_delete'], is_base: false,
    description: "States the condition under which the Image Service will delete the object associated with the "
      + "'cinder_encryption_key_id' image property.  If this property is missing, the Image Service will take no action" },
};

export function imageProperties(diskFormats: string[], containerFormats: string[]): Json {
  const nullableString = (description: string, maxLength: number, readOnly = false) =>
    ({ type: ['null', 'string'], ...(readOnly ? { readOnly: true } : {}), description, maxLength });
  return {
    id: { type: 'string', description: 'An identifier for the image', pattern: uuidPattern },
    name: nullableString('Descriptive name for the image', 255),
    status: { type: 'string', readOnly: true, description: 'Status of the image',
      enum: ['queued', 'saving', 'active', 'killed', 'deleted', 'uploading', 'importing', 'pending_delete', 'deactivated'] },
    visibility: { type: 'string', description: 'Scope of image accessibility', enum: ['community', 'public', 'private', 'shared'] },
    protected: { type: 'boolean', description: 'If true, image will not be deletable.' },
    os_hidden: { type: 'boolean', description: 'If true, image will not appear in default image list response.' },
    checksum: nullableString('md5 hash of image contents.', 32, true),
    os_hash_algo: nullableString('Algorithm to calculate the os_hash_value', 64, true),
    os_hash_value: nullableString('Hexdigest of the image contents using the algorithm specified by the os_hash_algo',
      128, true),
    owner: nullableString('Owner of the image', 255),
    size: { type: ['null', 'integer'], readOnly: true, description: 'Size of image file in bytes' },
    virtual_size: { type: ['null', 'integer'], readOnly: true, description: 'Virtual size of image in bytes' },
    container_format: { type: ['null', 'string'], description: 'Format of the container', enum: [null, ...containerFormats] },
    disk_format: { type: ['null', 'string'], description: 'Format of the disk', enum: [null, ...diskFormats] },
    created_at: { type: 'string', readOnly: true, description: 'Date and time of image registration' },
    updated_at: { type: 'string', readOnly: true, description: 'Date and time of the last image modification' },
    tags: { type: 'array', description: 'List of strings related to the image', items: { type: 'string', maxLength: 255 } },
    direct_url: { type: 'string', readOnly: true, description: 'URL to access the image file kept in external store' },
    min_ram: { type: 'integer', description: 'Amount of ram (in MB) required to boot image.' },
    min_disk: { type: 'integer', description: 'Amount of disk space (in GB) required to boot image.' },
    self: { type: 'string', readOnly: true, description: 'An image self url' },
    file: { type: 'string', readOnly: true, description: 'An image file url' },
    stores: { type: 'string', readOnly: true, description: 'Store in which image data resides.  Only present when the '
      + 'operator has enabled multiple stores.  May be a comma-separated list of store identifiers.' },
    schema: { type: 'string', readOnly: true, description: 'An image schema url' },
    locations: { type: 'array', description: 'A set of URLs to access the image file kept in external store',
      items: { type: 'object', required: ['url', 'metadata'], properties: {
        url: { type: 'string', maxLength: 255 },
        metadata: { type: 'object' },
        validation_data: { description: 'Values to be used to populate the corresponding image properties. If the '
          + "image status is not 'queued', values must exactly match those already contained in the image properties.",
        type: 'object', writeOnly: true, additionalProperties: false, required: ['os_hash_algo', 'os_hash_value'],
        properties: { checksum: { type: 'string', minLength: 32, maxLength: 32 },
          os_hash_algo: { type: 'string', maxLength: 64 }, os_hash_value: { type: 'string', maxLength: 128 } } },
      } } },
  };
}

export function imageSchema(diskFormats: string[], containerFormats: string[], custom: Json = defaultCustomProperties): Json {
  return {
    name: 'image',
    properties: { ...imageProperties(diskFormats, containerFormats), ...custom },
    additionalProperties: { type: 'string' },
    links: [{ rel: 'self', href: '{self}' }, { rel: 'enclosure', href: '{file}' }, { rel: 'describedby', href: '{schema}' }],
  };
}

export function imagesSchema(image: Json): Json {
  return {
    name: 'images',
    properties: {
      images: { type: 'array', items: image },
      first: { type: 'string' }, next: { type: 'string' }, schema: { type: 'string' },
    },
    links: [{ rel: 'first', href: '{first}' }, { rel: 'next', href: '{next}' }, { rel: 'describedby', href: '{schema}' }],
  };
}

export const memberSchema: Json = {
  name: 'member',
  properties: {
    member_id: { type: 'string', description: 'An identifier for the image member (tenantId)' },
    image_id: { type: 'string', description: 'An identifier for the image', pattern: uuidPattern },
    created_at: { type: 'string', description: 'Date and time of image member creation' },
    updated_at: { type: 'string', description: 'Date and time of last modification of image member' },
    status: { type: 'string', description: 'The status of this image member', enum: ['pending', 'accepted', 'rejected'] },
    schema: { readOnly: true, type: 'string' },
  },
};

export const membersSchema: Json = {
  name: 'members',
  properties: { members: { type: 'array', items: memberSchema }, schema: { type: 'string' } },
  links: [{ rel: 'describedby', href: '{schema}' }],
};

const taskProperties: Json = {
  id: { description: 'An identifier for the task', pattern: uuidPattern, type: 'string' },
  type: { description: 'The type of task represented by this content', enum: ['import', 'api_image_import'], type: 'string' },
  status: { description: 'The current status of this task', enum: ['pending', 'processing', 'success', 'failure'], type: 'string' },
  input: { description: 'The parameters required by task, JSON blob', type: ['null', 'object'] },
  result: { description: 'The result of current task, JSON blob', type: ['null', 'object'] },
  owner: { description: 'An identifier for the owner of this task', type: 'string' },
  message: { description: 'Human-readable informative message only included when appropriate (usually on failure)',
    type: 'string' },
  image_id: { description: 'Image associated with the task', type: 'string' },
  request_id: { description: 'Human-readable informative request-id', type: 'string' },
  user_id: { description: 'User associated with the task', type: 'string' },
  expires_at: { description: 'Datetime when this resource would be subject to removal', type: ['null', 'string'] },
  created_at: { description: 'Datetime when this resource was created', type: 'string' },
  updated_at: { description: 'Datetime when this resource was updated', type: 'string' },
  self: { readOnly: true, type: 'string' },
  schema: { readOnly: true, type: 'string' },
};

export const taskSchema: Json = { name: 'task', properties: taskProperties };

export const tasksSchema: Json = {
  name: 'tasks',
  properties: {
    tasks: { type: 'array', items: { name: 'task', properties: Object.fromEntries(Object.entries(taskProperties)
      .filter(([k]) => !['input', 'result', 'message'].includes(k))) } },
    schema: { type: 'string' },
  },
  links: [{ rel: 'describedby', href: '{schema}' }],
};
