// The import plugin contract (`[image_import_plugins] image_import_plugins`): a step of an import
// that sees the data as a local file after the format inspector's safety checks passed it and before
// it is written to the stores, and may replace that file and/or change the image. Plugins never
// write the image record or the stores themselves: they return what should change, and the import
// (tasks/image-import.ts, through ./staged.ts) applies it: replaced data gets the safety checks
// again, size, checksum and os_hash are computed from it, and the declared disk_format is checked
// after the last plugin (plugins may change what the data is: decompression, conversion).
// A plugin must be idempotent (an import taken over from a dead worker runs every plugin again on
// staged data an earlier attempt may already have transformed), honour `signal` (worker stopping,
// lease lost), and throw to fail the import. Plugins do not run for copy-image.
import { DomainError } from '../../domain/errors.ts';
import type { Message } from '../../i18n/message.ts';
import type { Logger } from '../../ports/context.ts';

/** The image as a plugin sees it (a snapshot; earlier plugins' changes already applied). */
export interface PluginImage {
  id: string;
  diskFormat: string | null;
  containerFormat: string | null;
  size: number | null;
  virtualSize: number | null;
  properties: Readonly<Record<string, string>>;
}

/** Core attributes a plugin may change (the ones Glance's import action wrapper lets plugins set). */
export interface PluginAttributeChanges {
  diskFormat?: string;
  containerFormat?: string;
  size?: number;
  virtualSize?: number | null;
}

export interface PluginInput {
  image: PluginImage;
  /** Absolute path of the data to work on. Plugins never modify or delete it. */
  filePath: string;
  /** Private, existing directory for the plugin's output files (on the same filesystem as filePath when possible). */
  workDir: string;
  /** Lower-cased roles of the user who started the import. */
  roles: readonly string[];
  signal: AbortSignal;
  log: Logger;
}

export interface PluginResult {
  /** The data to use from now on: a new file inside workDir; absent = data unchanged. */
  filePath?: string;
  attributes?: PluginAttributeChanges;
  /** Extra properties to set (merged over the image's). */
  properties?: Record<string, string>;
}

export interface ImportPlugin {
  /** The name operators list in image_import_plugins. */
  readonly name: string;
  run(input: PluginInput): Promise<PluginResult>;
}

/**
 * An import refused or failed by a plugin. `detail` carries the user-visible reason (shown to the
 * image owner through the task and os_glance_failed_import); `logDetail` may name host paths and
 * tool output, so it only goes to the logs.
 */
export class ImportPluginError extends DomainError {
  readonly plugin: string;
  readonly logDetail: string | undefined;

  constructor(plugin: string, code: string, detail: Message,
    options: { logDetail?: string; cause?: unknown; kind?: 'BadRequest' | 'PayloadTooLarge' | 'Internal' | 'ServiceUnavailable' } = {}) {
    super(options.kind ?? 'BadRequest', `import_plugin.${code}`, detail, { cause: options.cause });
    this.plugin = plugin;
    this.logDetail = options.logDetail;
  }
}
