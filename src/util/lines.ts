/**
 * Cuts a byte stream into newline-terminated lines (\r\n or \n) with a length cap. A line over the cap is reported
 * once and its bytes skipped up to the next newline, so one hostile line cannot grow memory without bound.
 */
export class LineSplitter {
  private parts: Buffer[] = [];
  private pendingLen = 0;
  private skipping = false;

  constructor(
    private readonly maxLineBytes: number,
    private readonly onLine: (line: string) => void,
    private readonly onOverflow: (bytes: number) => void,
  ) {}

  push(chunk: Buffer): void {
    let start = 0;
    for (;;) {
      const nl = chunk.indexOf(0x0a, start);
      if (nl === -1) {
        this.keep(chunk.subarray(start));
        return;
      }
      const piece = chunk.subarray(start, nl);
      start = nl + 1;
      if (this.skipping) {
        this.skipping = false;
        continue;
      }
      if (this.pendingLen + piece.length > this.maxLineBytes) {
        this.onOverflow(this.pendingLen + piece.length);
        this.reset();
        continue;
      }
      let line: Buffer = piece;
      if (this.parts.length > 0) {
        this.parts.push(piece);
        line = Buffer.concat(this.parts, this.pendingLen + piece.length);
        this.reset();
      }
      let end = line.length;
      if (end > 0 && line[end - 1] === 0x0d) end--;
      if (end > 0) this.onLine(line.toString('utf8', 0, end));
    }
  }

  private keep(rest: Buffer): void {
    if (this.skipping || rest.length === 0) return;
    if (this.pendingLen + rest.length > this.maxLineBytes) {
      this.onOverflow(this.pendingLen + rest.length);
      this.reset();
      this.skipping = true;
      return;
    }
    this.parts.push(Buffer.from(rest));
    this.pendingLen += rest.length;
  }

  private reset(): void {
    this.parts = [];
    this.pendingLen = 0;
  }
}
