/**
 * The mode validator for Portico's own BGP speaker, the counterpart of MetalLB v0.12's
 * DiscardFRROnly (internal/config/validate.go). MetalLB's native speaker refuses, for the whole
 * config: a peer `bfd-profile`, a peer `keepalive-time`, a non-empty `bfd-profiles` section and any
 * IPv6 CIDR in a `bgp` pool. Portico applies NONE of these refusals:
 *
 * - IPv6: our speaker negotiates Multiprotocol Extensions (RFC 4760) for IPv6 unicast and
 *   announces IPv6 prefixes with MP_REACH_NLRI, so IPv6 and dual-stack `bgp` pools are announced.
 * - keepalive-time: our speaker sends KEEPALIVEs at the configured interval (RFC 4271 §4.4) and
 *   falls back to hold time / 3 only when it is not set.
 * - bfd-profile / bfd-profiles: our speaker runs BFD (RFC 5880, single hop RFC 5881) per peer
 *   with the profile's intervals, multiplier and passive mode.
 *
 * What remains is what our speaker can not do: the BFD echo function (RFC 5880 §6.4), which needs
 * the peer's forwarding plane to loop our packets back and is not implemented.
 * MetalLB's DiscardNativeOnly (FRR mode: same router-id and my-asn on all peers, unique peer
 * addresses) does not apply either: every peer is its own session in our speaker.
 */
import type { Config } from './model.js';

/** Errors for features the built-in speaker does not support; empty when it can run the config. */
export function validateForNativeSpeaker(config: Config): string[] {
  const errors: string[] = [];
  for (const profile of config.bfdProfiles) {
    if (profile.echoMode) {
      errors.push(
        `bfd profile "${profile.name}": echo-mode: the BFD echo function is not supported by the native speaker`,
      );
    }
  }
  return errors;
}
