// The 82574L's NVM (EEPROM) as qemu's e1000e serves it through EERD: 64
// words, qemu's template for the 82574L with the NIC's MAC in words 0-2 and
// the checksum in word 0x3f making the sum of all words 0xbaba
// (e1000x_core_prepare_eeprom). The template was read back word by word on
// the oracle (test/conformance/e1000e_regs.golden).

export const NVM_WORDS = 64;
const NVM_SUM = 0xbaba;

const TEMPLATE: readonly number[] = [
  0x0000, 0x0000, 0x0000, 0x0420, 0xf746, 0x2010, 0xffff, 0xffff,
  0x0000, 0x0000, 0x026b, 0x10d3, 0x8086, 0x10d3, 0x0000, 0x8058,
  0x0000, 0x2001, 0x7e7c, 0xffff, 0x1000, 0x00c8, 0x0000, 0x2704,
  0x6cc9, 0x3150, 0x070e, 0x460b, 0x2d84, 0x0100, 0xf000, 0x0706,
  0x6000, 0x0080, 0x0f04, 0x7fff, 0x4f01, 0xc600, 0x0000, 0x20ff,
  0x0028, 0x0003, 0x0000, 0x0000, 0x0000, 0x0003, 0x0000, 0xffff,
  0x0100, 0xc000, 0x121c, 0xc007, 0xffff, 0xffff, 0xffff, 0xffff,
  0xffff, 0xffff, 0xffff, 0xffff, 0x0000, 0x0120, 0xffff, 0x0000,
];

/**
 * qemu's e1000x_core_prepare_eeprom: `words` words, the template first, the
 * MAC in words 0-2, the device ID in words 0x0b and 0x0d, and word 0x3f
 * making words 0-0x3f sum to 0xbaba.
 */
export function nvmImage(template: readonly number[], words: number, deviceId: number, mac: readonly number[]): Uint16Array {
  const w = new Uint16Array(words);
  w.set(template.slice(0, words));
  for (let i = 0; i < 3; i++) w[i] = mac[2 * i]! | (mac[2 * i + 1]! << 8);
  w[0x0b] = deviceId;
  w[0x0d] = deviceId;
  let sum = 0;
  for (let i = 0; i < NVM_WORDS - 1; i++) sum += w[i]!;
  w[NVM_WORDS - 1] = (NVM_SUM - sum) & 0xffff;
  return w;
}

/** The NVM of a NIC with MAC address `mac` (six bytes). */
export function e1000eNvm(mac: readonly number[]): Uint16Array {
  return nvmImage(TEMPLATE, NVM_WORDS, 0x10d3, mac);
}
