export { Client } from './client';
export { parse } from './main';
