// Errors of configuration loading. Every ConfigError is fatal at startup; its message is meant
// for an operator and names where the problem is ([section] option, file and line, env variable).

export interface ConfigErrorDetails {
  section?: string;
  option?: string;
  file?: string;
  line?: number;
}

export class ConfigError extends Error {
  readonly section: string | undefined;
  readonly option: string | undefined;
  readonly file: string | undefined;
  readonly line: number | undefined;

  constructor(message: string, details: ConfigErrorDetails = {}) {
    super(message);
    this.name = 'ConfigError';
    this.section = details.section;
    this.option = details.option;
    this.file = details.file;
    this.line = details.line;
  }
}

/** A syntax error in an INI file; the message starts with `file, line N:`. */
export class IniParseError extends ConfigError {
  constructor(reason: string, file: string, line: number, text: string) {
    super(`${file}, line ${line}: ${reason}: ${JSON.stringify(text)}`, { file, line });
    this.name = 'IniParseError';
  }
}
