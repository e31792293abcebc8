// Which files of an include_dir Mosquitto loads, and in which order (src/conf_includedir.c).
// Pure: takes directory entry names, returns the ordered names.

/**
 * Mosquitto's scmp_p: compare letter by letter case-insensitively (via toupper), and on a tie
 * put the upper case letter first, so A.conf, a.conf, B.conf, b.conf.
 */
export function compareIncludeNames(a: string, b: string): number {
  const length = Math.min(a.length, b.length);
  for (let i = 0; i < length; i++) {
    const x = a.charCodeAt(i);
    const y = b.charCodeAt(i);
    const folded = upper(x) - upper(y);
    if (folded !== 0) return folded;
    if (x !== y) return x - y;
  }
  return a.length - b.length;
}

function upper(code: number): number {
  // C toupper() in the "C" locale only folds ASCII a-z.
  return code >= 97 && code <= 122 ? code - 32 : code;
}

/** Names ending in ".conf" and longer than ".conf" itself, in Mosquitto's load order. */
export function includeOrder(names: readonly string[]): string[] {
  return names.filter((name) => name.length > 5 && name.endsWith('.conf')).sort(compareIncludeNames);
}
