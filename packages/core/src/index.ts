export * from './errors';
export * from './policy/limits';
export * from './policy/match';
export * from './policy/normalize';
export * from './policy/read';
export * from './policy/regex';
export * from './policy/types';
export * from './policy/validate';
