export { DatasetResolver } from './dataset-resolver';
export { ingestRoutes } from './routes';
export { IngestService } from './service';
