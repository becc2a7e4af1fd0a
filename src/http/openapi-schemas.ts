/**
 * The named schemas of the OpenAPI description (`openapi.ts`), apart so that each file stays
 * readable: the bodies the admin routes answer with and accept.
 */
import { LISTENER_ID_PATTERN, MAX_TOKEN_LENGTH } from '../admin/validate.js';
import { ERROR_CODES } from '../errors.js';

/** A JSON reference to one of `schemas`. */
export const ref = (name: string) => ({ $ref: `#/components/schemas/${name}` });

/** A listener id as the admin API accepts it. */
export const listenerId = {
  type: 'string',
  pattern: LISTENER_ID_PATTERN.source,
  minLength: 1,
  maxLength: 128,
};

/** The named schemas of the API description (`components.schemas`). */
export const schemas = {
  Error: {
    type: 'object',
    required: ['error'],
    properties: {
      error: {
        type: 'object',
        required: ['code', 'message'],
        properties: { code: { enum: [...ERROR_CODES] }, message: { type: 'string' } },
      },
    },
  },
  Command: {
    type: 'object',
    additionalProperties: false,
    required: ['command', 'listener_id'],
    properties: {
      command: { enum: ['start', 'stop', 'restart'] },
      listener_id: listenerId,
      sxtToken: {
        type: ['string', 'null'],
        maxLength: MAX_TOKEN_LENGTH,
        description:
          'Required for start; optional for restart (kept when absent); ignored by stop.',
      },
    },
  },
  CommandAccepted: {
    type: 'object',
    required: ['accepted', 'command', 'listener_id', 'hinted'],
    properties: {
      accepted: { const: true },
      command: { enum: ['start', 'stop', 'restart'] },
      listener_id: listenerId,
      generation: { type: 'integer', description: 'start/restart: the new desired generation' },
      existed: { type: 'boolean', description: 'stop: whether the listener was desired' },
      hinted: { type: 'boolean', description: 'false: hint not published, leader resyncs' },
    },
  },
  Instances: {
    type: 'object',
    required: ['count', 'instances', 'lock_holder', 'epoch'],
    properties: {
      count: { type: 'integer' },
      instances: {
        type: 'array',
        items: {
          type: 'object',
          required: ['id', 'ttl', 'ttl_ms', 'role'],
          properties: {
            id: { type: 'string' },
            ttl: { type: 'integer', description: 'seconds left, rounded up' },
            ttl_ms: { type: 'integer' },
            role: { enum: ['waiting', 'leader', 'draining', 'released'] },
            epoch: { type: 'integer' },
            meta: { type: 'object' },
            last_seen_ms_ago: { type: 'integer' },
            assigned: { type: 'integer', description: 'sharded: listeners assigned to it' },
            owned: { type: 'integer', description: 'sharded: listeners it owns now' },
          },
        },
      },
      lock_holder: { type: ['string', 'null'] },
      lock_holder_alive: { type: 'boolean' },
      lock_ttl_ms: { type: 'integer' },
      epoch: { type: 'integer' },
    },
  },
  Owners: {
    type: 'object',
    additionalProperties: {
      type: 'object',
      required: ['owner', 'owner_alive', 'fence'],
      properties: {
        owner: { type: 'string' },
        owner_alive: { type: 'boolean' },
        fence: { type: 'integer' },
        assigned_to: { type: ['string', 'null'], description: 'sharded: its assignee' },
      },
    },
  },
  Ownership: {
    type: 'object',
    required: ['count', 'entries'],
    properties: {
      count: { type: 'integer' },
      entries: {
        type: 'array',
        items: {
          type: 'object',
          required: ['id', 'listener_id', 'from', 'to', 'fence', 'epoch', 'reason', 'at'],
          properties: {
            id: { type: 'string', description: 'stream id: the order of the changes' },
            listener_id: { type: 'string' },
            from: { type: ['string', 'null'], description: 'owner before; null = nobody' },
            to: { type: ['string', 'null'], description: 'owner after; null = released' },
            fence: { type: 'integer' },
            epoch: { type: 'integer' },
            reason: { enum: ['claim', 'reclaim', 'handoff', 'takeover', 'release', 'reset'] },
            at: { type: 'integer', description: 'store clock, ms since the epoch' },
            overlap_since: {
              type: 'integer',
              description: 'handoff: both owners were connected from then until `at`',
            },
          },
        },
      },
    },
  },
  Listener: {
    type: 'object',
    required: ['listener_id', 'desired', 'generation', 'owner', 'owner_alive', 'fence', 'status'],
    properties: {
      listener_id: listenerId,
      desired: { type: 'boolean' },
      generation: { type: ['integer', 'null'] },
      owner: { type: ['string', 'null'] },
      owner_alive: { type: 'boolean' },
      fence: { type: 'integer' },
      status: {
        oneOf: [
          { type: 'null' },
          {
            type: 'object',
            properties: {
              state: { type: 'string' },
              owner: { type: ['string', 'null'] },
              fence: { type: 'integer' },
              since: { type: 'integer', description: 'clock time in ms' },
              attempts: { type: 'integer' },
              last_error: { type: ['string', 'null'] },
            },
          },
        ],
      },
    },
  },
  Event: {
    type: 'object',
    required: ['id', 'listener_id', 'msg_id', 'fence', 'owner', 'payload'],
    properties: {
      id: { type: 'string', description: 'stream id (ms-seq)' },
      listener_id: listenerId,
      msg_id: { type: 'string', description: 'empty when the message had no id' },
      fence: { type: 'integer' },
      owner: { type: 'string' },
      payload: { type: 'string', description: 'the upstream message as received' },
      encoding: {
        enum: ['base64'],
        description: 'present on binary frames: `payload` holds their bytes, base64-encoded',
      },
    },
  },
  Events: {
    type: 'object',
    required: ['count', 'events', 'next'],
    properties: {
      count: { type: 'integer' },
      events: { type: 'array', items: ref('Event') },
      next: { type: 'string', description: 'pass as `after` for the next page' },
      prev: {
        type: ['string', 'null'],
        description: 'with `before`: pass as `before` for older entries; null at the start',
      },
    },
  },
  Listeners: {
    type: 'object',
    required: ['count', 'listeners'],
    properties: {
      count: { type: 'integer' },
      listeners: { type: 'array', items: ref('Listener') },
    },
  },
};
