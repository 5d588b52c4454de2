// oslo.messaging's notification message: the dict its Notifier builds (message_id, publisher_id,
// event_type, priority, payload, timestamp) plus the `_unique_id` its AMQP driver adds, wrapped for
// the messagingv2 driver in the 2.0 envelope {"oslo.version": "2.0", "oslo.message": "<JSON text>"}.
// Glance notifies with an empty context, so no `_context_*` keys are sent.
import type { Notification } from '../ports/events.ts';

/** Python's str(datetime.utcnow()): `2026-12-07 20:48:13.885589`, no fraction when it is zero. */
export function pythonUtcTimestamp(at: Date): string {
  const iso = at.toISOString();
  const ms = at.getUTCMilliseconds();
  return `${iso.slice(0, 10)} ${iso.slice(11, 19)}${ms === 0 ? '' : `.${String(ms).padStart(3, '0')}000`}`;
}

export function osloMessage(n: Notification): Record<string, unknown> {
  return {
    message_id: n.messageId, publisher_id: n.publisherId, event_type: n.eventType, priority: n.priority,
    payload: n.payload, timestamp: pythonUtcTimestamp(n.timestamp),
    // Derived from message_id, so a re-published notification carries the same one.
    _unique_id: n.messageId.replace(/-/g, ''),
  };
}

/**
 * osloMessage as JSON text. An outbox entry's stored payload text is put in as it is (the same text
 * JSON.stringify makes of the payload), so the relay neither parses nor re-serializes payloads.
 */
export function osloMessageText(n: Notification & { payloadJson?: string }): string {
  if (n.payloadJson === undefined) return JSON.stringify(osloMessage(n));
  const s = JSON.stringify;
  return `{"message_id":${s(n.messageId)},"publisher_id":${s(n.publisherId)},"event_type":${s(n.eventType)},`
    + `"priority":${s(n.priority)},"payload":${n.payloadJson},"timestamp":${s(pythonUtcTimestamp(n.timestamp))},`
    + `"_unique_id":${s(n.messageId.replace(/-/g, ''))}}`;
}

/** The AMQP body for `driver = messagingv2` (version 2.0) or `messaging` (1.0: the message itself). */
export function messageBody(n: Notification & { payloadJson?: string }, version: '1.0' | '2.0'): Buffer {
  const message = osloMessageText(n);
  return Buffer.from(version === '2.0' ? `{"oslo.version":"2.0","oslo.message":${JSON.stringify(message)}}` : message);
}
