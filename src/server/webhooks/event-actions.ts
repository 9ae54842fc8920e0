/**
 * The events a webhook can subscribe to, each with what the receiver (an operator, an on-call
 * pager) should do about it. The text goes into every delivery as `data.action`.
 */
export const webhookEventActions = {
  'svid.expiring':
    'An SVID is close to expiry and has not been renewed. Check that the agent serving this SPIFFE ID is running and connected (sigil agent show) and that its registration entry still exists; agents renew at half-life, so a renewal is overdue.',
  'svid.expired':
    'An SVID expired without being renewed: workloads presenting it now fail TLS handshakes and JWT validation. Check the agent on that node (sigil agent show); restart it if it is stuck, and check its connection to the server.',
  'svid.revoked':
    'This SVID was revoked and is listed in the next CRL; its agent fetches a replacement. If its key may be compromised, find out how, and revoke the other SVIDs of the same entry or agent.',
  'agent.svid_expiring':
    "An agent's own SVID is close to expiry and has not been renewed. Check that the agent is running and can reach the server's agent API (agent_api_addr); if its SVID expires it must attest again.",
  'agent.stale':
    'An agent has not contacted the server for longer than the stale threshold. Check the node and the agent process; the SVIDs it serves expire if it does not come back.',
  'agent.revocation_failed':
    'An agent cannot apply a revocation list (the problem is in data.problems). It is not ready, it keeps every serial it knew revoked, and it replaced every SVID it held before the list. Check the agent log and the CRL (GET /v1/crl); this is a bug or a corrupted transfer, never expected.',
  'agent.svid_limit_reached':
    'An agent holds more entries than max_svids allows: the newest entries on that node get no SVID and their workloads are refused. Raise max_svids in the agent config (memory: about 15 KiB per SVID), or move entries to other nodes.',
  'agent.banned':
    'An agent was banned: every call it makes is refused and it has deleted its SVIDs, so its workloads lose their identities. If this was not intended, evict it (sigil agent evict) and attest the node again with a new join token.',
  'authority.prepared':
    'A new signing authority was prepared and is now published in the trust bundle, ahead of signing anything. No action, unless a consumer uses a pinned copy of the bundle: update that copy before the authority is activated.',
  'authority.activated':
    'A new signing authority now signs SVIDs. No action if consumers refresh the trust bundle; a consumer with a pinned copy must update it now, or it will reject new SVIDs.',
  'authority.expiring':
    'A signing authority is close to expiry. Check rotation (sigil authority list): a prepared successor should exist; if not, prepare and activate one (sigil authority prepare, sigil authority activate).',
  'authority.tainted':
    'A signing authority was tainted (suspected compromise): agents re-issue every SVID it signed. When they have, revoke it (sigil authority revoke) to remove it from the trust bundle.',
  'authority.revoked':
    'A signing authority was revoked and removed from the trust bundle: SVIDs it signed are no longer trusted. Check that every workload holds an SVID from the active authority.',
  'crl.published':
    'A new CRL was published. Consumers that check revocation should fetch it (GET /v1/crl); no other action.',
} as const;

export type WebhookEventType = keyof typeof webhookEventActions;

export const webhookEventTypes = Object.keys(webhookEventActions) as WebhookEventType[];

/** Sent by `sigil webhook test`; not subscribable: every subscription can be pinged. */
export const pingEventType = 'webhook.ping';
export const pingAction = 'A test delivery (sigil webhook test). No action: it shows that this receiver gets and verifies Sigil webhooks.';

export function isWebhookEventType(type: string): type is WebhookEventType {
  return Object.hasOwn(webhookEventActions, type);
}

/** The action text for any event a delivery may carry. */
export function actionFor(type: string): string {
  if (type === pingEventType) return pingAction;
  return isWebhookEventType(type) ? webhookEventActions[type] : 'No action documented for this event type.';
}
