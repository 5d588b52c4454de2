// Wire forms of metadata definitions, as Glance renders them: absent (null) attributes are
// left out, timestamps in whole seconds, self/schema links on namespaces and objects.
import type {
  MetadefNamespace, MetadefNamespaceContent, MetadefObject, MetadefProperty, MetadefTag, ResourceType,
  ResourceTypeAssociation,
} from '../../domain/metadef.ts';
import { isoSeconds } from './views.ts';

type Json = Record<string, unknown>;

function compact(record: Json): Json {
  return Object.fromEntries(Object.entries(record).filter(([, v]) => v !== null && v !== undefined));
}

const stamps = (x: { createdAt: Date; updatedAt: Date }) =>
  ({ created_at: isoSeconds(x.createdAt), updated_at: isoSeconds(x.updatedAt) });

export const namespaceHref = (name: string) => `/v2/metadefs/namespaces/${name}`;

export function namespaceView(ns: MetadefNamespace, children: Json = {}): Json {
  return compact({
    namespace: ns.namespace, display_name: ns.displayName, description: ns.description, visibility: ns.visibility,
    protected: ns.protected, owner: ns.owner, ...stamps(ns), ...children,
    self: namespaceHref(ns.namespace), schema: '/v2/schemas/metadefs/namespace',
  });
}

export function associationView(a: ResourceTypeAssociation): Json {
  return compact({ name: a.name, prefix: a.prefix, properties_target: a.propertiesTarget, ...stamps(a) });
}

export function resourceTypeView(rt: ResourceType): Json {
  return { name: rt.name, ...stamps(rt) };
}

export function objectView(namespace: string, o: MetadefObject): Json {
  return compact({
    name: o.name, description: o.description, required: o.required ?? [], properties: o.properties, ...stamps(o),
    self: `${namespaceHref(namespace)}/objects/${o.name}`, schema: '/v2/schemas/metadefs/object',
  });
}

/** The answer to an object create or update: what was sent (no defaults filled in) plus timestamps and links. */
export function createdObjectView(namespace: string, o: MetadefObject, sent: Json): Json {
  return compact({
    name: o.name, description: o.description, required: 'required' in sent ? o.required : undefined,
    properties: 'properties' in sent ? o.properties : undefined, ...stamps(o),
    self: `${namespaceHref(namespace)}/objects/${o.name}`, schema: '/v2/schemas/metadefs/object',
  });
}

export function propertyView(p: MetadefProperty): Json {
  return { ...p.definition, name: p.name };
}

export function propertiesView(list: MetadefProperty[]): Json {
  return Object.fromEntries(list.map((p) => [p.name, p.definition]));
}

export function tagView(t: MetadefTag): Json {
  return { name: t.name, ...stamps(t) };
}

/** GET namespace: the namespace with every non-empty child collection. */
export function namespaceDetailView(content: MetadefNamespaceContent): Json {
  const { namespace: ns } = content;
  return namespaceView(ns, {
    resource_type_associations: content.associations.length ? content.associations.map(associationView) : undefined,
    properties: content.properties.length ? propertiesView(content.properties) : undefined,
    objects: content.objects.length ? content.objects.map((o) => objectView(ns.namespace, o)) : undefined,
    tags: content.tags.length ? content.tags.map((t) => ({ name: t.name })) : undefined,
  });
}

/** The answer to a namespace create: the embedded children echoed as sent (no timestamps). */
export function createdNamespaceView(content: MetadefNamespaceContent, sent: Json): Json {
  const echo = (key: string, value: unknown) => (key in sent ? value : undefined);
  return namespaceView(content.namespace, {
    resource_type_associations: echo('resource_type_associations', content.associations.map((a) =>
      compact({ name: a.name, prefix: a.prefix, properties_target: a.propertiesTarget }))),
    properties: echo('properties', propertiesView(content.properties)),
    objects: echo('objects', content.objects.map((o, i) => {
      const raw = ((sent.objects as Json[] | undefined)?.[i] ?? {});
      return compact({ name: o.name, description: o.description, required: 'required' in raw ? o.required : undefined,
        properties: 'properties' in raw ? o.properties : undefined });
    })),
    tags: echo('tags', content.tags.map((t) => ({ name: t.name }))),
  });
}
