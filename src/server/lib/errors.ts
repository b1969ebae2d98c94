/** Error codes from the contract (§1). */
export type ErrorCode = 'VAL001' | 'VAL002' | 'VAL003' | 'AUTH001' | 'AUTH002' | 'AUTH003' | 'AUTH004' | 'AUTH005' | 'AUTH006' | 'NOT001' | 'CON001' | 'RATE001' | 'SRV001';

export interface ErrorEntry {
  'error-code': ErrorCode;
  message: string;
}

/**
 * A domain error the handler turns into the contract's envelope. Services throw these;
 * they never build HTTP responses themselves.
 */
export class ApiError extends Error {
  readonly statusCode: number;
  readonly entries: ErrorEntry[];
  readonly headers: Record<string, string>;

  constructor(statusCode: number, code: ErrorCode, message: string, extra: ErrorEntry[] = [], headers: Record<string, string> = {}) {
    super(message);
    this.statusCode = statusCode;
    this.entries = [{ 'error-code': code, message }, ...extra];
    this.headers = headers;
  }

  /** Several validation problems at once (one entry each). */
  static validation(problems: string[]): ApiError {
    const [first, ...rest] = problems;
    return new ApiError(
      400,
      'VAL001',
      first,
      rest.map((message) => ({ 'error-code': 'VAL001' as const, message })),
    );
  }
}

export const notFound = (what: string) => new ApiError(404, 'NOT001', `${what} not found`);
export const conflict = (message: string) => new ApiError(409, 'CON001', message);
export const forbidden = (message = 'Your role may not perform this operation') => new ApiError(403, 'AUTH003', message);
export const invalid = (message: string) => new ApiError(400, 'VAL001', message);
export const badState = (message: string) => new ApiError(422, 'VAL002', message);
export const precondition = (message: string) => new ApiError(422, 'VAL003', message);
