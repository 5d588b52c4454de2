// Helpers for interoperable import tests: stage, import, wait for an image or a task.
import assert from 'node:assert/strict';
import type { TestApp } from './app.ts';
import { admin, json, octet, ownerMember, show } from './v2.ts';

export async function stage(t: TestApp, id: string, data: Buffer | string, headers = ownerMember) {
  return t.app.inject({ method: 'PUT', url: `/v2/images/${id}/stage`, headers: { ...headers, ...octet, ...json },
    payload: Buffer.from(data) });
}

export async function importImage(t: TestApp, id: string, body: unknown, headers: Record<string, string> = ownerMember) {
  return t.app.inject({ method: 'POST', url: `/v2/images/${id}/import`, headers: { ...headers, ...json,
    'content-type': 'application/json' }, payload: body === undefined ? undefined : JSON.stringify(body) });
}

/** Polls GET /v2/images/{id} until `done(image)` holds (at most `ms`). */
export async function waitForImage(t: TestApp, id: string, done: (image: Record<string, unknown>) => boolean,
  ms = 30000, headers = ownerMember): Promise<Record<string, unknown>> {
  const until = Date.now() + ms;
  let image: Record<string, unknown> = {};
  while (Date.now() < until) {
    image = (await show(t, id, headers)).json();
    if (done(image)) return image;
    await new Promise((r) => setTimeout(r, 50));
  }
  assert.fail(`image ${id} did not reach the expected state: ${JSON.stringify(image)}`);
}

/** Polls GET /v2/images/{id}/tasks until every task is finished; returns them. */
export async function waitForTasks(t: TestApp, id: string, ms = 30000): Promise<Record<string, unknown>[]> {
  const until = Date.now() + ms;
  let tasks: Record<string, unknown>[] = [];
  while (Date.now() < until) {
    const res = await t.app.inject({ url: `/v2/images/${id}/tasks`, headers: { ...admin, ...json } });
    assert.equal(res.statusCode, 200, res.body);
    tasks = res.json().tasks;
    if (tasks.length > 0 && tasks.every((task) => task.status === 'success' || task.status === 'failure')) return tasks;
    await new Promise((r) => setTimeout(r, 50));
  }
  assert.fail(`tasks of image ${id} did not finish: ${JSON.stringify(tasks)}`);
}
