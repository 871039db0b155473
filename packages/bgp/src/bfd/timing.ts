/** The timer arithmetic of RFC 5880 asynchronous mode, as pure functions (microseconds). */

/**
 * Section 6.8.7: the periodic transmission interval is the larger of our DesiredMinTxInterval and
 * the remote RequiredMinRxInterval. Zero means "do not transmit": the remote asked for no packets.
 */
export function transmitInterval(desiredMinTx: number, remoteMinRx: number): number {
  if (remoteMinRx === 0) return 0;
  return Math.max(desiredMinTx, remoteMinRx);
}

/**
 * Section 6.8.7: each interval is reduced by a random 0-25% (so 75-100% of the nominal value), or
 * to 75-90% when the detect multiplier is 1, so that packets never line up with the remote's
 * detection timer. `random` returns a number in [0, 1).
 */
export function jitteredInterval(interval: number, detectMultiplier: number, random: () => number): number {
  const maxReduction = 0.25;
  const minReduction = detectMultiplier === 1 ? 0.1 : 0;
  const reduction = minReduction + random() * (maxReduction - minReduction);
  return interval * (1 - reduction);
}

/**
 * Section 6.8.4, asynchronous mode: the remote's Detect Mult times the agreed interval, which is
 * the larger of our RequiredMinRxInterval and the remote's last Desired Min TX Interval.
 */
export function detectionTime(
  remoteDetectMult: number,
  requiredMinRx: number,
  remoteDesiredMinTx: number,
): number {
  return remoteDetectMult * Math.max(requiredMinRx, remoteDesiredMinTx);
}
