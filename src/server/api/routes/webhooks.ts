import { Router } from 'express';
import { z } from 'zod';
import { invalidArgument } from '../../../common/errors.js';
import type { WebhookSubscription } from '../../../store/webhook-subscriptions.js';
import { urlRefusal } from '../../webhooks/destination-policy.js';
import { isWebhookEventType, pingEventType, webhookEventTypes } from '../../webhooks/event-actions.js';
import { generateWebhookSecret } from '../../webhooks/secret.js';
import { presentAttempt, presentDelivery, presentWebhook } from '../../webhooks/webhook-present.js';
import type { ApiContext } from '../context.js';
import { auditedMutation } from '../audited.js';
import { pageQuery, validate } from '../validation.js';

const eventTypeSchema = z.string().superRefine((value, ctx) => {
  if (!isWebhookEventType(value)) ctx.addIssue({ code: 'custom', message: `unknown event type ${JSON.stringify(value)} (known: ${webhookEventTypes.join(', ')})` });
});
const fields = {
  url: z.string().min(1, 'must not be empty').max(2048),
  events: z.array(eventTypeSchema).min(1, 'at least one event type is required').max(webhookEventTypes.length * 2),
  description: z.string().max(1024),
  enabled: z.boolean(),
  allow_private: z.boolean(),
};
const createSchema = z.strictObject({
  url: fields.url,
  events: fields.events,
  description: fields.description.default(''),
  enabled: fields.enabled.default(true),
  allow_private: fields.allow_private.default(false),
});
const updateSchema = z
  .strictObject({
    url: fields.url.optional(),
    events: fields.events.optional(),
    description: fields.description.optional(),
    enabled: fields.enabled.optional(),
    allow_private: fields.allow_private.optional(),
  })
  .refine((body) => Object.keys(body).length > 0, 'nothing to update: give at least one of url, events, description, enabled, allow_private');
const idParams = z.strictObject({ id: z.uuid('must be a webhook id (UUID)') });
const deliveryParams = z.strictObject({ id: z.string().regex(/^msg_[0-9a-f]{32}$/, 'must be a delivery id (msg_ and 32 hex digits)') });
const deliveriesQuery = z.strictObject({ status: z.enum(['pending', 'delivered', 'dead']).optional(), ...pageQuery });

/** Management events name the subscription, not its URL: a URL may carry a token of the receiver's. */
const eventPayload = (s: WebhookSubscription) => ({ subscription_id: s.id, events: s.eventTypes, enabled: s.enabled });

export function webhooksRouter(ctx: ApiContext): Router {
  const router = Router();

  function checkUrl(url: string, allowPrivate: boolean): void {
    const why = urlRefusal(url, { allowPrivate, allowPrivateDestinations: ctx.webhooks.settings.allowPrivateDestinations });
    if (why) throw invalidArgument(`invalid body: url: ${why}`);
  }

  // The secret is in this response and nowhere else, ever.
  router.post('/webhooks', (req, res) => {
    const body = validate(createSchema, req.body, 'body');
    checkUrl(body.url, body.allow_private);
    const secret = generateWebhookSecret();
    const created = auditedMutation(
      ctx,
      req,
      'webhook.create',
      new URL(body.url).origin,
      (now) => {
        const subscription = ctx.store.webhooks.subscriptions.create(
          { url: body.url, description: body.description, eventTypes: body.events, enabled: body.enabled, allowPrivate: body.allow_private },
          secret,
          now,
        );
        ctx.store.events.append(now, 'webhook.created', subscription.id, eventPayload(subscription));
        return subscription;
      },
      (s) => ({ webhook_id: s.id, events: s.eventTypes }),
    );
    res.status(201).json({ ...presentWebhook(created), secret });
  });

  router.get('/webhooks', (_req, res) => {
    res.json({ webhooks: ctx.store.webhooks.subscriptions.list().map(presentWebhook) });
  });

  router.get('/webhooks/:id', (req, res) => {
    const { id } = validate(idParams, req.params, 'path');
    res.json(presentWebhook(ctx.store.webhooks.subscriptions.getOrThrow(id)));
  });

  router.patch('/webhooks/:id', (req, res) => {
    const { id } = validate(idParams, req.params, 'path');
    const body = validate(updateSchema, req.body, 'body');
    const updated = auditedMutation(
      ctx,
      req,
      'webhook.update',
      id,
      (now) => {
        const current = ctx.store.webhooks.subscriptions.getOrThrow(id);
        if (body.url !== undefined || body.allow_private !== undefined) checkUrl(body.url ?? current.url, body.allow_private ?? current.allowPrivate);
        const subscription = ctx.store.webhooks.subscriptions.update(
          id,
          {
            ...(body.url !== undefined && { url: body.url }),
            ...(body.events !== undefined && { eventTypes: body.events }),
            ...(body.description !== undefined && { description: body.description }),
            ...(body.enabled !== undefined && { enabled: body.enabled }),
            ...(body.allow_private !== undefined && { allowPrivate: body.allow_private }),
          },
          now,
        );
        ctx.store.events.append(now, 'webhook.updated', id, eventPayload(subscription));
        return subscription;
      },
      () => ({ changed: Object.keys(body) }),
    );
    res.json(presentWebhook(updated));
  });

  router.delete('/webhooks/:id', (req, res) => {
    const { id } = validate(idParams, req.params, 'path');
    auditedMutation(ctx, req, 'webhook.delete', id, (now) => {
      const deleted = ctx.store.webhooks.subscriptions.delete(id);
      ctx.store.events.append(now, 'webhook.deleted', id, eventPayload(deleted));
    });
    res.status(204).end();
  });

  // A ping goes through the outbox like any event, then is attempted at once; the answer says how it went.
  router.post('/webhooks/:id/test', async (req, res) => {
    const { id } = validate(idParams, req.params, 'path');
    const deliveryId = auditedMutation(
      ctx,
      req,
      'webhook.test',
      id,
      (now) => {
        ctx.store.webhooks.subscriptions.getOrThrow(id);
        const eventId = ctx.store.events.append(now, pingEventType, id, { subscription_id: id, message: 'Test delivery from Sigil' });
        return ctx.store.webhooks.outbox.enqueueFor(id, eventId, now);
      },
      (delivery) => ({ delivery_id: delivery }),
    );
    res.json(presentDelivery(await ctx.webhooks.deliverNow(deliveryId)));
  });

  router.get('/webhooks/:id/deliveries', (req, res) => {
    const { id } = validate(idParams, req.params, 'path');
    const q = validate(deliveriesQuery, req.query, 'query');
    ctx.store.webhooks.subscriptions.getOrThrow(id);
    const page = ctx.store.webhooks.deliveries.list(id, q.status, { pageSize: q.page_size, pageToken: q.page_token });
    res.json({ deliveries: page.items.map(presentDelivery), next_page_token: page.nextPageToken });
  });

  router.get('/webhook-deliveries/:id', (req, res) => {
    const { id } = validate(deliveryParams, req.params, 'path');
    const delivery = ctx.store.webhooks.deliveries.getOrThrow(id);
    res.json({ ...presentDelivery(delivery), history: ctx.store.webhooks.deliveries.attempts(id).map(presentAttempt) });
  });

  // Same webhook-id as before, so a receiver that already processed it can recognise it; a fresh budget of attempts.
  router.post('/webhook-deliveries/:id/redeliver', async (req, res) => {
    const { id } = validate(deliveryParams, req.params, 'path');
    auditedMutation(ctx, req, 'webhook.redeliver', id, (now) => {
      const delivery = ctx.store.webhooks.deliveries.requeue(id, now);
      ctx.store.events.append(now, 'webhook.redelivery_requested', delivery.subscriptionId, { subscription_id: delivery.subscriptionId, delivery_id: id, event_id: delivery.eventId });
    });
    res.json(presentDelivery(await ctx.webhooks.deliverNow(id)));
  });

  return router;
}
