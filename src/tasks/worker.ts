// The task engine: a loop that claims runnable tasks from the database and runs them, on any node.
//
// Leases. A claim is a compare-and-set on the task row (TaskRepository.claim) that makes this
// worker the lease owner until now + lease_duration; the worker renews it every third of that. If
// the process dies, the lease runs out and any other worker claims the task again and runs it from
// the start, so every handler step must be idempotent (check what is already done, redo the rest).
// A worker that fails to renew (another worker took the task over after a long pause) aborts its run
// and never writes the outcome: finish() is guarded by the lease owner too. On shutdown running tasks
// are aborted and their leases released, so another node picks them up without waiting.
// A task claimed more than `maxAttempts` times (its worker keeps dying on it) is failed instead.
import { hostname } from 'node:os';
import { randomBytes } from 'node:crypto';
import { DomainError } from '../domain/errors.ts';
import type { Task, TaskType } from '../domain/task.ts';
import { interpolate } from '../i18n/message.ts';
import type { TaskRepository } from '../ports/tasks.ts';

export interface TaskLog {
  info(obj: unknown, msg?: string): void;
  warn(obj: unknown, msg?: string): void;
  error(obj: unknown, msg?: string): void;
}

/** What a handler sees of the task it runs. */
export interface TaskRun {
  task: Task;
  /** 1 on the first run, more when the task was taken over from a worker that died. */
  attempt: number;
  /** Aborted when the worker stops or loses the lease: stop, leave the work for the next holder. */
  signal: AbortSignal;
  log: TaskLog;
  /** Records progress in the task's result (visible to API callers). */
  saveResult(result: Record<string, unknown>): Promise<void>;
}

export interface TaskOutcome {
  status: 'success' | 'failure';
  result: Record<string, unknown> | null;
  message: string;
}

export type TaskHandler = (run: TaskRun) => Promise<TaskOutcome>;

export interface TaskWorkerOptions {
  tasks: TaskRepository;
  handlers: Partial<Record<TaskType, TaskHandler>>;
  log: TaskLog;
  leaseSeconds: number;
  pollIntervalSeconds: number;
  /** `[task] task_time_to_live`, hours after completion. */
  timeToLiveHours: number;
  /** Tasks run at once by this worker. */
  concurrency?: number;
  maxAttempts?: number;
  /** Unique per process; default `<hostname>:<pid>:<random>`. */
  workerId?: string;
  /**
   * Called for a task failed after `maxAttempts` (every worker that ran it died), before its failure
   * is recorded: the handler's chance to release what the task held (the import lock).
   */
  onAbandon?: (task: Task, message: string) => Promise<void>;
  /** Keep the process alive while the worker runs (`glimpse worker`); by default the loop's timer does not. */
  keepProcessAlive?: boolean;
  now?: () => Date;
}

export function defaultWorkerId(): string {
  return `${hostname()}:${process.pid}:${randomBytes(3).toString('hex')}`;
}

export interface TaskWorkerStatus {
  id: string;
  running: boolean;
  tasksRunning: number;
  lastPollAt?: string;
  lastPollError?: string;
}

export class TaskWorker {
  readonly workerId: string;
  private readonly running = new Map<string, { controller: AbortController; done: Promise<void> }>();
  private readonly now: () => Date;
  private readonly concurrency: number;
  private readonly maxAttempts: number;
  private timer: NodeJS.Timeout | undefined;
  private stopped = true;
  private polling: Promise<void> | undefined;
  private wanted: string | undefined;
  private again = false;
  private lastPoll: { at: Date; error?: string } | undefined;

  constructor(private readonly options: TaskWorkerOptions) {
    this.workerId = options.workerId ?? defaultWorkerId();
    this.now = options.now ?? (() => new Date());
    this.concurrency = options.concurrency ?? 4;
    this.maxAttempts = options.maxAttempts ?? 5;
  }

  start(): void {
    if (!this.stopped) return;
    this.stopped = false;
    this.schedule(0);
  }

  /** Looks for work now (a task was just created on this node); `taskId` is claimed first if runnable. */
  poke(taskId?: string): void {
    if (this.stopped) return;
    this.wanted = taskId ?? this.wanted;
    this.schedule(0);
  }

  /** Aborts running tasks, hands their leases back and waits for them to wind down. */
  async stop(): Promise<void> {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    for (const { controller } of this.running.values()) controller.abort(new Error('worker stopping'));
    await this.polling;
    await Promise.all([...this.running.values()].map((r) => r.done));
  }

  /** Claims and starts what it can; resolves when the claims are made (not when the tasks end). */
  async pollOnce(): Promise<number> {
    let started = 0;
    while (this.running.size < this.concurrency) {
      const now = this.now();
      const claimed = await this.options.tasks.claim(this.workerId, now,
        new Date(now.getTime() + this.options.leaseSeconds * 1000), this.wanted);
      this.wanted = undefined;
      if (!claimed) break;
      started++;
      this.launch(claimed.task, claimed.lease.attempts);
    }
    return started;
  }

  /** For /healthcheck: whether it runs, what it runs, and how its last look for tasks went. */
  status(): TaskWorkerStatus {
    return {
      id: this.workerId, running: !this.stopped, tasksRunning: this.running.size,
      ...(this.lastPoll === undefined ? {} : { lastPollAt: this.lastPoll.at.toISOString() }),
      ...(this.lastPoll?.error === undefined ? {} : { lastPollError: this.lastPoll.error }),
    };
  }

  /** Resolves when every task started so far has ended (for tests and `glimpse worker --once`). */
  async idle(): Promise<void> {
    while (this.running.size > 0) await Promise.all([...this.running.values()].map((r) => r.done));
  }

  private schedule(delayMs: number): void {
    if (this.stopped) return;
    if (this.polling) {
      this.again = true;
      return;
    }
    if (this.timer) clearTimeout(this.timer);
    this.timer = setTimeout(() => {
      this.timer = undefined;
      this.polling = this.pollOnce().then(() => { this.lastPoll = { at: this.now() }; }, (error: unknown) => {
        this.lastPoll = { at: this.now(), error: error instanceof Error ? error.message : String(error) };
        this.options.log.error({ err: error }, 'task worker could not claim tasks');
      }).finally(() => {
        this.polling = undefined;
        const again = this.again;
        this.again = false;
        this.schedule(again ? 0 : this.options.pollIntervalSeconds * 1000);
      });
    }, delayMs);
    if (!this.options.keepProcessAlive) this.timer.unref?.();
  }

  private launch(task: Task, attempt: number): void {
    const controller = new AbortController();
    const done = this.execute(task, attempt, controller).finally(() => {
      this.running.delete(task.id);
      this.schedule(0);
    });
    this.running.set(task.id, { controller, done });
  }

  private async execute(task: Task, attempt: number, controller: AbortController): Promise<void> {
    const { tasks, log: baseLog, leaseSeconds } = this.options;
    const log = childLog(baseLog, { task_id: task.id, image_id: task.imageId ?? undefined, worker: this.workerId });
    const heartbeat = setInterval(() => {
      const now = this.now();
      tasks.renew(task.id, this.workerId, now, new Date(now.getTime() + leaseSeconds * 1000)).then((held) => {
        if (!held) controller.abort(new Error('task lease lost'));
      }, (error: unknown) => log.warn({ err: error }, 'could not renew task lease'));
    }, Math.max(500, (leaseSeconds * 1000) / 3));
    if (!this.options.keepProcessAlive) heartbeat.unref?.();
    let outcome: TaskOutcome;
    try {
      if (attempt > this.maxAttempts) {
        outcome = { status: 'failure', result: task.result,
          message: `Task abandoned after ${attempt - 1} attempts: each worker that ran it stopped before it finished.` };
        await this.options.onAbandon?.(task, outcome.message);
      } else {
        if (attempt > 1) log.warn({ attempt }, 'taking over a task whose worker stopped');
        const handler = this.options.handlers[task.type];
        outcome = handler
          ? await handler({
            task, attempt, signal: controller.signal, log,
            saveResult: async (result) => { await tasks.saveResult(task.id, this.workerId, result, this.now()); },
          })
          : { status: 'failure', result: null, message: `Unknown task type ${task.type}` };
      }
    } catch (error) {
      if (controller.signal.aborted) {
        clearInterval(heartbeat);
        await tasks.release(task.id, this.workerId).catch(() => {});
        log.info({ reason: String(controller.signal.reason) }, 'task interrupted; left for another worker');
        return;
      }
      log.error({ err: error }, 'task failed unexpectedly');
      outcome = { status: 'failure', result: task.result, message: errorText(error) };
    }
    clearInterval(heartbeat);
    const now = this.now();
    const finished = await tasks.finish(task.id, this.workerId, {
      ...outcome, now, expiresAt: new Date(now.getTime() + this.options.timeToLiveHours * 3600_000),
    });
    if (!finished) log.warn({}, 'task outcome dropped: another worker holds the task now');
    else log.info({ status: outcome.status }, 'task finished');
  }
}

function childLog(log: TaskLog, bindings: Record<string, unknown>): TaskLog {
  const withChild = log as TaskLog & { child?: (b: Record<string, unknown>) => TaskLog };
  return typeof withChild.child === 'function' ? withChild.child(bindings) : log;
}

/** A failure as the English text stored in a task's message (tasks keep one language, as in Glance). */
export function errorText(error: unknown): string {
  if (error instanceof DomainError) return interpolate(error.detail.id, error.detail.params);
  return error instanceof Error ? error.message : String(error);
}
