// The NVM (EEPROM) as qemu's e1000e and igb both serve it: the image
// e1000x_core_prepare_eeprom makes from a device's template, and the EERD
// register through which the driver reads a word (start an access, find
// it done with the word in the upper half).
import { EERW_START, EERW_DONE, EERW_ADDR_SHIFT, EERW_ADDR_MASK, EERW_DATA_SHIFT } from './e1000x-regs.js';

/** Words 0 .. 0x3f sum to 0xbaba, the last of them the checksum. */
const CHECKSUM_WORDS = 64, NVM_SUM = 0xbaba;

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
  for (let i = 0; i < CHECKSUM_WORDS - 1; i++) sum += w[i]!;
  w[CHECKSUM_WORDS - 1] = (NVM_SUM - sum) & 0xffff;
  return w;
}

/** What EERD holds after the write `val`: DONE and the word when START named an address the NVM has. */
export function eerdRead(nvm: Uint16Array, val: number): number {
  const addr = (val >>> EERW_ADDR_SHIFT) & EERW_ADDR_MASK;
  let flags = 0, data = 0;
  if (addr < nvm.length && (val & EERW_START)) { data = nvm[addr]!; flags = EERW_DONE; }
  return (flags | (addr << EERW_ADDR_SHIFT) | (data << EERW_DATA_SHIFT)) >>> 0;
}
