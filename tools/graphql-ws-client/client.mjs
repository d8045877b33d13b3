// Drives a GraphQL websocket with the official `graphql-ws` client, as a
// frontend would, and reports what happens as one JSON object per line:
//   {"event":"connected"}
//   {"event":"next","op":NAME,"payload":{data,errors}}
//   {"event":"error","op":NAME,"errors":[...]} or {"event":"error","op":NAME,"code":N,"reason":S}
//   {"event":"complete","op":NAME}
//   {"event":"closed","code":N,"reason":S}
//   {"event":"done"}
//
// Usage: node client.mjs ws://HOST:PORT/graphql '<scenario JSON>'
// The scenario: { "connectionParams": {...}, "operations": [{ "name", "query",
// "variables" }], "keepAlive": ms, "seconds": N, "stayOpen": bool }.
// Every operation starts at once; the client exits when all have ended
// (unless stayOpen), when the socket closes, or after `seconds`.

import { createClient } from 'graphql-ws';
import WebSocket from 'ws';

const [url, scenarioText] = process.argv.slice(2);
const scenario = JSON.parse(scenarioText ?? '{}');
const emit = (event) => process.stdout.write(`${JSON.stringify(event)}\n`);

let finished = false;
const finish = (code) => {
  if (finished) return;
  finished = true;
  emit({ event: 'done' });
  // Let stdout drain before leaving.
  setTimeout(() => process.exit(code), 50);
};

const client = createClient({
  url,
  webSocketImpl: WebSocket,
  connectionParams: scenario.connectionParams ?? {},
  lazy: false,
  retryAttempts: 0,
  keepAlive: scenario.keepAlive ?? 0,
  shouldRetry: () => false,
  onNonLazyError: () => {},
  on: {
    connected: () => emit({ event: 'connected' }),
    closed: (event) => {
      emit({ event: 'closed', code: event?.code ?? null, reason: event?.reason ?? '' });
      finish(0);
    },
    ping: (received) => {
      if (received) emit({ event: 'ping' });
    },
  },
});

const operations = scenario.operations ?? [];
let open = operations.length;
const ended = () => {
  open -= 1;
  if (open === 0 && !scenario.stayOpen) {
    client.dispose();
    finish(0);
  }
};

for (const operation of operations) {
  const op = operation.name;
  client.subscribe(
    { query: operation.query, variables: operation.variables ?? {} },
    {
      next: (payload) => emit({ event: 'next', op, payload }),
      error: (error) => {
        if (Array.isArray(error)) {
          emit({ event: 'error', op, errors: error });
        } else if (error && typeof error.code === 'number') {
          // The socket closed: the `closed` event reports it and ends the run.
          emit({ event: 'error', op, code: error.code, reason: error.reason ?? '' });
          return;
        } else {
          emit({ event: 'error', op, message: String(error?.message ?? error) });
        }
        ended();
      },
      complete: () => {
        emit({ event: 'complete', op });
        ended();
      },
    },
  );
}

setTimeout(() => {
  client.dispose();
  finish(0);
}, (scenario.seconds ?? 10) * 1000);
