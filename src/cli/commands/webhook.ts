import { webhookEventTypes } from '../../server/webhooks/event-actions.js';
import type { presentDelivery, presentWebhook } from '../../server/webhooks/webhook-present.js';
import { clientFlags } from '../client-flags.js';
import { adminClient } from '../client/connect.js';
import { group, leaf, type FlagSpecs } from '../command.js';
import { CommandFailure, UsageError } from '../errors.js';
import type { FlagValues } from '../flag-values.js';
import { formatFields, formatFound, outputFormat, printJson, printText } from '../output.js';

type WebhookJson = ReturnType<typeof presentWebhook>;
type CreatedWebhookJson = WebhookJson & { secret: string };
type DeliveryJson = ReturnType<typeof presentDelivery>;

const webhookFieldFlags: FlagSpecs = {
  url: { type: 'string', valueName: 'URL', description: 'where to POST the webhooks (http or https)' },
  events: {
    type: 'string',
    multiple: true,
    valueName: 'TYPES',
    description: `event types to send, comma-separated or repeated: ${webhookEventTypes.join(', ')}`,
  },
  description: { type: 'string', valueName: 'TEXT', description: 'what the webhook is for' },
  'allow-private': { type: 'boolean', description: 'may deliver to loopback, private, link-local and cloud metadata addresses' },
};

const idFlag: FlagSpecs = { id: { type: 'string', valueName: 'ID', description: 'ID of the webhook (or give it as the argument)' } };
const idArgument = { usage: '[ID]', max: 1 };

function idOf(flags: FlagValues, positionals: string[], what: string, flag = 'id'): string {
  const fromFlag = flags.string(flag);
  const fromArgument = positionals[0];
  if (fromFlag !== undefined && fromArgument !== undefined && fromFlag !== fromArgument) {
    throw new UsageError(`give the ${what} once: --${flag} ${fromFlag} and argument ${fromArgument} differ`, flags.commandPath);
  }
  const id = fromFlag ?? fromArgument;
  if (id === undefined) throw new UsageError(`missing required flag --${flag} (or the ${what} as the argument)`, flags.commandPath);
  return id;
}

function eventTypesOf(flags: FlagValues): string[] | undefined {
  if (!flags.has('events')) return undefined;
  return flags
    .strings('events')
    .flatMap((value) => value.split(','))
    .map((type) => type.trim())
    .filter((type) => type !== '');
}

function formatWebhook(webhook: WebhookJson): string {
  return formatFields([
    ['Webhook ID', webhook.id],
    ['URL', webhook.url],
    ['Description', webhook.description],
    ['Events', webhook.events.join(', ')],
    ['Enabled', webhook.enabled],
    ['Allow private', webhook.allow_private ? true : undefined],
    ['Created at', webhook.created_at],
    ['Updated at', webhook.updated_at],
  ]);
}

function formatDelivery(delivery: DeliveryJson): string {
  return formatFields([
    ['Delivery ID', delivery.id],
    ['Event', `${delivery.event_type} (event ${delivery.event_id})`],
    ['Status', delivery.status],
    ['Attempts', delivery.attempts],
    ['Last attempt at', delivery.last_attempt_at],
    ['Last HTTP status', delivery.last_status],
    ['Last error', delivery.last_error],
    ['Next attempt at', delivery.next_attempt_at],
    ['Delivered at', delivery.delivered_at],
    ['Created at', delivery.created_at],
  ]);
}

function printWebhook(flags: FlagValues, webhook: WebhookJson): number {
  if (outputFormat(flags) === 'json') printJson(webhook);
  else printText(formatWebhook(webhook));
  return 0;
}

/** The outcome of a delivery attempted at once (test, redeliver): exit 1 unless it was acknowledged. */
function printAttempt(flags: FlagValues, delivery: DeliveryJson): number {
  if (outputFormat(flags) === 'json') {
    printJson(delivery);
    return delivery.status === 'delivered' ? 0 : 1;
  }
  if (delivery.status === 'delivered') {
    printText(`Delivered: HTTP ${delivery.last_status ?? '?'} (delivery ${delivery.id})`);
    return 0;
  }
  const then = delivery.status === 'pending' ? `; it will be tried again at ${delivery.next_attempt_at ?? '?'}` : '; no attempts left (dead-lettered)';
  throw new CommandFailure(`delivery ${delivery.id} failed: ${delivery.last_error ?? 'not attempted (is the webhook disabled?)'}${then}`);
}

const create = leaf({
  name: 'create',
  summary: 'Create a webhook; its signing secret is shown once',
  flags: {
    ...webhookFieldFlags,
    url: { ...webhookFieldFlags.url!, required: true },
    events: { ...webhookFieldFlags.events!, required: true },
    disabled: { type: 'boolean', description: 'create it disabled: no deliveries are queued until it is enabled' },
    ...clientFlags,
  },
  async run(flags) {
    const client = await adminClient(flags);
    const created = await client.postJson<CreatedWebhookJson>('/v1/webhooks', {
      url: flags.string('url'),
      events: eventTypesOf(flags),
      ...(flags.has('description') && { description: flags.string('description') }),
      allow_private: flags.boolean('allow-private'),
      enabled: !flags.boolean('disabled'),
    });
    if (outputFormat(flags) === 'json') printJson(created);
    else printText(`${formatWebhook(created)}\n\nSecret: ${created.secret}\nThe secret is shown only now. Give it to the receiver to verify signatures (docs/webhooks.md).`);
    return 0;
  },
});

const list = leaf({
  name: 'list',
  summary: 'List webhooks',
  flags: { ...clientFlags },
  async run(flags) {
    const client = await adminClient(flags);
    const { webhooks } = await client.getJson<{ webhooks: WebhookJson[] }>('/v1/webhooks');
    if (outputFormat(flags) === 'json') printJson({ webhooks });
    else printText(formatFound(webhooks.map(formatWebhook), 'webhook', 'webhooks'));
    return 0;
  },
});

const show = leaf({
  name: 'show',
  summary: 'Show one webhook',
  flags: { ...idFlag, ...clientFlags },
  positionals: idArgument,
  async run(flags, positionals) {
    const id = idOf(flags, positionals, 'webhook ID');
    const client = await adminClient(flags);
    return printWebhook(flags, await client.getJson<WebhookJson>(`/v1/webhooks/${encodeURIComponent(id)}`));
  },
});

const update = leaf({
  name: 'update',
  summary: 'Change the given fields of a webhook (--events replaces the list)',
  flags: {
    ...idFlag,
    ...webhookFieldFlags,
    'no-allow-private': { type: 'boolean', description: 'may no longer deliver to private, link-local or metadata addresses' },
    enable: { type: 'boolean', description: 'enable the webhook' },
    disable: { type: 'boolean', description: 'disable the webhook: new events are not queued for it, queued ones wait' },
    ...clientFlags,
  },
  positionals: idArgument,
  async run(flags, positionals) {
    const id = idOf(flags, positionals, 'webhook ID');
    for (const [yes, no] of [['enable', 'disable'], ['allow-private', 'no-allow-private']] as const) {
      if (flags.boolean(yes) && flags.boolean(no)) throw new UsageError(`give --${yes} or --${no}, not both`, flags.commandPath);
    }
    const fields: Record<string, unknown> = {
      url: flags.string('url'),
      events: eventTypesOf(flags),
      description: flags.string('description'),
      enabled: flags.boolean('enable') ? true : flags.boolean('disable') ? false : undefined,
      allow_private: flags.boolean('allow-private') ? true : flags.boolean('no-allow-private') ? false : undefined,
    };
    const body = Object.fromEntries(Object.entries(fields).filter(([, value]) => value !== undefined));
    if (Object.keys(body).length === 0) throw new UsageError('nothing to update: give at least one of the webhook flags (see --help)', flags.commandPath);
    const client = await adminClient(flags);
    return printWebhook(flags, await client.patchJson<WebhookJson>(`/v1/webhooks/${encodeURIComponent(id)}`, body));
  },
});

const remove = leaf({
  name: 'delete',
  summary: 'Delete a webhook with its queued deliveries and their history',
  flags: { ...idFlag, ...clientFlags },
  positionals: idArgument,
  async run(flags, positionals) {
    const id = idOf(flags, positionals, 'webhook ID');
    const client = await adminClient(flags);
    await client.delete(`/v1/webhooks/${encodeURIComponent(id)}`);
    if (outputFormat(flags) === 'json') printJson({ id, deleted: true });
    else printText(`Deleted webhook with ID: ${id}`);
    return 0;
  },
});

const test = leaf({
  name: 'test',
  summary: 'Send a webhook.ping to a webhook now and say whether it was acknowledged',
  flags: { ...idFlag, ...clientFlags },
  positionals: idArgument,
  async run(flags, positionals) {
    const id = idOf(flags, positionals, 'webhook ID');
    const client = await adminClient(flags);
    return printAttempt(flags, await client.postJson<DeliveryJson>(`/v1/webhooks/${encodeURIComponent(id)}/test`, {}));
  },
});

const deliveries = leaf({
  name: 'deliveries',
  summary: 'List the latest deliveries of a webhook, newest first',
  flags: {
    ...idFlag,
    status: { type: 'string', choices: ['pending', 'delivered', 'dead'], description: 'only deliveries in this state' },
    limit: { type: 'string', valueName: 'N', description: 'how many to show, 1 to 1000 (default 20)' },
    ...clientFlags,
  },
  positionals: idArgument,
  async run(flags, positionals) {
    const id = idOf(flags, positionals, 'webhook ID');
    const limit = flags.string('limit') ?? '20';
    if (!/^\d+$/.test(limit) || Number(limit) < 1 || Number(limit) > 1000) throw flags.invalid('limit', limit, 'must be a number from 1 to 1000');
    const client = await adminClient(flags);
    const page = await client.getJson<{ deliveries: DeliveryJson[] }>(`/v1/webhooks/${encodeURIComponent(id)}/deliveries`, { status: flags.string('status'), page_size: limit });
    if (outputFormat(flags) === 'json') printJson({ deliveries: page.deliveries });
    else printText(formatFound(page.deliveries.map(formatDelivery), 'delivery', 'deliveries'));
    return 0;
  },
});

const redeliver = leaf({
  name: 'redeliver',
  summary: 'Send a delivery again now (same webhook-id), with a fresh budget of attempts',
  flags: { 'delivery-id': { type: 'string', valueName: 'ID', description: 'ID of the delivery, msg_... (or give it as the argument)' }, ...clientFlags },
  positionals: { usage: '[DELIVERY_ID]', max: 1 },
  async run(flags, positionals) {
    const id = idOf(flags, positionals, 'delivery ID', 'delivery-id');
    const client = await adminClient(flags);
    return printAttempt(flags, await client.postJson<DeliveryJson>(`/v1/webhook-deliveries/${encodeURIComponent(id)}/redeliver`, {}));
  },
});

export const webhookCommands = group('webhook', 'Manage webhooks: signed alerts for expiry, rotation, revocation and agents', [create, list, show, update, remove, test, deliveries, redeliver]);
