// Renders error bodies the way Glance's WSGI stack (webob) does, so clients that scrape
// them keep working: JSON {"message","code","title"}, an HTML page, or plain text,
// chosen from the Accept header. Layouts were read off the reference Glance:
//   JSON    message = "<explanation><br /><br />\n<detail>\n\n"
//   plain   "<code> <title>\n\n<explanation>\n\n <detail>  "
//   HTML    <html>…<h1>code title</h1>\n  <explanation><br /><br />\n<detail>\n\n\n </body>\n</html>
import Negotiator from 'negotiator';

export type ErrorFormat = 'json' | 'html' | 'plain';

export interface ErrorBodyParts {
  status: number;
  title: string;
  explanation: string;
  detail: string;
  /** webob's 405 and 415 templates lay the body out differently from the standard one. */
  template?: 'standard' | 'method' | 'mediaType';
}

/** Picks the body format from Accept as webob does: best of text/html and application/json, else plain. */
export function errorFormatFor(accept: string | undefined, forbidJson = false): ErrorFormat {
  if (!accept) return 'plain';
  const offered = forbidJson ? ['text/html'] : ['text/html', 'application/json'];
  const best = new Negotiator({ headers: { accept } }).mediaType(offered);
  if (best === 'application/json') return 'json';
  if (best === 'text/html') return 'html';
  return 'plain';
}

export function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#x27;' })[c]!);
}

export function renderErrorBody(format: ErrorFormat, parts: ErrorBodyParts): { contentType: string; body: string } {
  const code = `${parts.status} ${parts.title}`;
  const template = parts.template ?? 'standard';
  if (format === 'json') {
    const message = template === 'method' ? `${parts.explanation} <br /><br />\n${parts.detail}`
      : template === 'mediaType' ? `${parts.explanation}\n<br /><br />\n${parts.detail}`
        : `${parts.explanation}<br /><br />\n${parts.detail}\n\n`;
    return { contentType: 'application/json', body: JSON.stringify({ message, code, title: parts.title }) };
  }
  if (format === 'html') {
    const explanation = escapeHtml(parts.explanation);
    const detail = escapeHtml(parts.detail);
    const inner = template === 'method' ? `${explanation} <br /><br />\n${detail}`
      : template === 'mediaType' ? `${explanation}\n<br /><br />\n${detail}`
        : `${explanation}<br /><br />\n${detail}\n\n`;
    const body = `<html>\n <head>\n  <title>${code}</title>\n </head>\n <body>\n  <h1>${code}</h1>\n  ${inner}\n </body>\n</html>`;
    return { contentType: 'text/html; charset=UTF-8', body };
  }
  const text = template !== 'standard'
    ? `${code}\n\n${parts.explanation} \n\n ${parts.detail}`
    : `${code}\n\n${parts.explanation}\n\n ${parts.detail}  `;
  return { contentType: 'text/plain; charset=UTF-8', body: text };
}
