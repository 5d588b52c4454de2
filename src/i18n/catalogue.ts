// Message catalogues and Accept-Language selection.
import Negotiator from 'negotiator';
import { interpolate, type Message } from './message.ts';
// Imported, not read from disk: the catalogue then travels inside the bundled build (dist/).
import zhCN from './locales/zh_CN.json' with { type: 'json' };

type Catalogue = Readonly<Record<string, string>>;

const catalogues: Record<string, Catalogue> = {
  zh_CN: zhCN,
};

/** Language tags we answer, lower-case BCP 47, mapped to a catalogue (undefined = English source text). */
const languages: Record<string, string | undefined> = {
  'en': undefined,
  'en-us': undefined,
  'zh-cn': 'zh_CN',
  'zh': 'zh_CN',
  'zh-hans': 'zh_CN',
  'zh-hans-cn': 'zh_CN',
};

export const availableLanguages = Object.keys(languages);

/** The catalogue name chosen for an Accept-Language header (undefined = English). */
export function selectLocale(acceptLanguage: string | undefined): string | undefined {
  if (!acceptLanguage) return undefined;
  const negotiator = new Negotiator({ headers: { 'accept-language': acceptLanguage.toLowerCase() } });
  const best = negotiator.language(availableLanguages);
  return best === undefined ? undefined : languages[best];
}

export function translate(message: Message, locale: string | undefined): string {
  const catalogue = locale ? catalogues[locale] : undefined;
  const template = catalogue?.[message.id] ?? message.id;
  return interpolate(template, message.params);
}

/** For tests: the message ids a catalogue holds. */
export function catalogueIds(locale: string): string[] {
  return Object.keys(catalogues[locale] ?? {});
}
