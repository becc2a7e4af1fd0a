/**
 * What one setting is (`Setting`) and the shorthands the table in settings.ts declares its
 * settings with, kept apart so the table file has room to grow under the 400-line limit.
 */
import type { z } from 'zod';
import { ms, noSpace } from './schemas.js';

/** Where the process identity for the default INSTANCE_ID comes from (kept out for determinism). */
export interface ProcessIdentity {
  pid: number;
  /** Start time in ms (from the injected Clock). */
  now: number;
}

/** One setting. `schema` carries the default (`.default(v)`) or says it may be unset. */
export interface Setting<S extends z.ZodType = z.ZodType> {
  /** The environment variable (contract where `contract`: never rename one). */
  readonly env: string;
  /** How the raw string is read before `schema` checks it. */
  readonly kind: 'string' | 'int';
  readonly schema: S;
  /** One line for README's table: what the setting does, and what unset means if it may be. */
  readonly doc: string;
  /** Listed in DESIGN.md's Configuration contract. */
  readonly contract: boolean;
  /** Never quoted back, not even in an error. */
  readonly secret?: boolean;
  /** Quoted back only redacted (it may carry credentials). */
  readonly url?: boolean;
  /** The value when unset, where it depends on the process rather than being a constant. */
  readonly derive?: (identity: ProcessIdentity) => z.input<S>;
  /** How README shows a derived default. */
  readonly shownDefault?: string;
}

/** `instance-{pid}-{timestamp}`, the seed's default instance id. */
export function defaultInstanceId(identity: ProcessIdentity): string {
  return `instance-${identity.pid}-${identity.now}`;
}

/** A duration in ms with its default (contract unless said otherwise). */
export const duration = (env: string, fallback: number, doc: string, contract = true) =>
  ({ env, kind: 'int', schema: ms.default(fallback), doc, contract }) as const;

/** An optional, non-contract string setting without whitespace (names, users, file paths). */
export const optionalText = (env: string, doc: string) =>
  ({
    env,
    kind: 'string',
    schema: noSpace('must not be empty or contain whitespace').optional(),
    doc: `${doc}; unset: none`,
    contract: false,
  }) as const;

/** An optional password: never quoted back, not even when refused. */
export const password = (env: string, doc: string) =>
  ({ ...optionalText(env, doc), secret: true }) as const;
