import { pipelineSuite } from './support/pipeline-suite';

pipelineSuite('embedded', () => ({}));
