// Message catalogues and Accept-Language selection.
import { interpolate, type Message } from './message.ts';
// Imported, not read from disk: the catalogues then travel inside the bundled build (dist/).
// The languages are the ones Glance ships (glance/locale/<name>/LC_MESSAGES/glance.po).
import de from './locales/de.json' with { type: 'json' };
import enGB from './locales/en_GB.json' with { type: 'json' };
import es from './locales/es.json' with { type: 'json' };
import fr from './locales/fr.json' with { type: 'json' };
import it from './locales/it.json' with { type: 'json' };
import ja from './locales/ja.json' with { type: 'json' };
import koKR from './locales/ko_KR.json' with { type: 'json' };
import ptBR from './locales/pt_BR.json' with { type: 'json' };
import ru from './locales/ru.json' with { type: 'json' };
import trTR from './locales/tr_TR.json' with { type: 'json' };
import zhCN from './locales/zh_CN.json' with { type: 'json' };
import zhTW from './locales/zh_TW.json' with { type: 'json' };

type Catalogue = Readonly<Record<string, string>>;

const catalogues: Readonly<Record<string, Catalogue>> = {
  de, en_GB: enGB, es, fr, it, ja, ko_KR: koKR, pt_BR: ptBR, ru, tr_TR: trTR, zh_CN: zhCN, zh_TW: zhTW,
};

/** The catalogue names (gettext locale names), e.g. `de`, `pt_BR`. */
export const catalogueNames: readonly string[] = Object.keys(catalogues);

/**
 * The language tags we offer, lower-case, each mapped to a catalogue (undefined = the English
 * source text). Glance offers oslo.i18n's get_available_languages(): `en_US` first, every
 * catalogue, and the Babel aliases gettext resolves to one (`ko` → ko_KR, `tr` → tr_TR).
 * Unlike Glance, the names are written as language tags (`zh-cn`, not `zh_CN`): webob compares
 * the header's `zh-CN` with `zh_cn` and never matches, so Glance cannot reach its zh_CN, zh_TW,
 * pt_BR and en_GB catalogues and answers `en-US` in the next language listed (decision 0028).
 */
const languages: ReadonlyMap<string, string | undefined> = new Map<string, string | undefined>([
  ['en-us', undefined],
  ['en', undefined],
  ...catalogueNames.map((name) => [name.replace('_', '-').toLowerCase(), name] as const),
  ['ko', 'ko_KR'],
  ['tr', 'tr_TR'],
]);

/** For tests: the offered language tags and their catalogues. */
export function languageOffers(): [string, string | undefined][] {
  return [...languages];
}

// RFC 7231 Accept-Language, as webob parses it: 1#( language-range [ weight ] ).
const range = String.raw`\*|[A-Za-z]{1,8}(?:-[A-Za-z0-9]{1,8})*`;
const qvalue = String.raw`0(?:\.[0-9]{0,3})?|1(?:\.0{0,3})?`;
const element = String.raw`(${range})(?:[ \t]*;[ \t]*[qQ]=(${qvalue}))?`;
const validHeader = new RegExp(String.raw`^(?:,[ \t]*)*${element}(?:[ \t]*,(?:[ \t]*${element})?)*$`);
const elements = new RegExp(element, 'g');

/** RFC 4647 Lookup of one language range: drop subtags from the end until a tag matches. */
function lookupRange(languageRange: string, refused: ReadonlySet<string>): string | null {
  const subtags = languageRange.split('-');
  for (;;) {
    const tag = subtags.join('-');
    if (languages.has(tag) && !refused.has(tag)) return tag;
    if (subtags.length < 2) return null;
    // a single-letter or -digit subtag (`x` in zh-x-private) goes together with the one after it
    if (subtags[subtags.length - 2]!.length === 1) subtags.pop();
    subtags.pop();
  }
}

/**
 * The catalogue name chosen for an Accept-Language header (undefined = English), as Glance's
 * Request.best_match_language(): webob's AcceptLanguage.lookup() over the offered languages.
 * Ranges are tried by descending q (ties: header order), `*` is skipped, a `q=0` range refuses
 * exactly that tag; an invalid header counts as absent.
 */
export function selectLocale(acceptLanguage: string | undefined): string | undefined {
  if (!acceptLanguage || !validHeader.test(acceptLanguage)) return undefined;
  const refused = new Set<string>();
  const accepted: { range: string; q: number }[] = [];
  for (const match of acceptLanguage.matchAll(elements)) {
    const languageRange = match[1]!.toLowerCase();
    const q = match[2] === undefined ? 1 : Number(match[2]);
    if (languageRange === '*') continue;
    if (q === 0) refused.add(languageRange);
    else accepted.push({ range: languageRange, q });
  }
  accepted.sort((a, b) => b.q - a.q); // stable: equal q keeps header order
  for (const { range: languageRange } of accepted) {
    const tag = lookupRange(languageRange, refused);
    if (tag !== null) return languages.get(tag);
  }
  return undefined;
}

export function translate(message: Message, locale: string | undefined): string {
  const catalogue = locale ? catalogues[locale] : undefined;
  const template = catalogue?.[message.id] ?? message.id;
  return interpolate(template, message.params);
}

/** For tests and `npm run i18n:missing`: the message ids a catalogue holds. */
export function catalogueIds(locale: string): string[] {
  return Object.keys(catalogues[locale] ?? {});
}

/** For tests: a catalogue's own text for a message id (undefined when it has none). */
export function catalogueEntry(locale: string, id: string): string | undefined {
  return catalogues[locale]?.[id];
}
