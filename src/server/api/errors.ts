import type { NextFunction, Request, Response } from 'express';
import { httpStatusOf, SigilError, type SigilErrorCode } from '../../common/errors.js';
import type { Logger } from '../../common/logger.js';

export function sendError(res: Response, status: number, code: SigilErrorCode, message: string): void {
  res.status(status).json({ error: { code, message } });
}

/** Every error leaves as {"error":{"code","message"}} with the right status; internals are logged, not leaked. */
export function errorHandler(log: Logger) {
  return (err: unknown, req: Request, res: Response, _next: NextFunction): void => {
    if (err instanceof SigilError) {
      sendError(res, err.httpStatus, err.code, err.message);
      return;
    }
    const bodyError = err as { type?: string; status?: number; message?: string; limit?: number };
    if (bodyError.type === 'entity.too.large') {
      sendError(res, httpStatusOf.payload_too_large, 'payload_too_large', `request body exceeds the limit of ${bodyError.limit ?? 'the configured'} bytes`);
      return;
    }
    if (bodyError.type === 'entity.parse.failed') {
      sendError(res, httpStatusOf.invalid_argument, 'invalid_argument', `request body is not valid JSON: ${bodyError.message ?? ''}`.trim());
      return;
    }
    if (typeof bodyError.status === 'number' && bodyError.status >= 400 && bodyError.status < 500) {
      sendError(res, bodyError.status, bodyError.status === 415 ? 'unsupported_media_type' : 'invalid_argument', bodyError.message ?? 'bad request');
      return;
    }
    log.error({ err, method: req.method, path: req.path }, 'request failed');
    sendError(res, httpStatusOf.internal, 'internal', 'internal error (see the server log)');
  };
}

export function notFoundHandler(req: Request, res: Response): void {
  sendError(res, httpStatusOf.not_found, 'not_found', `no route for ${req.method} ${req.path}`);
}
