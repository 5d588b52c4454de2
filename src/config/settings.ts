// Validated option values by (normalised section, option name), between the loader's validation
// pass and the resolution into GlimpseConfig. Getters assert the type the schema promises; a
// mismatch is a bug in schema.ts, not an operator error.
import type { OptionValue } from './schema.ts';

function key(section: string, name: string): string {
  return `${section}\u0000${name}`;
}

export class Settings {
  private readonly values = new Map<string, OptionValue | undefined>();
  private readonly explicit = new Set<string>();
  private readonly raws = new Map<string, Record<string, string>>();

  /** `explicit`: the value came from the config file or the environment, not from a default. */
  set(section: string, name: string, value: OptionValue | undefined, explicit: boolean): void {
    this.values.set(key(section, name), value);
    if (explicit) this.explicit.add(key(section, name));
  }

  /** Remembers a section's options as text, for drivers that read their own options. */
  setRaw(section: string, options: Record<string, string>): void {
    this.raws.set(section, options);
  }

  raw(section: string): Record<string, string> {
    return { ...(this.raws.get(section) ?? {}) };
  }

  isSet(section: string, name: string): boolean {
    return this.explicit.has(key(section, name));
  }

  get(section: string, name: string): OptionValue | undefined {
    return this.values.get(key(section, name));
  }

  optionalString(section: string, name: string): string | undefined {
    return this.typed(section, name, (v): v is string => typeof v === 'string', 'string');
  }

  string(section: string, name: string): string {
    return this.required(section, name, this.optionalString(section, name));
  }

  number(section: string, name: string): number {
    return this.required(section, name, this.typed(section, name, (v): v is number => typeof v === 'number', 'number'));
  }

  boolean(section: string, name: string): boolean {
    return this.required(section, name, this.typed(section, name, (v): v is boolean => typeof v === 'boolean', 'boolean'));
  }

  list(section: string, name: string): string[] {
    return [...this.required(section, name, this.typed(section, name, (v): v is string[] => Array.isArray(v), 'list'))];
  }

  optionalDict(section: string, name: string): Record<string, string> | undefined {
    return this.typed(section, name,
      (v): v is Record<string, string> => typeof v === 'object' && !Array.isArray(v), 'dict');
  }

  private typed<T extends OptionValue>(section: string, name: string, is: (v: OptionValue) => v is T, what: string): T | undefined {
    const value = this.get(section, name);
    if (value === undefined) return undefined;
    if (!is(value)) throw new Error(`[${section}] ${name} is not a ${what} (schema bug)`);
    return value;
  }

  private required<T>(section: string, name: string, value: T | undefined): T {
    if (value === undefined) throw new Error(`[${section}] ${name} has no value (schema bug: it needs a default)`);
    return value;
  }
}
