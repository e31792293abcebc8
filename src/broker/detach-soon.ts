// Deferred payload copies for messages that wait in a session (queued or in flight). Copying
// each such payload at once doubled the broker's ArrayBuffer allocation rate and its GC work,
// yet most of these messages are acknowledged within milliseconds. So a session holding payload
// views is visited DETACH_DELAY_MS later and copies those still there: until then a payload
// keeps its socket read chunk alive, which bounds the extra memory by what the broker read from
// its sockets in that time (Node shrinks each read chunk to the bytes read). No message is
// referenced from here: the sessions' own queues keep them.

export const DETACH_DELAY_MS = 20;

/** What a session does when visited: copy the payloads it still holds as views. */
export interface ViewHolder {
  detachPayloads(): void;
}

const holders = new Set<ViewHolder>();
let timer: NodeJS.Timeout | null = null;

/** `holder` keeps a payload view: visit it DETACH_DELAY_MS from now. */
export function detachSoon(holder: ViewHolder): void {
  holders.add(holder);
  if (timer === null) {
    timer = setTimeout(visitHolders, DETACH_DELAY_MS);
    timer.unref();
  }
}

function visitHolders(): void {
  timer = null;
  for (const holder of holders) holder.detachPayloads();
  holders.clear();
}
