// Walks the frame structure of a Zstandard stream (RFC 8878 §3.1) as it passes and refuses a frame
// whose window — the memory a decoder must allocate for it — exceeds a limit. fzstd allocates
// whatever a frame header asks for (up to 2 GiB), so this check runs on the bytes first; the
// reference decoder's default limit is the same 128 MiB (ZSTD_WINDOWLOG_LIMIT_DEFAULT = 27).

export const ZSTD_MAX_WINDOW = 128 * 1024 * 1024;

const FRAME_MAGIC = 0xfd2fb528;
const SKIPPABLE_MASK = 0xfffffff0;
const SKIPPABLE_MAGIC = 0x184d2a50;

export class ZstdFrameError extends Error {
  constructor(message: string, readonly tooLarge = false) {
    super(message);
    this.name = 'ZstdFrameError';
  }
}

type State = 'magic' | 'skippable_size' | 'descriptor' | 'header' | 'block_header';

export class ZstdFrameGuard {
  private state: State = 'magic';
  /** Bytes of the current fixed-size field gathered so far. */
  private field: number[] = [];
  private need = 4;
  /** Payload bytes to pass over before the next field. */
  private skip = 0;
  private descriptor = 0;
  private checksum = false;
  private sawFrame = false;

  constructor(private readonly maxWindow = ZSTD_MAX_WINDOW) {}

  /** Checks the next bytes of the stream; throws ZstdFrameError on a refused or malformed frame. */
  update(chunk: Uint8Array): void {
    let i = 0;
    while (i < chunk.length) {
      if (this.skip > 0) {
        const n = Math.min(this.skip, chunk.length - i);
        this.skip -= n;
        i += n;
        continue;
      }
      this.field.push(chunk[i]!);
      i += 1;
      if (this.field.length === this.need) {
        const field = this.field;
        this.field = [];
        this.onField(field);
      }
    }
  }

  /** The stream ended: it must end between frames, after at least one. */
  finish(): void {
    if (this.skip > 0 || this.field.length > 0 || this.state !== 'magic' || !this.sawFrame) {
      throw new ZstdFrameError('truncated zstd stream');
    }
  }

  private onField(f: number[]): void {
    switch (this.state) {
      case 'magic': {
        const magic = le(f);
        if (magic === FRAME_MAGIC) this.expect('descriptor', 1);
        else if ((magic & SKIPPABLE_MASK) >>> 0 === SKIPPABLE_MAGIC) this.expect('skippable_size', 4);
        else throw new ZstdFrameError('not a zstd frame');
        return;
      }
      case 'skippable_size':
        this.skip = le(f);
        this.expect('magic', 4);
        return;
      case 'descriptor': {
        const d = f[0]!;
        if (d & 0x08) throw new ZstdFrameError('reserved bit set in a zstd frame header');
        this.descriptor = d;
        this.checksum = (d & 0x04) !== 0;
        const single = (d & 0x20) !== 0;
        const fcsSize = [single ? 1 : 0, 2, 4, 8][d >> 6]!;
        const length = (single ? 0 : 1) + [0, 1, 2, 4][d & 0x03]! + fcsSize;
        if (length === 0) throw new ZstdFrameError('zstd frame header without a window size');
        this.expect('header', length);
        return;
      }
      case 'header': {
        const d = this.descriptor;
        const single = (d & 0x20) !== 0;
        const window = single ? contentSize(f.slice(f.length - [1, 2, 4, 8][d >> 6]!), d >> 6) : windowSize(f[0]!);
        if (window > this.maxWindow) {
          throw new ZstdFrameError(`zstd frame needs a ${window}-byte window (limit ${this.maxWindow})`, true);
        }
        this.sawFrame = true;
        this.expect('block_header', 3);
        return;
      }
      case 'block_header': {
        const header = le(f);
        const last = (header & 1) === 1;
        const type = (header >> 1) & 3;
        const size = header >>> 3;
        if (type === 3) throw new ZstdFrameError('reserved zstd block type');
        this.skip = type === 1 ? 1 : size;
        if (last) {
          this.expect('magic', 4);
          this.skip += this.checksum ? 4 : 0;
        } else {
          this.expect('block_header', 3);
        }
      }
    }
  }

  private expect(state: State, bytes: number): void {
    this.state = state;
    this.need = bytes;
  }
}

function le(bytes: number[]): number {
  return bytes.reduceRight((acc, b) => acc * 256 + b, 0);
}

function windowSize(descriptor: number): number {
  const base = 2 ** (10 + (descriptor >> 3));
  return base + (base / 8) * (descriptor & 7);
}

function contentSize(bytes: number[], flag: number): number {
  const value = le(bytes);
  return flag === 1 ? value + 256 : value;
}
