import { DATABASES } from './support/harness';
import { pipelineSuite } from './support/pipeline-suite';

describe.each(DATABASES)('on %s', (database) => {
  pipelineSuite('embedded', () => ({}), database);
});
