// The services' emitter: makes Notifications (message id, publisher, time) for the events that
// `disabled_notifications` leaves on, and hands the ones that report no database change to the
// EventSink. Events that report a change are passed to the repository as an `emit` option, so they
// are written in the change's transaction (ports/events.ts).
import { DomainError } from '../domain/errors.ts';
import type { Image } from '../domain/image.ts';
import type { Emit, EventSink, Notification, NotificationPriority } from '../ports/events.ts';
import { imagePayload, v1ImagePayload } from './notification-payloads.ts';

export interface NotifierSettings {
  /** false: no notification is made at all (driver noop, or none configured). */
  enabled: boolean;
  /** `default_publisher_id` (Glance: image.localhost). */
  publisherId: string;
  /** `disabled_notifications`: event types (image.create) or groups (image, task, metadef_tag). */
  disabled: readonly string[];
}

export interface Draft {
  eventType: string;
  payload: unknown;
  subject: string;
  priority?: NotificationPriority;
  /** The image an image event reports (imageDraft), so a notifier for another API can shape its payload. */
  image?: Image;
}

interface NotifierOptions {
  now?: () => Date;
  newId?: () => string;
  /** Called after notifications were handed over (the local relay publishes sooner). */
  onAppend?: () => void;
  log?: { warn(obj: unknown, msg?: string): void };
  /** Reshapes each draft before it is made (the v1 API's image payloads). */
  reshape?: (draft: Draft) => Draft;
}

/** What the notifiers of one process share: whether the outbox is at its bound, and the drops since. */
interface OutboxState {
  full: boolean;
  dropped: number;
}

export class Notifier {
  private readonly disabled: Set<string>;

  constructor(private readonly settings: NotifierSettings, private readonly sink?: EventSink,
    private readonly options: NotifierOptions = {}, private readonly state: OutboxState = { full: false, dropped: 0 }) {
    this.disabled = new Set(settings.disabled);
  }

  /**
   * This notifier for the v1 API's code paths: image events carry the v1 image dict that Glance v1
   * sent (its registry's image record: is_public, no visibility or tags, microsecond times), as
   * Glance v1 did; the other events (image.send, members, tasks) keep their shapes.
   */
  forV1(): Notifier {
    if (!this.settings.enabled) return this;
    return new Notifier(this.settings, this.sink, { ...this.options, reshape: v1Draft }, this.state);
  }

  /** No notifications at all (driver noop): services skip building payloads. */
  static readonly off = new Notifier({ enabled: false, publisherId: 'image.localhost', disabled: [] });

  get enabled(): boolean {
    return this.settings.enabled;
  }

  /** Glance's rule: an event is off when its type or its group (the part before the first dot) is listed. */
  isEnabled(eventType: string): boolean {
    if (!this.settings.enabled) return false;
    return !this.disabled.has(eventType) && !this.disabled.has(eventType.split('.', 1)[0]!);
  }

  /** The outbox reached its bound: new notifications are dropped (and counted in the log) until it drains. */
  setOutboxFull(full: boolean): void {
    const { state } = this;
    if (!full && state.dropped > 0) this.options.log?.warn({ dropped: state.dropped }, 'notifications were dropped while the outbox was full');
    if (!full) state.dropped = 0;
    state.full = full;
  }

  make(drafts: readonly Draft[]): Notification[] {
    if (!this.settings.enabled) return [];
    const { state } = this;
    if (state.full) {
      state.dropped += drafts.length;
      this.options.log?.warn({ event_types: drafts.map((d) => d.eventType), dropped: state.dropped },
        'notification outbox is full: notification dropped');
      return [];
    }
    const now = (this.options.now ?? (() => new Date()))();
    const newId = this.options.newId ?? (() => crypto.randomUUID());
    const reshape = this.options.reshape;
    return drafts.filter((d) => this.isEnabled(d.eventType)).map((d) => reshape ? reshape(d) : d).map((d) => ({
      messageId: newId(), publisherId: this.settings.publisherId, eventType: d.eventType,
      priority: d.priority ?? 'INFO', payload: d.payload, timestamp: now, subject: d.subject,
    }));
  }

  /**
   * The `emit` option of a repository change, or undefined when notifications are off (the
   * repository then writes nothing extra). `build` gets the stored state.
   */
  emit<T>(build: (stored: T) => readonly Draft[]): Emit<T> | undefined {
    if (!this.settings.enabled) return undefined;
    return (stored) => {
      const made = this.make(build(stored));
      // Inside the transaction: the relay's pass comes a moment later and finds the commit (or the next poll does).
      if (made.length > 0) this.options.onAppend?.();
      return made;
    };
  }

  /** Notifications were written with a change: the relay may publish sooner. */
  appended(): void {
    if (this.settings.enabled) this.options.onAppend?.();
  }

  /**
   * Notifications that report no change of their own (image.send, a failed upload). A failure to
   * record them is logged, never passed to the request.
   */
  async send(drafts: readonly Draft[]): Promise<void> {
    const notifications = this.make(drafts);
    if (notifications.length === 0 || !this.sink) return;
    try {
      await this.sink.append(notifications);
      this.options.onAppend?.();
    } catch (error) {
      this.options.log?.warn({ err: error, event_types: notifications.map((n) => n.eventType) },
        'could not record notifications');
    }
  }
}

/** An image event with Glance's image payload (plus `extra` fields). */
export function imageDraft(eventType: string, image: Image, extra: Record<string, unknown> = {}): Draft {
  return { eventType, payload: { ...imagePayload(image), ...extra }, subject: image.id, image };
}

/**
 * An image event as Glance v1 sent it: the image dict alone. v1 had no import, so the import fields
 * are not added, and its image.delete reported the image as its last update left it (status
 * deleted or pending_delete, deleted still false), before the row was marked deleted.
 */
function v1Draft(draft: Draft): Draft {
  if (!draft.image || typeof draft.payload !== 'object') return draft;
  return { ...draft, payload: v1ImagePayload(draft.image) };
}

/** The `emit` option of an image change that reports `eventTypes` (image.update by default). */
export function imageEmit(notifier: Notifier | undefined, ...eventTypes: string[]): Emit<Image> | undefined {
  const types = eventTypes.length > 0 ? eventTypes : ['image.update'];
  return notifier?.emit<Image>((image) => types.map((type) => imageDraft(type, image)));
}

/**
 * Glance's ERROR image.upload when writing an image's data failed (ImageProxy.set_data in
 * glance/notifier.py, for uploads and for each store of an import): the reason as the whole
 * payload, worded by the kind of failure as Glance words it.
 */
export function uploadFailureDraft(imageId: string, cause: unknown): Draft {
  const reason = cause instanceof Error ? cause.message : String(cause);
  const code = cause instanceof DomainError ? cause.code : undefined;
  let payload: string;
  if (code === 'store.full' || (code === 'store.write_denied' && reason.startsWith('Insufficient permissions'))) {
    payload = reason; // "Image storage media is full: …" / "Insufficient permissions on image storage media: …"
  } else if (code === 'store.duplicate') {
    payload = `Unable to upload duplicate image data for image ${imageId}: ${reason}`;
  } else if (code === 'image.deleted_during_upload' || code === 'image.not_found') {
    payload = `Image ${imageId} could not be found after upload. The image may have been deleted during the upload: ${reason}`;
  } else if (cause instanceof DomainError && cause.kind === 'BadRequest') {
    payload = `Cannot save data for image ${imageId}: ${reason}`;
  } else {
    payload = `Failed to upload image data for image ${imageId} due to internal error: ${reason}`;
  }
  return { eventType: 'image.upload', priority: 'ERROR', subject: imageId, payload };
}

/** An event about `subject` with a ready payload. */
export function draft(eventType: string, subject: string, payload: Record<string, unknown>): Draft {
  return { eventType, subject, payload };
}
