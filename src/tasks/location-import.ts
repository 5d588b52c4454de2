// The `location_import` task: a location added through the 2.17 locations API (POST
// /v2/images/{id}/locations) is read and hashed here, on any node's worker, as Glance 2.17 does it in
// a background task with `do_secure_hash` on (decision 0026). The request already checked the URL
// and moved the image to `importing` under this task's import lock; LocationService does the rest.
import type { Logger } from '../ports/context.ts';
import type { LocationService } from '../services/locations.ts';
import { errorText, type TaskOutcome, type TaskRun } from './worker.ts';

export function locationImportHandler(deps: { locations: LocationService; log: Logger }) {
  return async (run: TaskRun): Promise<TaskOutcome> => {
    const { task } = run;
    const log = deps.log.child({ task_id: task.id, image_id: task.imageId });
    try {
      await deps.locations.completeLocationImport(task, run.signal, log);
      return { status: 'success', result: { image_id: task.imageId }, message: '' };
    } catch (error) {
      if (run.signal.aborted) throw error;
      return { status: 'failure', result: null, message: errorText(error) };
    }
  };
}
