export { AcceleratedClock, ManualClock, systemClock, type Clock } from './clock';
export { chunks, groupBy } from './collections';
export { AppError, ValidationError } from './errors';
export { KeyedLock, Signal, delay, oneAtATime, type Health, type OneAtATime, type Service } from './lifecycle';
export { createLogger, logsAt, type Logger, type LogLevel } from './logger';
export { Registry } from './metrics';
export { requestIdOf, requestIds, requestLogger, routeOf } from './request-context';
export { Fields, Query, parseId } from './validate';
