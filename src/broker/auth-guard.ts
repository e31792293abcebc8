// Puts the AuthThrottle in front of the broker's authenticate hook: a banned address is refused
// before the hook runs (no password hash, so a flood costs little), each refusal is counted, and
// each ban is logged once.

import { ReasonCode } from '../codec/index.js';
import { AuthThrottle, sourceKey } from './auth-throttle.js';
import type { ConnectInfo } from './hooks.js';
import type { BrokerLogger } from './logger.js';
import type { ResolvedBrokerOptions } from './options.js';

export type Authenticate = NonNullable<ResolvedBrokerOptions['authenticate']>;
type Verdict = boolean | number | undefined;

/** What handleConnect treats as a refusal (its checkVerdict). */
function refused(verdict: Verdict): boolean {
  return !(verdict === true || verdict === undefined || verdict === 0);
}

/**
 * The hook as the broker calls it: whatever `options.authenticate` is at the time (a reload may
 * install one) behind the throttle, or as is when the throttle is off.
 */
export function guardAuthenticate(options: ResolvedBrokerOptions, logger: BrokerLogger, now: () => number = Date.now): Authenticate {
  const throttle = new AuthThrottle({ limit: options.auth_fail_limit, windowMs: options.auth_fail_window * 1000, banMs: options.auth_fail_ban * 1000 }, now);
  const count = (key: string, verdict: Verdict): void => {
    if (!refused(verdict)) return;
    const ban = throttle.failed(key);
    if (ban === null) return;
    const again = ban.strike > 1 ? ` (ban ${ban.strike} for this address, doubled)` : '';
    logger.log('warning', `Address ${ban.key} had ${ban.failures} authentication failures within ${options.auth_fail_window} s: refusing its connections for ${ban.ms / 1000} s${again}.`);
  };
  return (info: ConnectInfo) => {
    const authenticate = options.authenticate;
    if (authenticate === undefined) return true;
    const key = options.auth_fail_limit === 0 ? null : sourceKey(info.remoteAddress);
    if (key === null) return authenticate(info);
    // 5.0 has a reason for exactly this; 3.1.1's nearest return code is "not authorised".
    if (throttle.banned(key)) return info.protocolVersion === 5 ? ReasonCode.ConnectionRateExceeded : ReasonCode.NotAuthorized;
    const verdict = authenticate(info);
    if (typeof verdict === 'object' && verdict !== null && typeof verdict.then === 'function') {
      return verdict.then((result) => { count(key, result); return result; });
    }
    count(key, verdict as Verdict);
    return verdict;
  };
}
