// Glance's registered policy rules and their secure-RBAC defaults (master; enforce_new_defaults=true,
// scope not enforced). Rule names and check strings are Glance's, character for character, so an
// operator's policy.yaml written for Glance means the same here and `oslopolicy-list-redundant`-style
// comparisons hold. Glance has no role implication: `member` does not imply `reader`.

export interface Operation {
  method: string;
  path: string;
}

export interface PolicyDefault {
  name: string;
  checkString: string;
  /** One line, shown in `glimpse policy sample`. */
  description: string;
  operations: readonly Operation[];
}

// Persona building blocks. Glance composes its defaults from these strings; they are not rules
// of their own (only `context_is_admin`, `default` and `service_api` are registered).
export const PROJECT_MEMBER = 'role:member and project_id:%(project_id)s';
export const PROJECT_READER = 'role:reader and project_id:%(project_id)s';
/** The caller's project is the member the target names (`member_id`: set for image members). */
export const IMAGE_MEMBER_CHECK = 'project_id:%(member_id)s';
export const COMMUNITY_VISIBILITY_CHECK = "'community':%(visibility)s";
export const PUBLIC_VISIBILITY_CHECK = "'public':%(visibility)s";
export const SHARED_VISIBILITY_CHECK = "'shared':%(visibility)s";

const anyVisibleImage = `project_id:%(project_id)s or ${IMAGE_MEMBER_CHECK} or ${COMMUNITY_VISIBILITY_CHECK} `
  + `or ${PUBLIC_VISIBILITY_CHECK} or ${SHARED_VISIBILITY_CHECK}`;
export const PROJECT_MEMBER_OR_IMAGE_MEMBER_OR_COMMUNITY_OR_PUBLIC_OR_SHARED = `role:member and (${anyVisibleImage})`;
export const PROJECT_READER_OR_IMAGE_MEMBER_OR_COMMUNITY_OR_PUBLIC_OR_SHARED = `role:reader and (${anyVisibleImage})`;
export const PROJECT_READER_OR_PUBLIC_NAMESPACE = `role:reader and (project_id:%(project_id)s or ${PUBLIC_VISIBILITY_CHECK})`;

export const ADMIN = 'rule:context_is_admin';
export const DEFAULT = 'rule:default';
export const SERVICE = 'rule:service_api';
export const ADMIN_OR_PROJECT_MEMBER = `${ADMIN} or (${PROJECT_MEMBER})`;
export const ADMIN_OR_PROJECT_READER = `${ADMIN} or (${PROJECT_READER})`;
export const ADMIN_OR_PROJECT_READER_GET_IMAGE = `${ADMIN} or (${PROJECT_READER_OR_IMAGE_MEMBER_OR_COMMUNITY_OR_PUBLIC_OR_SHARED})`;
export const ADMIN_OR_PROJECT_MEMBER_DOWNLOAD_IMAGE = `${ADMIN} or (${PROJECT_MEMBER_OR_IMAGE_MEMBER_OR_COMMUNITY_OR_PUBLIC_OR_SHARED})`;
/** Creating: a project member, creating for their own project (`owner` = the proposed owner). */
export const ADMIN_OR_PROJECT_MEMBER_CREATE_IMAGE = `${ADMIN} or (${PROJECT_MEMBER} and project_id:%(owner)s)`;
export const ADMIN_OR_PROJECT_READER_GET_NAMESPACE = `${ADMIN} or (${PROJECT_READER_OR_PUBLIC_NAMESPACE})`;
export const ADMIN_OR_SHARED_MEMBER = `${ADMIN} or (role:member and ${IMAGE_MEMBER_CHECK})`;
// Unparenthesised in Glance too; precedence makes it "admin or (reader and (owner or member))".
export const ADMIN_OR_PROJECT_READER_OR_SHARED_MEMBER =
  `${ADMIN} or role:reader and (project_id:%(project_id)s or ${IMAGE_MEMBER_CHECK})`;
export const SERVICE_OR_PROJECT_MEMBER = `${SERVICE} or (${PROJECT_MEMBER} and project_id:%(owner)s)`;
export const ADMIN_OR_SERVICE_ROLE = `${ADMIN} or ${SERVICE}`;

const METADEF_ADMIN = 'rule:metadef_admin';

const op = (method: string, path: string): Operation => ({ method, path });
const rule = (name: string, checkString: string, description: string, ...operations: Operation[]): PolicyDefault =>
  ({ name, checkString, description, operations });

const img = '/v2/images/{image_id}';
const ns = '/v2/metadefs/namespaces/{namespace_name}';

const base: PolicyDefault[] = [
  rule('default', '', 'Fallback for checks that refer to rule:default; empty means anyone may.'),
  rule('context_is_admin', 'role:admin', 'Who counts as an administrator (the is_admin flag of a request).'),
  rule('service_api', 'role:service or role:admin',
    'Callers acting as another OpenStack service (admin is accepted for services that send no service token).'),
];

const image: PolicyDefault[] = [
  rule('add_image', ADMIN_OR_PROJECT_MEMBER_CREATE_IMAGE, 'Create an image record owned by your project.',
    op('POST', '/v2/images')),
  rule('delete_image', ADMIN_OR_PROJECT_MEMBER, 'Delete an image.', op('DELETE', img)),
  rule('get_image', ADMIN_OR_PROJECT_READER_GET_IMAGE,
    'Show one image; denial is reported as 404 and also hides every sub-resource of the image.', op('GET', img)),
  rule('get_images', ADMIN_OR_PROJECT_READER, 'List the images visible to your project.', op('GET', '/v2/images')),
  rule('modify_image', ADMIN_OR_PROJECT_MEMBER, 'Change image properties and tags, stage and import data.',
    op('PATCH', img)),
  rule('publicize_image', ADMIN, 'Give an image public visibility.', op('PATCH', img)),
  rule('communitize_image', ADMIN_OR_PROJECT_MEMBER, 'Give an image community visibility.', op('PATCH', img)),
  rule('download_image', ADMIN_OR_PROJECT_MEMBER_DOWNLOAD_IMAGE, 'Download the data of an image.',
    op('GET', `${img}/file`)),
  rule('download_from_store', ADMIN_OR_PROJECT_MEMBER_DOWNLOAD_IMAGE,
    'Download image data from a store chosen by the caller.', op('GET', `${img}/file`)),
  rule('upload_image', ADMIN_OR_PROJECT_MEMBER, 'Upload the data of an image.', op('PUT', `${img}/file`)),
  rule('delete_image_location', ADMIN, 'Remove a location from an image, or delete image data from one store.',
    op('PATCH', img)),
  rule('get_image_location', ADMIN_OR_PROJECT_READER, 'See the locations (direct URLs) of an image.', op('GET', img)),
  rule('set_image_location', ADMIN_OR_PROJECT_MEMBER, 'Add or replace image locations through PATCH.',
    op('PATCH', img)),
  rule('add_image_location', SERVICE_OR_PROJECT_MEMBER, 'Add a location to an image through the locations API.',
    op('POST', `${img}/locations`)),
  rule('fetch_image_location', SERVICE, 'List the locations of an image through the locations API.',
    op('GET', `${img}/locations`)),
  rule('add_member', ADMIN_OR_PROJECT_MEMBER, 'Share an image with another project.', op('POST', `${img}/members`)),
  rule('delete_member', ADMIN_OR_PROJECT_MEMBER, 'Stop sharing an image with a project.',
    op('DELETE', `${img}/members/{member_id}`)),
  rule('get_member', ADMIN_OR_PROJECT_READER_OR_SHARED_MEMBER, 'Show one membership of an image.',
    op('GET', `${img}/members/{member_id}`)),
  rule('get_members', ADMIN_OR_PROJECT_READER_OR_SHARED_MEMBER, 'List the memberships of an image.',
    op('GET', `${img}/members`)),
  rule('modify_member', ADMIN_OR_SHARED_MEMBER, 'Accept or reject an image shared with your project.',
    op('PUT', `${img}/members/{member_id}`)),
  rule('manage_image_cache', ADMIN, 'Manage the image cache (legacy blanket rule).'),
  rule('deactivate', ADMIN_OR_PROJECT_MEMBER, 'Deactivate an image.', op('POST', `${img}/actions/deactivate`)),
  rule('reactivate', ADMIN_OR_PROJECT_MEMBER, 'Reactivate a deactivated image.', op('POST', `${img}/actions/reactivate`)),
  rule('copy_image', ADMIN, 'Copy an existing image into more stores (the copy-image import method).',
    op('POST', `${img}/import`)),
  rule('list_cached_nodes', ADMIN, 'List the API nodes that hold an image in their cache.',
    op('GET', '/v2/cache/nodes/{image_id}')),
];

const tasks: PolicyDefault[] = [
  rule('get_task', DEFAULT, 'Show a task (internal check; access to the tasks API is tasks_api_access).',
    op('GET', '/v2/tasks/{task_id}')),
  rule('get_tasks', DEFAULT, 'List tasks (internal check; access to the tasks API is tasks_api_access).',
    op('GET', '/v2/tasks')),
  rule('add_task', DEFAULT, 'Create a task (internal check; also made by image import).', op('POST', '/v2/tasks')),
  rule('modify_task', DEFAULT, 'Not enforced anywhere; kept so that existing policy files still load.',
    op('DELETE', '/v2/tasks/{task_id}')),
  rule('tasks_api_access', ADMIN, 'Use any route of the tasks API.',
    op('GET', '/v2/tasks/{task_id}'), op('GET', '/v2/tasks'), op('POST', '/v2/tasks'), op('DELETE', '/v2/tasks/{task_id}')),
];

const metadef: PolicyDefault[] = [
  rule('metadef_default', '', 'Building block for metadata definition reads in older policy files.'),
  rule('metadef_admin', ADMIN, 'Who may change metadata definitions.'),
  rule('get_metadef_namespace', ADMIN_OR_PROJECT_READER_GET_NAMESPACE,
    'Show a metadata definition namespace; denial is reported as 404.', op('GET', ns)),
  rule('get_metadef_namespaces', ADMIN_OR_PROJECT_READER, 'List metadata definition namespaces.',
    op('GET', '/v2/metadefs/namespaces')),
  rule('modify_metadef_namespace', METADEF_ADMIN, 'Replace a metadata definition namespace.', op('PUT', ns)),
  rule('add_metadef_namespace', METADEF_ADMIN, 'Create a metadata definition namespace.',
    op('POST', '/v2/metadefs/namespaces')),
  rule('delete_metadef_namespace', METADEF_ADMIN, 'Delete a metadata definition namespace.', op('DELETE', ns)),
  rule('get_metadef_object', ADMIN_OR_PROJECT_READER_GET_NAMESPACE, 'Show an object of a namespace.',
    op('GET', `${ns}/objects/{object_name}`)),
  rule('get_metadef_objects', ADMIN_OR_PROJECT_READER_GET_NAMESPACE, 'List the objects of a namespace.',
    op('GET', `${ns}/objects`)),
  rule('modify_metadef_object', METADEF_ADMIN, 'Replace an object of a namespace.',
    op('PUT', `${ns}/objects/{object_name}`)),
  rule('add_metadef_object', METADEF_ADMIN, 'Create an object in a namespace.', op('POST', `${ns}/objects`)),
  rule('delete_metadef_object', METADEF_ADMIN, 'Delete an object of a namespace.',
    op('DELETE', `${ns}/objects/{object_name}`)),
  rule('list_metadef_resource_types', ADMIN_OR_PROJECT_READER_GET_NAMESPACE, 'List metadata definition resource types.',
    op('GET', '/v2/metadefs/resource_types')),
  rule('get_metadef_resource_type', ADMIN_OR_PROJECT_READER_GET_NAMESPACE,
    'List the resource type associations of a namespace.', op('GET', `${ns}/resource_types`)),
  rule('add_metadef_resource_type_association', METADEF_ADMIN, 'Associate a resource type with a namespace.',
    op('POST', `${ns}/resource_types`)),
  rule('remove_metadef_resource_type_association', METADEF_ADMIN, 'Remove a resource type association.',
    op('DELETE', `${ns}/resource_types/{name}`)),
  rule('get_metadef_property', ADMIN_OR_PROJECT_READER_GET_NAMESPACE, 'Show a property of a namespace.',
    op('GET', `${ns}/properties/{property_name}`)),
  rule('get_metadef_properties', ADMIN_OR_PROJECT_READER_GET_NAMESPACE, 'List the properties of a namespace.',
    op('GET', `${ns}/properties`)),
  rule('modify_metadef_property', METADEF_ADMIN, 'Replace a property of a namespace.',
    op('PUT', `${ns}/properties/{property_name}`)),
  rule('add_metadef_property', METADEF_ADMIN, 'Create a property in a namespace.', op('POST', `${ns}/properties`)),
  rule('remove_metadef_property', METADEF_ADMIN, 'Delete a property of a namespace.',
    op('DELETE', `${ns}/properties/{property_name}`)),
  rule('get_metadef_tag', ADMIN_OR_PROJECT_READER_GET_NAMESPACE, 'Show a tag of a namespace.',
    op('GET', `${ns}/tags/{tag_name}`)),
  rule('get_metadef_tags', ADMIN_OR_PROJECT_READER_GET_NAMESPACE, 'List the tags of a namespace.',
    op('GET', `${ns}/tags`)),
  rule('modify_metadef_tag', METADEF_ADMIN, 'Rename a tag of a namespace.', op('PUT', `${ns}/tags/{tag_name}`)),
  rule('add_metadef_tag', METADEF_ADMIN, 'Create one tag in a namespace.', op('POST', `${ns}/tags/{tag_name}`)),
  rule('add_metadef_tags', METADEF_ADMIN, 'Create tags in a namespace in bulk (replacing or appending).',
    op('POST', `${ns}/tags`)),
  rule('delete_metadef_tag', METADEF_ADMIN, 'Delete a tag of a namespace.', op('DELETE', `${ns}/tags/{tag_name}`)),
  rule('delete_metadef_tags', METADEF_ADMIN, 'Delete all tags of a namespace.', op('DELETE', `${ns}/tags`)),
];

const cache: PolicyDefault[] = [
  rule('cache_image', ADMIN, 'Queue an image for caching.', op('PUT', '/v2/cache/{image_id}')),
  rule('cache_list', ADMIN, 'List cached and queued images.', op('GET', '/v2/cache')),
  rule('cache_delete', ADMIN, 'Remove images from the cache or the queue.',
    op('DELETE', '/v2/cache'), op('DELETE', '/v2/cache/{image_id}')),
  rule('cache_clean', ADMIN, 'Remove invalid and stalled cache entries.', op('POST', '/v2/cache/clean')),
  rule('cache_prune', ADMIN, 'Prune the cache down to its size limit.', op('POST', '/v2/cache/prune')),
];

const discovery: PolicyDefault[] = [
  rule('stores_info_detail', ADMIN_OR_SERVICE_ROLE, 'Show store details such as type and configuration.',
    op('GET', '/v2/info/stores/detail')),
];

/** Every registered rule, in Glance's registration order. */
export const policyDefaults: readonly PolicyDefault[] = Object.freeze([
  ...base, ...image, ...tasks, ...metadef, ...cache, ...discovery,
]);

const byName = new Map(policyDefaults.map((d) => [d.name, d]));

export function policyDefault(name: string): PolicyDefault | undefined {
  return byName.get(name);
}

export function isRegisteredRule(name: string): boolean {
  return byName.has(name);
}
