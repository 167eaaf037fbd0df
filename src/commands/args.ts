/** A numeric command-line option within a range; a bad one is a RangeError naming the flag and the range. */
export function numberArg(name: string, text: string, min: number, max: number, whole = false): number {
  const n = Number(text);
  if (text.trim() === '' || !Number.isFinite(n) || (whole && !Number.isInteger(n)) || n < min || n > max) {
    throw new RangeError(`--${name}: expected ${whole ? 'a whole number' : 'a number'} ${min}–${max}, got "${text}"`);
  }
  return n;
}

export const intArg = (name: string, text: string, min: number, max: number) => numberArg(name, text, min, max, true);
