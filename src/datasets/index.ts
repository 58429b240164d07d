export { DatasetsRepository, type DatasetWithStats } from './repository';
export { datasetRoutes } from './routes';
export { DEFAULT_LOCATION, DatasetsService, type DatasetChanges } from './service';
export { datasetView, iso } from './view';
export { parseTagFilter, tagLikePattern } from './tag-filter';
