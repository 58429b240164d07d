export { errorHandler, notFound } from './errors';
export { healthRoutes } from './health-routes';
export { createHttpServer } from './http-timeouts';
export { ProductMetrics } from './metrics';
export { PagesRepository, pageRoutes } from './pages';
