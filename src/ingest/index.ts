export { DatasetResolver } from './dataset-resolver';
export { eventsHandlers, ingestRoutes } from './routes';
export { IngestService } from './service';
