// The streaming inspector: fed every chunk of an upload in order, it keeps only a bounded window
// (capture.ts) and decides at the end what the bytes are, their virtual size and which safety
// checks fail. It never throws on content: a failure of its own shows up as format 'unknown'.

import { MAX_RETAINED_BYTES, StreamCapture } from './capture.ts';
import { detectGpt } from './gpt.ts';
import { detectIso } from './iso.ts';
import { detectQcow2, detectQed } from './qcow.ts';
import { detectLuks, detectVdi } from './simple.ts';
import { detectVhd } from './vhd.ts';
import { VhdxProbe } from './vhdx.ts';
import { detectVmdk } from './vmdk.ts';
import type { FinishedData, Finding, FormatName, InspectionResult, InspectorOptions } from './types.ts';

export { MAX_RETAINED_BYTES };

export interface Inspector {
  /** Feeds the next chunk of the stream (chunks must arrive in order, none skipped). */
  update(chunk: Buffer): void;
  /** Ends the stream; `totalBytes` must equal the bytes fed. May be called once. */
  finish(totalBytes: number): InspectionResult;
  /** Bytes of memory currently held; never above MAX_RETAINED_BYTES. */
  readonly retainedBytes: number;
}

export const DEFAULT_VMDK_ALLOWED_TYPES: readonly string[] = ['streamOptimized', 'monolithicSparse'];

export function createInspector(options: InspectorOptions): Inspector {
  const capture = new StreamCapture();
  const vhdx = new VhdxProbe();
  const detectors: Array<(data: FinishedData) => Finding | null> = [
    detectQcow2, detectQed, (d) => detectVhd(d, options.detectFixedVhd ?? false), (d) => vhdx.detect(d),
    (d) => detectVmdk(d, options.vmdkAllowedTypes), detectVdi, detectLuks, detectIso, detectGpt,
  ];
  const nonfatal = new Set(options.gptSafetyChecksNonfatal ?? []);
  let internalError: string | undefined;
  let finished = false;
  let seen = 0;
  vhdx.attach(capture);

  return {
    update(chunk: Buffer): void {
      if (finished) throw new Error('format inspector: update() after finish()');
      seen += chunk.length;
      if (internalError !== undefined) return;
      try {
        capture.push(chunk);
      } catch (err) {
        internalError = describe(err);
      }
    },

    finish(totalBytes: number): InspectionResult {
      if (finished) throw new Error('format inspector: finish() called twice');
      finished = true;
      if (totalBytes !== seen) throw new Error(`format inspector: saw ${seen} bytes, told ${totalBytes}`);
      if (internalError !== undefined) return failed(totalBytes, internalError);
      const data: FinishedData = { head: capture.headBytes(), tail: capture.tailBytes(), totalBytes };
      try {
        const findings = detectors.map((detect) => detect(data)).filter((f): f is Finding => f !== null);
        return decide(findings, totalBytes, nonfatal);
      } catch (err) {
        return failed(totalBytes, describe(err));
      }
    },

    get retainedBytes(): number {
      return capture.retainedBytes;
    },
  };
}

/**
 * Turns the per-format findings into one answer. One finding wins; several are allowed only when one
 * of them legitimately contains all the others (ISO + GPT → iso, as Glance decides; fixed VHD + its
 * disk's partition table → vhd); otherwise the data is ambiguous, which Glance refuses as "Multiple
 * formats detected" (one header hidden in another is a known trick).
 */
function decide(findings: Finding[], totalBytes: number, nonfatal: Set<string>): InspectionResult {
  const candidates = findings.map((f) => f.format);
  if (findings.length === 0) {
    return { format: 'raw', candidates, virtualSize: totalBytes, totalBytes, safetyFailures: [], safetyWarnings: [], safetyDetails: {} };
  }
  const winner = findings.find((f) => findings.every((o) => o === f || (f.contains ?? []).includes(o.format)));
  const judged = winner ? [winner] : findings;
  const failures: string[] = [];
  const warnings: string[] = [];
  const details: Record<string, string> = {};
  for (const finding of judged) {
    for (const [check, reason] of Object.entries(finding.failures)) {
      // With several candidates each keeps its own names apart (e.g. 'qcow2.backing_file').
      const name = judged.length > 1 ? `${finding.format}.${check}` : check;
      details[name] = reason;
      if (finding.format === 'gpt' && nonfatal.has(check)) warnings.push(name);
      else failures.push(name);
    }
  }
  return {
    format: winner ? winner.format : 'ambiguous',
    candidates,
    virtualSize: winner ? winner.virtualSize : null,
    totalBytes,
    safetyFailures: failures,
    safetyWarnings: warnings,
    safetyDetails: details,
  };
}

function failed(totalBytes: number, error: string): InspectionResult {
  return {
    format: 'unknown', candidates: [] as FormatName[], virtualSize: null, totalBytes,
    safetyFailures: [], safetyWarnings: [], safetyDetails: {}, inspectionError: error,
  };
}

function describe(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}
