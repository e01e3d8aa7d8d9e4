/**
 * Adds lines to the section comment of a finished pcapng file held as
 * chunks. The native recorder writes the Section Header Block first, when the
 * capture arms; what is only known when it ends (alerts merged into a flow
 * capture meanwhile) is added here by rebuilding that one block. The chunks
 * after it are reused as they are: no copy of the packets.
 */
const SECTION_HEADER_BLOCK = 0x0a0d0d0a;
const BYTE_ORDER_MAGIC = 0x1a2b3c4d;
const OPT_END = 0;
const OPT_COMMENT = 1;
/** Block type, total length, byte-order magic, version, section length. */
const FIXED_BYTES = 24;
const MAX_OPTION_BYTES = 0xffff;

const pad4 = (n: number): number => (4 - (n % 4)) % 4;

interface SectionHeader {
  littleEndian: boolean;
  totalBytes: number;
  comment: string;
  /** Every option but the comment and the end marker, as written. */
  otherOptions: Buffer[];
}

function readSectionHeader(first: Buffer): SectionHeader | undefined {
  if (first.length < FIXED_BYTES + 4) return undefined;
  const littleEndian = first.readUInt32LE(8) === BYTE_ORDER_MAGIC;
  if (!littleEndian && first.readUInt32BE(8) !== BYTE_ORDER_MAGIC) return undefined;
  const u32 = (at: number): number => (littleEndian ? first.readUInt32LE(at) : first.readUInt32BE(at));
  const u16 = (at: number): number => (littleEndian ? first.readUInt16LE(at) : first.readUInt16BE(at));
  if (u32(0) !== SECTION_HEADER_BLOCK) return undefined;
  const totalBytes = u32(4);
  if (totalBytes < FIXED_BYTES + 4 || totalBytes > first.length || totalBytes % 4 !== 0) return undefined;
  let comment = '';
  const otherOptions: Buffer[] = [];
  for (let at = FIXED_BYTES; at + 4 <= totalBytes - 4;) {
    const code = u16(at);
    const length = u16(at + 2);
    const end = at + 4 + length + pad4(length);
    if (code === OPT_END || end > totalBytes - 4) break;
    if (code === OPT_COMMENT) comment = first.toString('utf8', at + 4, at + 4 + length);
    else otherOptions.push(first.subarray(at, end));
    at = end;
  }
  return { littleEndian, totalBytes, comment, otherOptions };
}

function sectionHeaderBlock(first: Buffer, header: SectionHeader, comment: Buffer): Buffer {
  const commentBytes = comment.length === 0 ? 0 : 4 + comment.length + pad4(comment.length);
  const others = header.otherOptions.reduce((sum, option) => sum + option.length, 0);
  const total = FIXED_BYTES + commentBytes + others + 4 + 4;
  const out = Buffer.alloc(total);
  const u32 = (value: number, at: number): number => (header.littleEndian ? out.writeUInt32LE(value, at) : out.writeUInt32BE(value, at));
  const u16 = (value: number, at: number): number => (header.littleEndian ? out.writeUInt16LE(value, at) : out.writeUInt16BE(value, at));
  first.copy(out, 0, 0, FIXED_BYTES);
  u32(total, 4);
  let at = FIXED_BYTES;
  if (comment.length > 0) {
    u16(OPT_COMMENT, at);
    u16(comment.length, at + 2);
    comment.copy(out, at + 4);
    at += commentBytes;
  }
  for (const option of header.otherOptions) at += option.copy(out, at);
  u16(OPT_END, at);
  u16(0, at + 2);
  u32(total, total - 4);
  return out;
}

/**
 * The file's chunks with `lines` added to its section comment, as many as
 * fit in `maxGrowthBytes` more bytes (and in one pcapng option); undefined
 * when none fits or the file does not start with a readable section header.
 */
export function appendSectionComment(
  chunks: readonly Buffer[],
  lines: readonly string[],
  maxGrowthBytes: number,
): { chunks: Buffer[]; addedBytes: number; linesAdded: number } | undefined {
  const [first] = chunks;
  if (first === undefined) return undefined;
  const header = readSectionHeader(first);
  if (header === undefined) return undefined;
  for (let count = lines.length; count > 0; count--) {
    const text = [header.comment, ...lines.slice(0, count)].filter((line) => line !== '').join('\n');
    const comment = Buffer.from(text, 'utf8');
    if (comment.length > MAX_OPTION_BYTES) continue;
    const block = sectionHeaderBlock(first, header, comment);
    const addedBytes = block.length - header.totalBytes;
    if (addedBytes > maxGrowthBytes) continue;
    return { chunks: [block, first.subarray(header.totalBytes), ...chunks.slice(1)], addedBytes, linesAdded: count };
  }
  return undefined;
}
