// The upload pipeline's signature step: a chunk consumer of the store writer (stores/writer.ts
// `consumers`) that shows every chunk to the image's verifier in the same pass as the md5 and
// os_hash digests (as glance_store feeds cursive's verifier while it writes), and the verdict once
// the data is stored. Callers: every path that writes an image's data into a store (v2 upload, v1
// create/update with data, the import task's store writes, copy-image). Failures are Glance's 400.
import { DomainError } from '../domain/errors.ts';
import { msg } from '../i18n/message.ts';
import type { KeyManager, KeyManagerCaller } from '../ports/key-manager.ts';
import type { Logger, RequestContext } from '../ports/context.ts';
import type { ChunkConsumer } from '../lib/streams.ts';
import { SignatureVerificationError, createVerifier, signatureProperties } from './verifier.ts';

export interface SignatureCheck {
  /** For writeImageData's `consumers`: sees every byte written, in order (no stream stage of its own). */
  readonly consumer: ChunkConsumer;
  /** After the last byte: rejects with Glance's 400 when the signature does not match the data. */
  verify(): Promise<void>;
  /** Releases the verifier when the data will not be verified (the write failed). */
  close(): void;
}

/**
 * The check for an image with these properties, or undefined when it carries no complete set of
 * img_signature* properties (then Glance does not verify). Rejects with Glance's 400 when the
 * verifier cannot be made (bad property, certificate missing or unreadable, wrong key type).
 */
export async function signatureCheck(keyManager: KeyManager, caller: KeyManagerCaller & { log?: Pick<Logger, 'warn' | 'info'> },
  imageId: string, properties: Readonly<Record<string, string | null>>): Promise<SignatureCheck | undefined> {
  const props = signatureProperties(properties);
  if (props === undefined) return undefined;
  let verifier;
  try {
    verifier = await createVerifier(keyManager, caller, props);
  } catch (error) {
    if (error instanceof SignatureVerificationError) {
      caller.log?.warn({ image_id: imageId, err: error.cause ?? error }, 'signature verifier could not be created');
    }
    throw signatureFailure(imageId, error);
  }
  return {
    consumer: { update: (chunk: Buffer) => verifier.update(chunk) },
    async verify(): Promise<void> {
      try {
        await verifier.verify();
      } catch (error) {
        throw signatureFailure(imageId, error);
      }
      caller.log?.info({ image_id: imageId }, 'Successfully verified signature for image');
    },
    close: () => verifier.close(),
  };
}

/** The key manager's view of a request's caller: its token and project (Glance passes its context). */
export function callerOf(ctx: RequestContext): KeyManagerCaller & { log: Logger } {
  return { authToken: ctx.authToken, projectId: ctx.projectId, signal: ctx.signal, log: ctx.log };
}

/** Glance's 400 for cursive's SignatureVerificationError (image_data.py); anything else unchanged. */
export function signatureFailure(imageId: string, error: unknown): unknown {
  if (!(error instanceof SignatureVerificationError)) return error;
  return new DomainError('BadRequest', 'upload.signature',
    msg('Signature verification failed for image {id}: {reason}', { id: imageId, reason: error.message }), { cause: error });
}
