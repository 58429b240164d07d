export { type Condition, type ConditionSources } from './conditions';
export { OutboxRepository } from './outbox-repository';
export { AlertRepository } from './repository';
export { alertRoutes } from './routes';
export { AlertService, type AlertView } from './service';
export { WebhookSender } from './webhook';
