// The `v1_copy_from` task: Images API v1's x-glance-api-copy-from, run by any node's task worker
// (Glance runs it in the API process, so a copy dies with it; here the task's lease lets another
// worker take it over). The worker acts as the caller recorded in the task (services/copy-from-task.ts):
// the copy goes through the same use case, policy and upload pipeline as a request would.
// Restartable: LegacyImageService.copyFromSource puts an image a dead attempt left `saving` back to
// queued and copies again; an image already active is done.
import type { Logger, RequestContext } from '../ports/context.ts';
import { copyFromOfTask } from '../services/copy-from-task.ts';
import type { LegacyImageService } from '../services/legacy-images.ts';
import { errorText, type TaskOutcome, type TaskRun } from './worker.ts';

export function copyFromHandler(deps: { images: LegacyImageService; log: Logger }) {
  return async (run: TaskRun): Promise<TaskOutcome> => {
    const { task } = run;
    const imageId = task.imageId!;
    const { copy, caller } = copyFromOfTask(task);
    const ctx: RequestContext = {
      ...caller, requestId: task.requestId ?? `req-${task.id}`, signal: run.signal,
      log: deps.log.child({ task_id: task.id, image_id: imageId }),
    };
    try {
      await deps.images.copyFromSource(ctx, imageId, copy, run.attempt);
      return { status: 'success', result: { image_id: imageId }, message: '' };
    } catch (error) {
      if (run.signal.aborted) throw error;
      return { status: 'failure', result: null, message: errorText(error) };
    }
  };
}
