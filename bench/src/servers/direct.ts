// Baseline (a), the direct path: a minimal gateway that calls the model server inline and writes each delta to the
// socket. No queue, no log, no second process: the lower bound any queue-based design pays against.
import './collect-on-signal.ts';
import { announceReady, BENCH_MODEL, createBenchProvider } from './provider.ts';
import { startFront } from './ws-front.ts';

const provider = createBenchProvider();

const port = await startFront({
  serverName: 'bench-direct',
  chatSend(frame, send) {
    const id = JSON.stringify(frame.id);
    send(`{"type":"chat.accepted","id":${id}}`);
    void (async () => {
      let seq = 0;
      try {
        for await (const event of provider.stream({
          model: BENCH_MODEL,
          messages: frame.messages.map((message) => ({ role: message.role, content: message.content })),
          signal: new AbortController().signal,
        })) {
          seq++;
          if (event.type === 'delta') {
            send(`{"type":"chat.delta","id":${id},"seq":${seq},"text":${JSON.stringify(event.text ?? '')}}`);
          } else {
            send(
              `{"type":"chat.done","id":${id},"seq":${seq},"finishReason":${JSON.stringify(event.finishReason)},"model":${JSON.stringify(event.model)}}`,
            );
          }
        }
      } catch (error) {
        send(
          JSON.stringify({
            type: 'chat.error',
            id: frame.id,
            seq: seq + 1,
            code: 'provider_error',
            message: String(error),
            retryable: true,
          }),
        );
      }
    })();
  },
});
announceReady(port);
