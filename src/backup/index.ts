export { backupRoutes } from './routes';
export { type BackupResult, DatabaseBackups } from './service';
