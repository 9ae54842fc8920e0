import { Router, type Request } from 'express';
import { z } from 'zod';
import { SigilError, invalidArgument, unprocessable } from '../../../common/errors.js';
import { parseSpiffeId } from '../../../spiffe/id.js';
import type { Entry, EntryFields } from '../../../store/entries.js';
import type { ApiContext } from '../context.js';
import { csrField, signCsrForRequest } from './signed-svid.js';
import { auditedMutation, recordFailure } from '../audited.js';
import { presentEntry } from '../present.js';
import { dnsNameSchema, durationField, pageQuery, plainText, repeatedQuery, selectorSchema, spiffeIdSchema, validate, workloadSpiffeIdSchema } from '../validation.js';

export const maxBatchSize = 500;

const entryFieldsSchema = {
  spiffe_id: workloadSpiffeIdSchema,
  parent_id: spiffeIdSchema,
  selectors: z.array(selectorSchema).min(1, 'at least one selector is required').max(64),
  dns_names: z.array(dnsNameSchema).max(100).default([]),
  x509_svid_ttl: durationField.optional(),
  jwt_svid_ttl: durationField.optional(),
  hint: plainText(1024).default(''),
  admin: z.boolean().default(false),
};

const createEntrySchema = z.strictObject(entryFieldsSchema);
const updateEntrySchema = z.strictObject({
  spiffe_id: entryFieldsSchema.spiffe_id.optional(),
  parent_id: entryFieldsSchema.parent_id.optional(),
  selectors: entryFieldsSchema.selectors.optional(),
  dns_names: z.array(dnsNameSchema).max(100).optional(),
  x509_svid_ttl: durationField.optional(),
  jwt_svid_ttl: durationField.optional(),
  hint: plainText(1024).optional(),
  admin: z.boolean().optional(),
  revision: z.number().int().min(0).optional(),
});
const batchSchema = z.strictObject({ entries: z.array(z.unknown()).min(1).max(maxBatchSize) });

const selectorQuery = z.string().transform((v, ctx) => {
  const i = v.indexOf(':');
  if (i <= 0 || i === v.length - 1) {
    ctx.addIssue({ code: 'custom', message: `selector ${JSON.stringify(v)} must be "type:value"` });
    return z.NEVER;
  }
  return { type: v.slice(0, i), value: v.slice(i + 1) };
});

const listQuerySchema = z.strictObject({
  spiffe_id: spiffeIdSchema.optional(),
  parent_id: spiffeIdSchema.optional(),
  selector: repeatedQuery(selectorQuery).optional(),
  match: z.enum(['exact', 'subset', 'superset', 'any']).default('superset'),
  ...pageQuery,
});

const idParams = z.strictObject({ id: z.uuid('must be an entry id (UUID)') });
const signCsrSchema = z.strictObject({ csr: csrField });

export function entriesRouter(ctx: ApiContext): Router {
  const router = Router();

  /** An entry as stored, plus the X509-SVID lifetime it gets from the CA now and what caps it. */
  const presentEntryWithTtl = (e: Entry) => {
    const ttl = ctx.ca.previewX509Ttl(e.x509SvidTtl);
    return { ...presentEntry(e), effective_x509_svid_ttl: ttl.effectiveSeconds, x509_svid_ttl_capped_by: ttl.cappedBy };
  };

  function checkMembership(field: string, id: string): void {
    if (parseSpiffeId(id).trustDomain !== ctx.trustDomain) {
      throw unprocessable(`${field}: ${id} is not in trust domain ${ctx.trustDomain}`);
    }
  }

  function toFields(body: z.infer<typeof createEntrySchema>): EntryFields {
    checkMembership('spiffe_id', body.spiffe_id);
    checkMembership('parent_id', body.parent_id);
    return {
      spiffeId: body.spiffe_id,
      parentId: body.parent_id,
      selectors: body.selectors,
      dnsNames: body.dns_names,
      x509SvidTtl: body.x509_svid_ttl ?? ctx.defaults.x509SvidTtl,
      jwtSvidTtl: body.jwt_svid_ttl ?? ctx.defaults.jwtSvidTtl,
      hint: body.hint,
      admin: body.admin,
    };
  }

  function createEntry(req: Request, raw: unknown): Entry {
    const body = validate(createEntrySchema, raw, 'body');
    return auditedMutation(ctx, req, 'entry.create', body.spiffe_id, (now) => {
      const entry = ctx.store.entries.create(toFields(body), now);
      ctx.store.events.append(now, 'entry.created', entry.id, { entry: presentEntry(entry) });
      return entry;
    }, (e) => ({ entry_id: e.id }));
  }

  router.post('/', (req, res) => {
    res.status(201).json(presentEntryWithTtl(createEntry(req, req.body)));
  });

  // Like SPIRE's BatchCreateEntry: each entry succeeds or fails on its own, with its own status.
  router.post('/batch', (req, res) => {
    const { entries } = validate(batchSchema, req.body, 'body');
    const results = entries.map((raw, index) => {
      try {
        if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) throw invalidArgument('entry must be a JSON object');
        return { index, status: { code: 'ok', message: '' }, entry: presentEntryWithTtl(createEntry(req, raw)) };
      } catch (err) {
        if (!(err instanceof SigilError)) throw err;
        return { index, status: { code: err.code, message: err.message } };
      }
    });
    res.status(200).json({ results });
  });

  router.get('/', (req, res) => {
    const q = validate(listQuerySchema, req.query, 'query');
    const page = ctx.store.entries.list(
      { spiffeId: q.spiffe_id, parentId: q.parent_id, selectors: q.selector, selectorMatch: q.match },
      { pageSize: q.page_size, pageToken: q.page_token },
    );
    res.json({ entries: page.items.map(presentEntryWithTtl), next_page_token: page.nextPageToken });
  });

  router.get('/:id', (req, res) => {
    const { id } = validate(idParams, req.params, 'path');
    res.json(presentEntryWithTtl(ctx.store.entries.getOrThrow(id)));
  });

  router.patch('/:id', (req, res) => {
    const { id } = validate(idParams, req.params, 'path');
    const body = validate(updateEntrySchema, req.body, 'body');
    if (Object.keys(body).filter((k) => k !== 'revision').length === 0) throw invalidArgument('invalid body: give at least one field to change');
    if (body.spiffe_id) checkMembership('spiffe_id', body.spiffe_id);
    if (body.parent_id) checkMembership('parent_id', body.parent_id);
    const entry = auditedMutation(ctx, req, 'entry.update', id, (now) => {
      const updated = ctx.store.entries.update(
        id,
        {
          ...(body.spiffe_id !== undefined && { spiffeId: body.spiffe_id }),
          ...(body.parent_id !== undefined && { parentId: body.parent_id }),
          ...(body.selectors !== undefined && { selectors: body.selectors }),
          ...(body.dns_names !== undefined && { dnsNames: body.dns_names }),
          ...(body.x509_svid_ttl !== undefined && { x509SvidTtl: body.x509_svid_ttl }),
          ...(body.jwt_svid_ttl !== undefined && { jwtSvidTtl: body.jwt_svid_ttl }),
          ...(body.hint !== undefined && { hint: body.hint }),
          ...(body.admin !== undefined && { admin: body.admin }),
        },
        now,
        body.revision,
      );
      ctx.store.events.append(now, 'entry.updated', id, { entry: presentEntry(updated) });
      return updated;
    });
    res.json(presentEntryWithTtl(entry));
  });

  router.delete('/:id', (req, res) => {
    const { id } = validate(idParams, req.params, 'path');
    auditedMutation(ctx, req, 'entry.delete', id, (now) => {
      const deleted = ctx.store.entries.delete(id);
      ctx.store.events.append(now, 'entry.deleted', id, { entry: presentEntry(deleted) });
      return deleted;
    });
    res.status(204).end();
  });

  // Sign a workload's CSR for this entry. Only the CSR's public key is used: the SPIFFE ID,
  // DNS names and TTL come from the entry (what agents do for each workload, exposed to operators).
  router.post('/:id/x509-svids', async (req, res) => {
    const { id } = validate(idParams, req.params, 'path');
    const body = validate(signCsrSchema, req.body, 'body');
    const entry = ctx.store.entries.getOrThrow(id);
    try {
      res.status(201).json(await signCsrForRequest(ctx, req, body.csr, { spiffeId: entry.spiffeId, dnsNames: entry.dnsNames, ttlSeconds: entry.x509SvidTtl, kind: 'workload', entryId: entry.id }, 'entry.sign_csr', entry.id));
    } catch (err) {
      recordFailure(ctx, req, 'entry.sign_csr', entry.id, err);
      throw err;
    }
  });

  return router;
}
