// Wall-clock timestamps with nanoseconds and a C-locale strftime, for -F's %I %U %j @-sequences.
// Pure except for reading the clock in `wallClock`; never prints.

/** One instant: whole seconds since the epoch plus nanoseconds into that second. */
export interface Instant {
  seconds: number;
  nanoseconds: number;
}

const startWallMs = Date.now();
const startHr = process.hrtime.bigint();

/** The current time with nanosecond resolution (Date.now() steadied by the monotonic clock). */
export function wallClock(): Instant {
  const ns = BigInt(startWallMs) * 1_000_000n + (process.hrtime.bigint() - startHr);
  return { seconds: Number(ns / 1_000_000_000n), nanoseconds: Number(ns % 1_000_000_000n) };
}

const DAYS = ['Sunday', 'Monday', 'Tuesday', 'Wednesday', 'Thursday', 'Friday', 'Saturday'];
const MONTHS = ['January', 'February', 'March', 'April', 'May', 'June', 'July', 'August', 'September', 'October', 'November', 'December'];

const pad = (value: number, width: number, fill = '0') => String(value).padStart(width, fill);

/** localtime(): the broken-down local time of an instant. */
export interface LocalTime {
  year: number; month: number; day: number; hour: number; minute: number; second: number;
  weekday: number; yearDay: number; offsetMinutes: number; epochSeconds: number; zoneName: string;
}

let zoneNameCache: { offset: number; name: string } | undefined;

function zoneName(date: Date, offsetMinutes: number): string {
  if (zoneNameCache?.offset === offsetMinutes) return zoneNameCache.name;
  const part = new Intl.DateTimeFormat('en-US', { timeZoneName: 'short' }).formatToParts(date).find((p) => p.type === 'timeZoneName');
  const name = part?.value ?? '';
  zoneNameCache = { offset: offsetMinutes, name };
  return name;
}

export function localTime(instant: Instant): LocalTime {
  const date = new Date(instant.seconds * 1000);
  const year = date.getFullYear();
  const startOfYear = new Date(year, 0, 1);
  const yearDay = Math.round((new Date(year, date.getMonth(), date.getDate()).getTime() - startOfYear.getTime()) / 86_400_000);
  const offsetMinutes = -date.getTimezoneOffset();
  return {
    year, month: date.getMonth(), day: date.getDate(), hour: date.getHours(), minute: date.getMinutes(),
    second: date.getSeconds(), weekday: date.getDay(), yearDay, offsetMinutes, epochSeconds: instant.seconds,
    zoneName: zoneName(date, offsetMinutes),
  };
}

/** ISO 8601 week-based year and week number (%G, %V). */
function isoWeek(t: LocalTime): { year: number; week: number } {
  const weekdayMonday = (t.weekday + 6) % 7; // Monday = 0
  const thursdayYearDay = t.yearDay - weekdayMonday + 3;
  const daysInYear = (y: number) => ((y % 4 === 0 && y % 100 !== 0) || y % 400 === 0 ? 366 : 365);
  if (thursdayYearDay < 0) {
    const previous = t.year - 1;
    const previousYearDay = thursdayYearDay + daysInYear(previous);
    return { year: previous, week: Math.floor(previousYearDay / 7) + 1 };
  }
  if (thursdayYearDay >= daysInYear(t.year)) return { year: t.year + 1, week: 1 };
  return { year: t.year, week: Math.floor(thursdayYearDay / 7) + 1 };
}

function zoneOffset(t: LocalTime): string {
  const sign = t.offsetMinutes < 0 ? '-' : '+';
  const minutes = Math.abs(t.offsetMinutes);
  return `${sign}${pad(Math.floor(minutes / 60), 2)}${pad(minutes % 60, 2)}`;
}

/**
 * One strftime conversion in the C locale (glibc): `conversion` is the character after '%'.
 * An unknown conversion comes out as written, as glibc does.
 */
export function strftimeOne(conversion: string, t: LocalTime): string {
  const hour12 = t.hour % 12 === 0 ? 12 : t.hour % 12;
  switch (conversion) {
    case 'a': return DAYS[t.weekday]!.slice(0, 3);
    case 'A': return DAYS[t.weekday]!;
    case 'b': case 'h': return MONTHS[t.month]!.slice(0, 3);
    case 'B': return MONTHS[t.month]!;
    case 'c': return `${strftimeOne('a', t)} ${strftimeOne('b', t)} ${pad(t.day, 2, ' ')} ${strftimeOne('T', t)} ${t.year}`;
    case 'C': return pad(Math.floor(t.year / 100), 2);
    case 'd': return pad(t.day, 2);
    case 'D': case 'x': return `${pad(t.month + 1, 2)}/${pad(t.day, 2)}/${pad(t.year % 100, 2)}`;
    case 'e': return pad(t.day, 2, ' ');
    case 'F': return `${t.year}-${pad(t.month + 1, 2)}-${pad(t.day, 2)}`;
    case 'G': return String(isoWeek(t).year);
    case 'g': return pad(isoWeek(t).year % 100, 2);
    case 'H': return pad(t.hour, 2);
    case 'I': return pad(hour12, 2);
    case 'j': return pad(t.yearDay + 1, 3);
    case 'k': return pad(t.hour, 2, ' ');
    case 'l': return pad(hour12, 2, ' ');
    case 'm': return pad(t.month + 1, 2);
    case 'M': return pad(t.minute, 2);
    case 'n': return '\n';
    case 'p': return t.hour < 12 ? 'AM' : 'PM';
    case 'P': return t.hour < 12 ? 'am' : 'pm';
    case 'r': return `${pad(hour12, 2)}:${pad(t.minute, 2)}:${pad(t.second, 2)} ${strftimeOne('p', t)}`;
    case 'R': return `${pad(t.hour, 2)}:${pad(t.minute, 2)}`;
    case 's': return String(t.epochSeconds);
    case 'S': return pad(t.second, 2);
    case 't': return '\t';
    case 'T': case 'X': return `${pad(t.hour, 2)}:${pad(t.minute, 2)}:${pad(t.second, 2)}`;
    case 'u': return String(t.weekday === 0 ? 7 : t.weekday);
    case 'U': return pad(Math.floor((t.yearDay + 7 - t.weekday) / 7), 2);
    case 'V': return pad(isoWeek(t).week, 2);
    case 'w': return String(t.weekday);
    case 'W': return pad(Math.floor((t.yearDay + 7 - ((t.weekday + 6) % 7)) / 7), 2);
    case 'y': return pad(t.year % 100, 2);
    case 'Y': return String(t.year);
    case 'z': return zoneOffset(t);
    case 'Z': return t.zoneName;
    case '%': return '%';
    default: return `%${conversion}`;
  }
}

/** strftime("%FT%T%z"): the %I field. */
export function isoSeconds(t: LocalTime): string {
  return `${strftimeOne('F', t)}T${strftimeOne('T', t)}${zoneOffset(t)}`;
}

/** mosquitto's "tst": "%Y-%m-%dT%H:%M:%S.<µs>Z%z" (2.0.11 keeps the literal Z before the offset). */
export function jsonTimestamp(t: LocalTime, nanoseconds: number): string {
  return `${strftimeOne('F', t)}T${strftimeOne('T', t)}.${pad(Math.floor(nanoseconds / 1000), 6)}Z${zoneOffset(t)}`;
}
