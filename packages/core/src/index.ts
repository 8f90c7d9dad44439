export * from './errors';
export * from './policy/types';
