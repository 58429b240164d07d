import { prepareRunDir } from './postgres';

/** Names the directory the run's PostgreSQL cluster will live in; the first file that needs it starts it. */
export default function globalSetup(): void {
  prepareRunDir();
}
