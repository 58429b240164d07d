/**
 * The one error type that crosses capability boundaries. Routes throw it; the HTTP error
 * handler (web/errors.ts) is the only place that turns it into a response.
 */
export class AppError extends Error {
  constructor(
    readonly status: number,
    message: string,
    readonly extra: Readonly<Record<string, unknown>> = {},
    readonly headers: Readonly<Record<string, string>> = {},
  ) {
    super(message);
    this.name = 'AppError';
  }

  static badRequest(message: string, extra?: Record<string, unknown>): AppError {
    return new AppError(400, message, extra);
  }
  static notFound(message: string, extra?: Record<string, unknown>): AppError {
    return new AppError(404, message, extra);
  }
  static conflict(message: string, extra?: Record<string, unknown>): AppError {
    return new AppError(409, message, extra);
  }
  static tooMany(message: string, retryAfterSeconds: number): AppError {
    return new AppError(
      429,
      message,
      { retry_after_seconds: retryAfterSeconds },
      { 'Retry-After': String(retryAfterSeconds) },
    );
  }
  static unavailable(message: string, retryAfterSeconds: number): AppError {
    return new AppError(
      503,
      message,
      { retry_after_seconds: retryAfterSeconds },
      { 'Retry-After': String(retryAfterSeconds) },
    );
  }
}

/** A field-level validation failure: 400 naming the field (and the batch index, where there is one). */
export class ValidationError extends AppError {
  constructor(
    readonly field: string,
    message: string,
    readonly index?: number,
  ) {
    super(
      400,
      index === undefined ? `${field}: ${message}` : `item ${index}: ${field}: ${message}`,
      index === undefined ? { field } : { field, index },
    );
    this.name = 'ValidationError';
  }
}
