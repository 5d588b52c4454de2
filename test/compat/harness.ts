// Compat harness: replays HTTP scenarios against an Images API endpoint and reduces each
// response to what must agree between Glimpse and Glance: status, the headers that matter,
// and the JSON body with run-specific values (ids, projects, timestamps, hosts) normalized.
import { randomUUID } from 'node:crypto';

export type Persona = 'owner' | 'ownerReader' | 'other' | 'otherReader' | 'admin' | 'anonymous';

export interface Step {
  method?: string;
  /** May contain {name} placeholders filled from earlier captures. */
  path: string;
  as?: Persona;
  headers?: Record<string, string>;
  /** Objects are sent as JSON, strings as they are. */
  body?: unknown;
  /** Capture values from the JSON answer: name → top-level key (e.g. `id`). */
  capture?: Record<string, string>;
  /** Headers to compare besides status and Content-Type. */
  compareHeaders?: string[];
  /** Only compare the status (body differs deliberately; reason given). */
  statusOnly?: string;
}

export interface Scenario {
  name: string;
  steps: Step[];
}

export interface Outcome {
  status: number;
  contentType: string | null;
  headers: Record<string, string>;
  body: unknown;
}

const defaultHeaders = ['location', 'allow', 'accept-patch', 'content-range', 'content-md5'];
const uuid = /[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}/g;
const timestamp = /\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z?/g;

export interface Run {
  base: string;
  projects: Record<'owner' | 'other' | 'admin', string>;
}

export function newRun(base: string): Run {
  const tag = randomUUID().slice(0, 8);
  return { base, projects: { owner: `owner-${tag}`, other: `other-${tag}`, admin: `admin-${tag}` } };
}

function personaHeaders(run: Run, persona: Persona): Record<string, string> {
  if (persona === 'anonymous') return {};
  const [project, roles] = {
    owner: [run.projects.owner, 'member,reader'],
    ownerReader: [run.projects.owner, 'reader'],
    other: [run.projects.other, 'member,reader'],
    otherReader: [run.projects.other, 'reader'],
    admin: [run.projects.admin, 'admin,member,reader'],
  }[persona] as [string, string];
  return { 'x-identity-status': 'Confirmed', 'x-tenant-id': project, 'x-user-id': `${persona}-user`, 'x-roles': roles };
}

/** Times the cache API reports as epoch seconds. */
const epochKeys = new Set(['last_accessed', 'last_modified']);

/** Replaces run-specific strings with stable names, consistently within one scenario. */
class Normalizer {
  private readonly ids = new Map<string, string>();
  constructor(private readonly run: Run) {}

  text(value: string): string {
    let out = value.split(this.run.base).join('<base>');
    for (const [name, project] of Object.entries(this.run.projects)) out = out.split(project).join(`<${name}>`);
    out = out.replace(uuid, (id) => {
      const key = id.toLowerCase();
      if (!this.ids.has(key)) this.ids.set(key, `<id${this.ids.size + 1}>`);
      return this.ids.get(key)!;
    });
    return out.replace(timestamp, '<time>').replace(/req-<id\d+>/g, '<request-id>');
  }

  value(value: unknown): unknown {
    if (typeof value === 'string') return this.text(value);
    if (Array.isArray(value)) return value.map((v) => this.value(v));
    if (value && typeof value === 'object') {
      return Object.fromEntries(Object.entries(value).map(([k, v]) =>
        [this.text(k), epochKeys.has(k) && typeof v === 'number' ? '<epoch>' : this.value(v)]));
    }
    return value;
  }
}

function fill(template: string, vars: Record<string, string>): string {
  return template.replace(/\{(\w+)\}/g, (whole, name: string) => vars[name] ?? whole);
}

export async function play(run: Run, scenario: Scenario): Promise<Outcome[]> {
  const vars: Record<string, string> = { ...run.projects, newid: randomUUID() };
  const normalizer = new Normalizer(run);
  const outcomes: Outcome[] = [];
  for (const step of scenario.steps) {
    const headers: Record<string, string> = { accept: 'application/json', ...personaHeaders(run, step.as ?? 'owner'),
      ...Object.fromEntries(Object.entries(step.headers ?? {}).map(([k, v]) => [k, fill(v, vars)])) };
    let body: string | undefined;
    if (step.body !== undefined) body = fill(typeof step.body === 'string' ? step.body : JSON.stringify(step.body), vars);
    const res = await fetch(`${run.base}${fill(step.path, vars)}`, {
      method: step.method ?? 'GET', headers, body, redirect: 'manual',
    });
    const raw = await res.text();
    let parsed: unknown = raw;
    if ((res.headers.get('content-type') ?? '').startsWith('application/json') && raw !== '') {
      parsed = JSON.parse(raw) as unknown;
      for (const [name, key] of Object.entries(step.capture ?? {})) {
        vars[name] = String((parsed as Record<string, unknown>)[key]);
      }
    }
    const picked: Record<string, string> = {};
    for (const name of [...defaultHeaders, ...(step.compareHeaders ?? [])]) {
      const value = res.headers.get(name);
      if (value !== null) picked[name] = normalizer.text(value);
    }
    outcomes.push({
      status: res.status,
      contentType: res.headers.get('content-type')?.split(';')[0] ?? null,
      headers: step.statusOnly ? {} : picked,
      body: step.statusOnly ? '<not compared>' : normalizer.value(parsed),
    });
  }
  return outcomes;
}
