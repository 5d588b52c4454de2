// Policy target for metadata definitions, as Glance builds it: the namespace's owner as
// project_id and its visibility, or just the caller's project when no namespace is involved
// (listing, creating).
export function metadefTarget(
  callerProjectId: string | null, namespace?: { owner: string | null; visibility: string } | null,
): Record<string, unknown> {
  if (!namespace) return { project_id: callerProjectId };
  return { project_id: namespace.owner, visibility: namespace.visibility };
}
