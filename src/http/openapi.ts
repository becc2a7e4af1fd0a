/**
 * The OpenAPI 3.1 description of Baton's HTTP API, written by hand next to the routes it
 * describes. A unit test checks that every route the app serves is listed here.
 */
import { listenerId, ref, schemas } from './openapi-schemas.js';
import { DEFAULT_EVENTS_COUNT, MAX_EVENTS_COUNT, MAX_EVENTS_SCAN } from './routes/events.js';
import { DEFAULT_OWNERSHIP_COUNT, MAX_OWNERSHIP_COUNT } from './routes/ownership.js';

const json = (schema: object) => ({ 'application/json': { schema } });
const error = (description: string) => ({ description, content: json(ref('Error')) });

const adminErrors = {
  '401': error('UNAUTHORIZED: missing or wrong bearer token (ADMIN_TOKEN set)'),
  '403': error('ADMIN_LOOPBACK_ONLY: ADMIN_TOKEN unset and the client is not on loopback'),
  '503': error('STORE_UNAVAILABLE: the coordination store could not be reached'),
};

const adminGet = (summary: string, schema: object, extra: object = {}) => ({
  get: {
    summary,
    security: [{ bearer: [] }],
    responses: { '200': { description: 'OK', content: json(schema) }, ...adminErrors, ...extra },
  },
});

/** The 200 answer of the server-sent-events routes. */
const EVENT_STREAM = {
  description: 'Event stream',
  content: { 'text/event-stream': { schema: { type: 'string' } } },
};

const cursor = { type: 'string', pattern: '^(\\$|\\d{1,20}(-\\d{1,20})?)$' };

/** Query parameters of the events routes; only the page takes `count` and `before`. */
function eventParameters(page: boolean) {
  const out: object[] = [
    { name: 'listener_id', in: 'query', schema: listenerId },
    {
      name: 'after',
      in: 'query',
      description:
        'stream id to start after (exclusive); default 0, the start of the stream; $ = from now',
      schema: cursor,
    },
  ];
  if (page) {
    out.push({
      name: 'before',
      in: 'query',
      description:
        'instead of after: the latest `count` entries before this id (exclusive); $ = the newest',
      schema: cursor,
    });
    out.push({
      name: 'count',
      in: 'query',
      schema: {
        type: 'integer',
        minimum: 1,
        maximum: MAX_EVENTS_COUNT,
        default: DEFAULT_EVENTS_COUNT,
      },
    });
  }
  return out;
}

/** Builds the OpenAPI document served at `/openapi.json`. */
export function openApiDocument() {
  return {
    openapi: '3.1.0',
    info: {
      title: 'Baton admin API',
      version: '1',
      description:
        '/admin/* needs `Authorization: Bearer $ADMIN_TOKEN` when ADMIN_TOKEN is set, else answers loopback clients only. Errors are always {"error":{"code","message"}}. Tokens never appear in an answer.',
    },
    components: {
      schemas,
      securitySchemes: { bearer: { type: 'http', scheme: 'bearer' } },
    },
    paths: {
      '/admin/command': {
        post: {
          summary: 'Write desired state for a listener (start/stop/restart), then hint the leader',
          security: [{ bearer: [] }],
          requestBody: { required: true, content: json(ref('Command')) },
          responses: {
            '202': {
              description: 'Accepted: desired state written',
              content: json(ref('CommandAccepted')),
            },
            '400': error(
              'INVALID_JSON, INVALID_BODY, UNKNOWN_COMMAND, INVALID_LISTENER_ID, TOKEN_REQUIRED, INVALID_TOKEN',
            ),
            '409': error(
              'LISTENER_NOT_DESIRED: restart without sxtToken of a listener that is not desired',
            ),
            '413': error('PAYLOAD_TOO_LARGE'),
            '415': error('UNSUPPORTED_MEDIA_TYPE'),
            ...adminErrors,
          },
        },
      },
      '/admin/instances': adminGet('Live instances, lock holder and epoch', ref('Instances')),
      '/admin/owners': adminGet('Owned listeners with owner liveness and fence', ref('Owners')),
      '/admin/ownership': {
        get: {
          summary:
            'The ownership log: the newest `count` ownership changes (claims, handoffs, takeovers, releases), oldest first',
          security: [{ bearer: [] }],
          parameters: [
            { name: 'listener_id', in: 'query', schema: listenerId },
            {
              name: 'count',
              in: 'query',
              schema: {
                type: 'integer',
                minimum: 1,
                maximum: MAX_OWNERSHIP_COUNT,
                default: DEFAULT_OWNERSHIP_COUNT,
              },
            },
          ],
          responses: {
            '200': { description: 'OK', content: json(ref('Ownership')) },
            '400': error('INVALID_PARAMETER, INVALID_LISTENER_ID'),
            ...adminErrors,
          },
        },
      },
      '/admin/listeners': adminGet(
        'Desired and observed state of every known listener',
        ref('Listeners'),
      ),
      '/admin/listeners/{id}': {
        parameters: [{ name: 'id', in: 'path', required: true, schema: listenerId }],
        ...adminGet('One listener', ref('Listener'), {
          '400': error('INVALID_LISTENER_ID'),
          '404': error('LISTENER_NOT_FOUND'),
        }),
      },
      '/admin/machines': adminGet('Machine definitions (machine.toJSON()) by machine id', {
        type: 'object',
      }),
      '/admin/actors': adminGet("Snapshots of this instance's live actors", { type: 'object' }),
      '/admin/inspect': {
        get: {
          summary:
            'Server-sent events: `hello`, then `inspection` records; `dropped` {dropped:n} when the client reads too slowly',
          security: [{ bearer: [] }],
          responses: {
            '200': EVENT_STREAM,
            ...adminErrors,
            '503': error('TOO_MANY_STREAMS: 16 inspection streams are open already (Retry-After)'),
          },
        },
      },
      '/admin/instances/{id}/actors': {
        parameters: [{ name: 'id', in: 'path', required: true, schema: { type: 'string' } }],
        ...adminGet(
          "Another instance's live actors, fetched from the admin address it registered (meta.admin_url)",
          { type: 'object' },
          { '404': error('NOT_FOUND'), '503': error('PEER_UNAVAILABLE') },
        ),
      },
      '/admin/instances/{id}/inspect': {
        parameters: [{ name: 'id', in: 'path', required: true, schema: { type: 'string' } }],
        get: {
          summary:
            "Another instance's inspection stream, passed through (this instance's own: 307 to /admin/inspect)",
          security: [{ bearer: [] }],
          responses: {
            '200': EVENT_STREAM,
            '307': { description: 'To /admin/inspect' },
            '404': error('NOT_FOUND'),
            ...adminErrors,
            '503': error('PEER_UNAVAILABLE or TOO_MANY_STREAMS'),
          },
        },
      },
      '/admin/rates': adminGet(
        'Per-second rates (emitted, duplicate, stale, handoffs) from a ring of samples; sampling runs while read',
        { type: 'object' },
      ),
      '/admin/ui': {
        get: {
          summary: 'Redirects (308) to /admin/ui/',
          responses: { '308': { description: 'To /admin/ui/' } },
        },
      },
      '/admin/ui/': {
        get: {
          summary:
            'The dashboard page (strict CSP; loopback-only without ADMIN_TOKEN; the page asks for the token when set)',
          responses: {
            '200': {
              description: 'HTML',
              content: { 'text/html': { schema: { type: 'string' } } },
            },
            '404': error('NOT_FOUND: the dashboard is not built'),
          },
        },
      },
      '/admin/ui/*': {
        get: {
          summary: 'Dashboard assets (hashed names under assets/ are immutable)',
          responses: { '200': { description: 'Asset' }, '404': error('NOT_FOUND') },
        },
      },
      '/admin/events': {
        get: {
          summary: `A page of the events stream, oldest first; with listener_id, at most ${MAX_EVENTS_SCAN} entries are read per request (follow \`next\`)`,
          security: [{ bearer: [] }],
          parameters: eventParameters(true),
          responses: {
            '200': { description: 'OK', content: json(ref('Events')) },
            '400': error('INVALID_PARAMETER, INVALID_LISTENER_ID'),
            ...adminErrors,
          },
        },
      },
      '/admin/events/stream': {
        get: {
          summary:
            'Server-sent events that follow the stream: `hello`, then `event` (one Event, SSE id = stream id); `unavailable`/`recovered` around a store outage. Resumes after Last-Event-ID.',
          security: [{ bearer: [] }],
          parameters: eventParameters(false),
          responses: {
            '200': EVENT_STREAM,
            '400': error('INVALID_PARAMETER, INVALID_LISTENER_ID'),
            ...adminErrors,
            '503': error('TOO_MANY_STREAMS: 16 event streams are open already (Retry-After)'),
          },
        },
      },
      '/healthz': {
        get: {
          summary: 'Liveness; never touches the store or sockets',
          responses: { '200': { description: 'OK', content: json({ type: 'object' }) } },
        },
      },
      '/readyz': {
        get: {
          summary:
            'Readiness: registered, and the last heartbeat succeeded less than 3/4 of INSTANCE_TTL_MS ago',
          responses: {
            '200': { description: 'Ready', content: json({ type: 'object' }) },
            '503': error('NOT_READY'),
          },
        },
      },
      '/metrics': {
        get: {
          summary: 'Prometheus metrics',
          responses: {
            '200': {
              description: 'Prometheus text',
              content: { 'text/plain': { schema: { type: 'string' } } },
            },
          },
        },
      },
      '/openapi.json': {
        get: {
          summary: 'This document',
          responses: { '200': { description: 'OpenAPI 3.1', content: json({ type: 'object' }) } },
        },
      },
    },
  };
}
