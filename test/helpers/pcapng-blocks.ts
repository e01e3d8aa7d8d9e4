/**
 * Reads the Interface Statistics Blocks of a little-endian pcapng file.
 * tshark and capinfos (Wireshark 4.0) confirm that the blocks exist ("Number
 * of stat entries") but do not print their counters, so the tests read those
 * counters here, after an independent reader has accepted the file.
 */
export interface InterfaceStatistics {
  interfaceId: number;
  ifRecv?: bigint;
  ifDrop?: bigint;
  osDrop?: bigint;
  usrDeliv?: bigint;
}

const ISB = 5;
const OPTION_CODES: Record<number, keyof Omit<InterfaceStatistics, 'interfaceId'>> = {
  4: 'ifRecv',
  5: 'ifDrop',
  7: 'osDrop',
  8: 'usrDeliv',
};

export function readInterfaceStatistics(file: Buffer): InterfaceStatistics[] {
  const out: InterfaceStatistics[] = [];
  let offset = 0;
  while (offset + 12 <= file.length) {
    const type = file.readUInt32LE(offset);
    const length = file.readUInt32LE(offset + 4);
    if (length < 12 || offset + length > file.length) throw new Error(`bad block length ${length} at ${offset}`);
    if (type === ISB) {
      const stats: InterfaceStatistics = { interfaceId: file.readUInt32LE(offset + 8) };
      let option = offset + 20;
      const end = offset + length - 4;
      while (option + 4 <= end) {
        const code = file.readUInt16LE(option);
        const size = file.readUInt16LE(option + 2);
        if (code === 0) break;
        const key = OPTION_CODES[code];
        if (key && size === 8) stats[key] = file.readBigUInt64LE(option + 4);
        option += 4 + size + ((4 - (size % 4)) % 4);
      }
      out.push(stats);
    }
    offset += length;
  }
  return out;
}
