// The broker's log as Mosquitto writes it: log_dest (stdout, stderr, file, syslog, topic, none),
// log_type filtering, log_timestamp(_format), connection_messages. Formats and routes lines only.

import { closeSync, openSync, writeSync } from 'node:fs';
import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import type { Writable } from 'node:stream';
import type { BrokerLogger, LogType } from '../broker/logger.js';
import { CliError } from './errors.js';

export type LogDestination = 'stdout' | 'stderr' | 'syslog' | 'topic' | 'file';

export interface BrokerLogSettings {
  /** Empty = none. */
  log_dest: readonly LogDestination[];
  log_file: string | null;
  /** Config log types; 'websockets' and 'internal' are accepted and produce nothing here. */
  log_type: readonly string[];
  log_timestamp: boolean;
  log_timestamp_format: string | null;
  connection_messages: boolean;
  /** log_facility N = syslog local N; null = daemon. */
  log_facility: number | null;
}

/** Mosquitto's `$SYS/broker/log/<letter>` topic suffix per type. */
const TOPIC_LETTER: Record<LogType, string> = {
  error: 'E', warning: 'W', notice: 'N', information: 'I', debug: 'D', subscribe: 'M', unsubscribe: 'U',
};

/** syslog priority per type, as Mosquitto maps them. */
const SYSLOG_PRIORITY: Record<LogType, string> = {
  error: 'err', warning: 'warning', notice: 'notice', information: 'info', debug: 'debug', subscribe: 'notice', unsubscribe: 'notice',
};

const DAYS = ['Sun', 'Mon', 'Tue', 'Wed', 'Thu', 'Fri', 'Sat'];
const MONTHS = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];

const pad = (value: number, width = 2, fill = '0'): string => String(value).padStart(width, fill);

function dayOfYear(date: Date): number {
  const start = new Date(date.getFullYear(), 0, 1);
  return Math.floor((date.getTime() - start.getTime()) / 86_400_000) + 1;
}

function utcOffset(date: Date): string {
  const minutes = -date.getTimezoneOffset();
  const sign = minutes >= 0 ? '+' : '-';
  return `${sign}${pad(Math.floor(Math.abs(minutes) / 60))}${pad(Math.abs(minutes) % 60)}`;
}

/** C strftime in local time for the conversions log_timestamp_format uses; others stay as written. */
export function strftime(format: string, date: Date): string {
  return format.replace(/%([a-zA-Z%])/g, (whole, letter: string) => {
    switch (letter) {
      case 'Y': return String(date.getFullYear());
      case 'y': return pad(date.getFullYear() % 100);
      case 'm': return pad(date.getMonth() + 1);
      case 'd': return pad(date.getDate());
      case 'e': return pad(date.getDate(), 2, ' ');
      case 'H': return pad(date.getHours());
      case 'I': return pad(((date.getHours() + 11) % 12) + 1);
      case 'p': return date.getHours() < 12 ? 'AM' : 'PM';
      case 'M': return pad(date.getMinutes());
      case 'S': return pad(date.getSeconds());
      case 'j': return pad(dayOfYear(date), 3);
      case 'a': return DAYS[date.getDay()]!;
      case 'A': return ['Sunday', 'Monday', 'Tuesday', 'Wednesday', 'Thursday', 'Friday', 'Saturday'][date.getDay()]!;
      case 'b': case 'h': return MONTHS[date.getMonth()]!;
      case 'F': return `${date.getFullYear()}-${pad(date.getMonth() + 1)}-${pad(date.getDate())}`;
      case 'T': return `${pad(date.getHours())}:${pad(date.getMinutes())}:${pad(date.getSeconds())}`;
      case 'D': return `${pad(date.getMonth() + 1)}/${pad(date.getDate())}/${pad(date.getFullYear() % 100)}`;
      case 'R': return `${pad(date.getHours())}:${pad(date.getMinutes())}`;
      case 's': return String(Math.floor(date.getTime() / 1000));
      case 'z': return utcOffset(date);
      case 'n': return '\n';
      case 't': return '\t';
      case '%': return '%';
      default: return whole;
    }
  });
}

/**
 * Lines the broker core logs about connections, which `connection_messages false` hides. The
 * core gives them no type of their own, so they are recognised by Mosquitto's fixed wording.
 */
const CONNECTION_MESSAGE = /^(New connection from |New client connected from |Client .* (disconnected|closed its connection|has exceeded timeout|already connected, closing old connection)|Bad socket read\/write on client |Invalid protocol (version \d+|".*") in CONNECT from )/s;

export class BrokerLog implements BrokerLogger {
  private readonly types: ReadonlySet<string>;
  private fileDescriptor: number | null = null;
  private readonly syslog = new Map<string, ChildProcess>();
  private publish: ((topic: string, payload: string) => void) | null = null;
  /** Once daemonised, stdout and stderr lead nowhere. */
  private consoleOpen = true;

  constructor(private readonly settings: BrokerLogSettings, private readonly stdout: Writable, private readonly stderr: Writable) {
    this.types = new Set(settings.log_type.includes('all') ? Object.keys(TOPIC_LETTER) : settings.log_type);
    this.openFile();
  }

  /** `log_dest file`: opened (append) at start and again on SIGHUP, for log rotation. */
  openFile(): void {
    const path = this.settings.log_file;
    if (path === null || !this.settings.log_dest.includes('file')) return;
    const previous = this.fileDescriptor;
    try {
      this.fileDescriptor = openSync(path, 'a');
    } catch (error) {
      const reason = (error as NodeJS.ErrnoException).code === 'EACCES' ? 'permission denied' : (error as NodeJS.ErrnoException).code === 'ENOENT' ? 'no such directory' : (error as Error).message;
      if (previous === null) throw new CliError(`Error: Unable to open log file ${path} for writing (${reason}).`, 1);
      this.log('error', `Error: Unable to reopen log file ${path} for writing (${reason}); still writing to the old one.`);
      return;
    }
    if (previous !== null) closeSync(previous);
  }

  /** `log_dest topic` publishes through the broker once it exists. */
  attachBroker(publish: (topic: string, payload: string) => void): void {
    this.publish = publish;
  }

  detachConsole(): void {
    this.consoleOpen = false;
  }

  /** Whether a line of `type` would go anywhere: with `log_dest none` the broker builds no lines at all. */
  enabled(type: LogType): boolean {
    return this.settings.log_dest.length > 0 && this.types.has(type);
  }

  log(type: LogType, message: string): void {
    if (!this.types.has(type)) return;
    if (!this.settings.connection_messages && CONNECTION_MESSAGE.test(message)) return;
    const destinations = this.settings.log_dest;
    if (destinations.length === 0) return;
    const stamped = this.stamp(message);
    for (const destination of destinations) {
      switch (destination) {
        case 'stdout': if (this.consoleOpen) this.stdout.write(stamped); break;
        case 'stderr': if (this.consoleOpen) this.stderr.write(stamped); break;
        case 'file': if (this.fileDescriptor !== null) { try { writeSync(this.fileDescriptor, stamped); } catch { /* disk full: keep running */ } } break;
        case 'topic': this.publish?.(`$SYS/broker/log/${TOPIC_LETTER[type]}`, message); break;
        case 'syslog': this.toSyslog(type, message); break;
      }
    }
  }

  private stamp(message: string): string {
    if (!this.settings.log_timestamp) return `${message}\n`;
    const now = new Date();
    if (this.settings.log_timestamp_format !== null) return `${strftime(this.settings.log_timestamp_format, now)}: ${message}\n`;
    return `${Math.floor(now.getTime() / 1000)}: ${message}\n`;
  }

  /**
   * Node cannot write to the /dev/log datagram socket, so lines go through logger(1), one
   * long-lived process per priority, tagged "mqx" like Mosquitto's "mosquitto".
   */
  private toSyslog(type: LogType, message: string): void {
    const facility = this.settings.log_facility === null ? 'daemon' : `local${this.settings.log_facility}`;
    const priority = `${facility}.${SYSLOG_PRIORITY[type]}`;
    let child = this.syslog.get(priority);
    if (child === undefined) {
      child = spawn('logger', ['-t', 'mqx', '--id=' + process.pid, '-p', priority], { stdio: ['pipe', 'ignore', 'ignore'] });
      child.on('error', () => {});
      child.stdin!.on('error', () => {});
      child.unref();
      this.syslog.set(priority, child);
    }
    child.stdin!.write(`${message.replace(/\n/g, ' ')}\n`);
  }

  close(): void {
    for (const child of this.syslog.values()) child.stdin?.end();
    this.syslog.clear();
    if (this.fileDescriptor !== null) closeSync(this.fileDescriptor);
    this.fileDescriptor = null;
  }
}
