/**
 * One error type for everything a caller can get wrong or ask for that is not there.
 * `code` is the stable machine name put in REST bodies ({"error":{"code","message"}}).
 */
export type SigilErrorCode =
  | 'invalid_argument'
  | 'unauthenticated'
  | 'permission_denied'
  | 'not_found'
  | 'conflict'
  | 'payload_too_large'
  | 'unsupported_media_type'
  | 'unprocessable'
  | 'failed_precondition'
  | 'internal';

/** Every error code the REST API answers with, and its HTTP status (docs/api.md lists the same). */
export const httpStatusOf: Readonly<Record<SigilErrorCode, number>> = {
  invalid_argument: 400,
  unauthenticated: 401,
  permission_denied: 403,
  not_found: 404,
  conflict: 409,
  payload_too_large: 413,
  unsupported_media_type: 415,
  unprocessable: 422,
  failed_precondition: 422,
  internal: 500,
};

export class SigilError extends Error {
  readonly code: SigilErrorCode;

  constructor(code: SigilErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'SigilError';
    this.code = code;
  }

  get httpStatus(): number {
    return httpStatusOf[this.code];
  }
}

export const invalidArgument = (message: string) => new SigilError('invalid_argument', message);
export const notFound = (message: string) => new SigilError('not_found', message);
export const conflict = (message: string) => new SigilError('conflict', message);
export const unprocessable = (message: string) => new SigilError('unprocessable', message);
export const failedPrecondition = (message: string) => new SigilError('failed_precondition', message);

export function errorMessage(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}
