// Translatable messages. Code builds a Message with the English text as its id and named
// `{placeholders}`; the text is translated only when it is rendered for a request, so one
// error object can be shown in each client's language (like oslo.i18n's lazy translation).

export type MessageParams = Readonly<Record<string, string | number | boolean | null | undefined>>;

export interface Message {
  readonly id: string;
  readonly params: MessageParams;
}

/** A translatable message. `id` must be a string literal so the catalogue check can find it. */
export function msg(id: string, params: MessageParams = {}): Message {
  return { id, params };
}

export function isMessage(value: unknown): value is Message {
  return typeof value === 'object' && value !== null && typeof (value as Message).id === 'string'
    && typeof (value as Message).params === 'object';
}

export function interpolate(template: string, params: MessageParams): string {
  return template.replace(/\{(\w+)\}/g, (whole, name: string) =>
    Object.prototype.hasOwnProperty.call(params, name) ? String(params[name]) : whole);
}
