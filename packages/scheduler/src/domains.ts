// Domain shares (docs/architecture.md, "@tenantry/scheduler"): PROD, SHADOW and LAB split the concurrency
// by share while all have demand; a domain with demand always gets at least its share, and share a domain
// leaves idle is lent to the others.
//
// There is no reservation and no tick. Whenever a slot is free, it goes to the domain with ready work whose
// running count is lowest relative to its share (running / share). A domain below its share therefore wins
// every free slot against a domain above its share, so lent capacity comes back at the very next slot that
// frees once the owner has demand again — Kubernetes API Priority and Fairness, by contrast, returns
// borrowed seats only at its periodic (10 s) rebalancing. While several domains are backlogged, their running
// counts converge to the shares; a domain alone gets everything (work-conserving). A share of 0 only ever
// borrows. Constant time: there are three domains.
import { DOMAINS, type Domain } from '@tenantry/core';
import type { DomainShares } from './options.js';

/**
 * The domain that gets the next free slot, or undefined when none has ready work.
 * @param ready whether the domain has work that may start now (not paused, an eligible tenant waiting)
 * @param running tasks of the domain running now
 */
export function nextDomain(shares: Readonly<DomainShares>, ready: (d: Domain) => boolean, running: (d: Domain) => number): Domain | undefined {
  let best: Domain | undefined;
  let bestRatio = Infinity;
  let bestRunning = Infinity;
  for (const d of DOMAINS) {
    if (!ready(d)) continue;
    const r = running(d);
    const share = shares[d];
    const ratio = share > 0 ? r / share : Infinity;
    // Ties (and domains with no share, which only borrow) go to the one running least, then DOMAINS order.
    if (best === undefined || ratio < bestRatio || (ratio === bestRatio && r < bestRunning)) {
      best = d;
      bestRatio = ratio;
      bestRunning = r;
    }
  }
  return best;
}
