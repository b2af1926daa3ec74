// The Redis Cluster hash slot of a key or channel: CRC16 (XMODEM) of its hash tag, or of the whole name, mod 16384.

const TABLE = (() => {
  const table = new Uint16Array(256);
  for (let byte = 0; byte < 256; byte++) {
    let crc = byte << 8;
    for (let bit = 0; bit < 8; bit++)
      crc = crc & 0x8000 ? ((crc << 1) ^ 0x1021) & 0xffff : (crc << 1) & 0xffff;
    table[byte] = crc;
  }
  return table;
})();

function crc16(bytes: Uint8Array): number {
  let crc = 0;
  for (const byte of bytes) crc = ((crc << 8) & 0xffff) ^ TABLE[((crc >> 8) ^ byte) & 0xff]!;
  return crc;
}

/** As Redis computes it: the part between the first `{` and the next `}` when that part is not empty. */
export function slotOf(name: string): number {
  const open = name.indexOf('{');
  if (open >= 0) {
    const close = name.indexOf('}', open + 1);
    if (close > open + 1) name = name.slice(open + 1, close);
  }
  return crc16(Buffer.from(name)) % 16384;
}
